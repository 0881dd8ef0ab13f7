// Package idlewait waits on idle connections without a goroutine each. A goroutine
// blocked in Read keeps its stack (4–8 KiB) for as long as a keep-alive connection
// idles; parked here instead, a connection costs a map entry until bytes arrive, its
// deadline passes, or the wait is cancelled, and its owner is called back then.
//
// One epoll instance and one goroutine serve every parked connection (Linux). Elsewhere
// New returns ErrUnsupported and callers keep their goroutines.
package idlewait

import (
	"container/heap"
	"errors"
	"sync"
	"time"
)

// Reason says why a parked wait ended.
type Reason int

const (
	Ready     Reason = iota + 1 // bytes (or EOF, or an error) are there to read
	Expired                     // the deadline passed first
	Cancelled                   // Cancel or Close
)

func (r Reason) String() string {
	switch r {
	case Ready:
		return "ready"
	case Expired:
		return "expired"
	case Cancelled:
		return "cancelled"
	}
	return "none"
}

// ErrUnsupported is returned by New where the system has no epoll.
var ErrUnsupported = errors.New("idlewait: not supported on this system")

// ErrClosed is returned by Park after Close.
var ErrClosed = errors.New("idlewait: closed")

// Wait is one parked connection.
type Wait struct {
	w        *Waiter
	fd       int
	deadline time.Time // zero: none
	wake     func(Reason)
	idx      int  // index in the deadline heap, -1 when not in it
	done     bool // wake has been called (or is about to be)
}

// Cancel ends the wait early: wake is called with Cancelled, unless the wait already
// ended. It reports whether it ended the wait.
func (x *Wait) Cancel() bool {
	w := x.w
	w.mu.Lock()
	if x.done {
		w.mu.Unlock()
		return false
	}
	w.removeLocked(x)
	w.mu.Unlock()
	x.wake(Cancelled)
	return true
}

// Waiter parks connections. Create one with New; it runs until Close.
type Waiter struct {
	p sys

	mu      sync.Mutex
	waits   map[int]*Wait // by descriptor
	byTime  deadlines
	closed  bool
	kick    chan struct{} // wakes the loop when it sleeps with nothing parked
	stopped chan struct{}
	// tick bounds how late a deadline may be noticed (and how often an idle loop polls).
	tick time.Duration
}

// removeLocked forgets x: out of the maps and the kernel's set. w.mu is held.
func (w *Waiter) removeLocked(x *Wait) {
	x.done = true
	if w.waits[x.fd] == x {
		delete(w.waits, x.fd)
		w.p.remove(x.fd)
	}
	if x.idx >= 0 {
		heap.Remove(&w.byTime, x.idx)
	}
}

// park registers fd. Callers use Park (per system) which finds the descriptor.
func (w *Waiter) park(fd int, deadline time.Time, wake func(Reason)) (*Wait, error) {
	x := &Wait{w: w, fd: fd, deadline: deadline, wake: wake, idx: -1}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil, ErrClosed
	}
	var stale *Wait
	if old := w.waits[fd]; old != nil {
		// The descriptor was closed while parked and its number reused: the old wait
		// can never fire; end it.
		stale = old
		w.removeLocked(old)
	}
	if err := w.p.add(fd); err != nil {
		w.mu.Unlock()
		if stale != nil {
			stale.wake(Cancelled)
		}
		return nil, err
	}
	w.waits[fd] = x
	if !deadline.IsZero() {
		heap.Push(&w.byTime, x)
	}
	if len(w.waits) == 1 { // the loop may be asleep with nothing parked
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	w.mu.Unlock()
	if stale != nil {
		stale.wake(Cancelled)
	}
	return x, nil
}

// Parked returns how many connections wait.
func (w *Waiter) Parked() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.waits)
}

// Close cancels every wait and stops the loop.
func (w *Waiter) Close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	var all []*Wait
	for _, x := range w.waits {
		all = append(all, x)
	}
	for _, x := range all {
		w.removeLocked(x)
	}
	close(w.kick) // under the lock: park sends on it only under the lock, before closed
	w.mu.Unlock()
	<-w.stopped
	w.p.close()
	for _, x := range all {
		x.wake(Cancelled)
	}
}

// loop waits for readiness and deadlines until Close.
func (w *Waiter) loop() {
	defer close(w.stopped)
	fds := make([]int, 0, 128)
	var fire []firing
	for {
		w.mu.Lock()
		closed, n := w.closed, len(w.waits)
		w.mu.Unlock()
		if closed {
			return
		}
		if n == 0 {
			if _, ok := <-w.kick; !ok {
				return
			}
			continue
		}
		fds = w.p.wait(fds[:0], w.tick)
		now := time.Now()
		fire = fire[:0]
		w.mu.Lock()
		for _, fd := range fds {
			if x := w.waits[fd]; x != nil {
				w.removeLocked(x)
				fire = append(fire, firing{x, Ready})
			}
		}
		for len(w.byTime) > 0 && !w.byTime[0].deadline.After(now) {
			x := w.byTime[0]
			w.removeLocked(x)
			fire = append(fire, firing{x, Expired})
		}
		w.mu.Unlock()
		for _, f := range fire {
			f.x.wake(f.r)
		}
	}
}

type firing struct {
	x *Wait
	r Reason
}

// deadlines is a min-heap of waits by deadline.
type deadlines []*Wait

func (d deadlines) Len() int           { return len(d) }
func (d deadlines) Less(i, j int) bool { return d[i].deadline.Before(d[j].deadline) }
func (d deadlines) Swap(i, j int) {
	d[i], d[j] = d[j], d[i]
	d[i].idx, d[j].idx = i, j
}
func (d *deadlines) Push(v any) {
	x := v.(*Wait)
	x.idx = len(*d)
	*d = append(*d, x)
}
func (d *deadlines) Pop() any {
	old := *d
	x := old[len(old)-1]
	old[len(old)-1] = nil
	x.idx = -1
	*d = old[:len(old)-1]
	return x
}
