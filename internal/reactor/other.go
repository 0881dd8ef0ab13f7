//go:build !linux

package reactor

import "log/slog"

// Group is a set of loops; there are none on this system.
type Group struct{}

// NewGroup returns ErrUnsupported: loops need epoll.
func NewGroup(int, *slog.Logger) (*Group, error) { return nil, ErrUnsupported }

// Close does nothing.
func (*Group) Close() {}
