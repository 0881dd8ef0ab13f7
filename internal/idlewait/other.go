//go:build !linux

package idlewait

import "time"

type sys struct{}

// New returns ErrUnsupported: only Linux has the waiter.
func New(time.Duration) (*Waiter, error) { return nil, ErrUnsupported }

// Park is never reached without New.
func (w *Waiter) Park(int, time.Time, Waker) (*Wait, error) { return nil, ErrUnsupported }

func (sys) add(int) error                 { return ErrUnsupported }
func (sys) remove(int)                    {}
func (sys) setDeadline(time.Time)         {}
func (sys) wait(out []int) ([]int, error) { return out, ErrUnsupported }
func (sys) close()                        {}
