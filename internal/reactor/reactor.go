// Package reactor runs event loops of its own over epoll for the data path. A
// descriptor given to a loop is served by callbacks on the loop's goroutine: no
// goroutine per connection, no read that returns EAGAIN before every wait, and no
// scheduler wake-up per message. Go's net package pays both on every message; a proxy
// turning small messages around pays them twice (DESIGN.md §6).
//
// A loop never blocks its OS thread in epoll_wait: its epoll descriptor is itself
// watched by Go's poller, so the loop's goroutine parks like any other until one of its
// descriptors is ready, and the rest of the program keeps running on a single CPU.
//
// Loops exist on Linux; elsewhere NewGroup returns ErrUnsupported and callers keep
// their goroutines.
package reactor

import (
	"container/heap"
	"errors"
)

// ErrUnsupported is returned by NewGroup where the system has no epoll.
var ErrUnsupported = errors.New("reactor: not supported on this system")

// ErrClosed is returned when a loop no longer takes work.
var ErrClosed = errors.New("reactor: loop closed")

// Handler receives the events of a descriptor registered on a loop, on the loop's
// goroutine. It must not block.
type Handler interface {
	// Event is called with the epoll event bits (EPOLLIN, EPOLLOUT, EPOLLRDHUP…).
	// Registration is edge-triggered: a handler reads until EAGAIN (or a short read,
	// for stream sockets) before it can expect another event.
	Event(events uint32)
	// Abort ends what the handler serves at once: the loop is closing, or the
	// handler panicked.
	Abort()
}

// Token names a registration on its loop.
type Token int32

// Timer calls Fn on its loop's goroutine once the loop's clock passes its time.
// A zero Timer with Fn set is ready to schedule; it belongs to one loop.
type Timer struct {
	Fn   func()
	when int64 // unix nanoseconds
	idx  int   // index in the heap + 1; 0 when not scheduled
}

// Scheduled reports whether t waits to fire.
func (t *Timer) Scheduled() bool { return t.idx > 0 }

// When returns when t fires (unix nanoseconds), if Scheduled.
func (t *Timer) When() int64 { return t.when }

// timers is a min-heap by time.
type timers []*Timer

func (h timers) Len() int           { return len(h) }
func (h timers) Less(i, j int) bool { return h[i].when < h[j].when }
func (h timers) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i+1, j+1
}
func (h *timers) Push(v any) {
	t := v.(*Timer)
	t.idx = len(*h) + 1
	*h = append(*h, t)
}
func (h *timers) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.idx = 0
	*h = old[:len(old)-1]
	return t
}

// schedule sets t to fire at when (unix nanoseconds).
func (h *timers) schedule(t *Timer, when int64) {
	t.when = when
	if t.idx > 0 {
		heap.Fix(h, t.idx-1)
		return
	}
	heap.Push(h, t)
}

// cancel unschedules t.
func (h *timers) cancel(t *Timer) {
	if t.idx > 0 {
		heap.Remove(h, t.idx-1)
	}
}

// due pops the first timer whose time is at or before now, or returns nil.
func (h *timers) due(now int64) *Timer {
	if len(*h) == 0 || (*h)[0].when > now {
		return nil
	}
	return heap.Pop(h).(*Timer)
}

// next returns the time of the first timer, and false when none waits.
func (h timers) next() (int64, bool) {
	if len(h) == 0 {
		return 0, false
	}
	return h[0].when, true
}
