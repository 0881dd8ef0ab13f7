// Package idlewait waits on idle connections without a goroutine each. A goroutine
// blocked in Read keeps its stack (4–8 KiB) for as long as a keep-alive connection
// idles; parked here instead, a connection costs a 48-byte Wait until bytes arrive, its
// deadline passes, or the wait is cancelled, and its owner is called back then.
//
// One epoll instance and one goroutine serve every parked connection (Linux). The epoll
// descriptor itself waits in Go's network poller, with a read deadline at the earliest
// parked deadline: the waiter holds no thread while it waits and wakes only for work.
// Elsewhere New returns ErrUnsupported and callers keep their goroutines.
package idlewait

import (
	"container/heap"
	"errors"
	"os"
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

// Waker is called back when a wait ends (see Park), with the wait (its descriptor and
// deadline are still readable) and why it ended.
type Waker interface {
	Wake(x *Wait, why Reason)
}

// FD returns the descriptor the wait was parked with.
func (x *Wait) FD() int { return x.fd }

// Deadline returns the wait's deadline (zero: none).
func (x *Wait) Deadline() time.Time {
	if x.deadline == 0 {
		return time.Time{}
	}
	return time.Unix(0, x.deadline)
}

// Wait is one parked connection.
type Wait struct {
	w        *Waiter
	fd       int
	deadline int64 // Unix ns (a wall-clock reading); 0: none
	wake     Waker
	idx      int32 // index in the deadline heap, -1 when not in it
	done     bool  // wake has been called (or is about to be)
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
	x.wake.Wake(x, Cancelled)
	return true
}

// Waiter parks connections. Create one with New; it runs until Close.
type Waiter struct {
	p sys

	mu      sync.Mutex
	waits   []*Wait // by descriptor (descriptors are small and dense: cheaper than a map)
	nwaits  int
	byTime  deadlines
	closed  bool
	armed   time.Time // when the loop's wait ends at the latest (zero: no deadline)
	rounds  int       // the loop's wake-ups (tests)
	stopped chan struct{}
	// tick bounds how late a deadline may be noticed: deadlines are rounded up to it, so
	// that the waits expiring within one tick end in one wake-up.
	tick time.Duration
}

// roundUp returns t rounded up to the waiter's tick.
func (w *Waiter) roundUp(t time.Time) time.Time {
	r := t.Truncate(w.tick)
	if r.Before(t) {
		r = r.Add(w.tick)
	}
	return r
}

// removeLocked forgets x: out of the maps and the kernel's set. w.mu is held.
func (w *Waiter) removeLocked(x *Wait) {
	x.done = true
	if w.lookup(x.fd) == x {
		w.waits[x.fd] = nil
		w.nwaits--
		w.p.remove(x.fd)
	}
	if x.idx >= 0 {
		heap.Remove(&w.byTime, int(x.idx))
	}
}

// lookup returns the wait of descriptor fd, nil if none. w.mu is held.
func (w *Waiter) lookup(fd int) *Wait {
	if fd < 0 || fd >= len(w.waits) {
		return nil
	}
	return w.waits[fd]
}

// park registers fd (Park, on systems with a waiter).
func (w *Waiter) park(fd int, deadline time.Time, wake Waker) (*Wait, error) {
	x := &Wait{w: w, fd: fd, wake: wake, idx: -1}
	if !deadline.IsZero() {
		x.deadline = deadline.UnixNano()
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil, ErrClosed
	}
	var stale *Wait
	if old := w.lookup(fd); old != nil {
		// The descriptor was closed while parked (against Park's contract) and its
		// number reused: the old wait can never fire; end it.
		stale = old
		w.removeLocked(old)
	}
	if err := w.p.add(fd); err != nil {
		w.mu.Unlock()
		if stale != nil {
			stale.wake.Wake(stale, Cancelled)
		}
		return nil, err
	}
	if fd >= len(w.waits) {
		w.waits = append(w.waits, make([]*Wait, fd+1-len(w.waits))...)
	}
	w.waits[fd] = x
	w.nwaits++
	if !deadline.IsZero() {
		heap.Push(&w.byTime, x)
		if w.armed.IsZero() || deadline.Before(w.armed) { // the loop must wake earlier
			w.armed = w.roundUp(deadline)
			w.p.setDeadline(w.armed)
		}
	}
	w.mu.Unlock()
	if stale != nil {
		stale.wake.Wake(stale, Cancelled)
	}
	return x, nil
}

// Parked returns how many connections wait.
func (w *Waiter) Parked() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.nwaits
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
		if x != nil {
			all = append(all, x)
		}
	}
	for _, x := range all {
		w.removeLocked(x)
	}
	w.p.setDeadline(aLongTimeAgo) // the loop wakes, sees closed and ends
	w.mu.Unlock()
	<-w.stopped
	w.p.close()
	for _, x := range all {
		x.wake.Wake(x, Cancelled)
	}
}

var aLongTimeAgo = time.Unix(1, 0)

// loop waits for readiness and deadlines until Close.
func (w *Waiter) loop() {
	defer close(w.stopped)
	fds := make([]int, 0, 128)
	var fire []firing
	for {
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			return
		}
		w.armed = time.Time{}
		if len(w.byTime) > 0 {
			w.armed = w.roundUp(time.Unix(0, w.byTime[0].deadline))
		}
		w.p.setDeadline(w.armed) // under the lock: park may only bring it forward
		w.mu.Unlock()
		var err error
		fds, err = w.p.wait(fds[:0])
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			w.mu.Lock()
			closed := w.closed
			w.mu.Unlock()
			if !closed { // cannot happen: the descriptor is ours until Close
				panic("idlewait: " + err.Error())
			}
			return
		}
		now := time.Now().UnixNano()
		fire = fire[:0]
		w.mu.Lock()
		w.rounds++
		for _, fd := range fds {
			if x := w.lookup(fd); x != nil {
				w.removeLocked(x)
				fire = append(fire, firing{x, Ready})
			}
		}
		for len(w.byTime) > 0 && w.byTime[0].deadline <= now {
			x := w.byTime[0]
			w.removeLocked(x)
			fire = append(fire, firing{x, Expired})
		}
		w.mu.Unlock()
		for _, f := range fire {
			f.x.wake.Wake(f.x, f.r)
		}
		clear(fire) // no reference to woken waits stays behind
	}
}

type firing struct {
	x *Wait
	r Reason
}

// deadlines is a min-heap of waits by deadline.
type deadlines []*Wait

func (d deadlines) Len() int           { return len(d) }
func (d deadlines) Less(i, j int) bool { return d[i].deadline < d[j].deadline }
func (d deadlines) Swap(i, j int) {
	d[i], d[j] = d[j], d[i]
	d[i].idx, d[j].idx = int32(i), int32(j)
}
func (d *deadlines) Push(v any) {
	x := v.(*Wait)
	x.idx = int32(len(*d))
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
