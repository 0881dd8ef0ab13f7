package backend

import "tandem/internal/balance"

// waiter is one request waiting for a slot, in the backend queue or a server's queue.
type waiter struct {
	prev, next *waiter
	seq        uint64 // arrival order: the oldest waiter is served first
	req        balance.Request
	persist    bool    // AcquireServer: only its server will do (drain allowed)
	in         *Server // the server queue it is in; nil: the backend queue
	queued     bool
	ready      chan struct{} // receives once when served or failed
	srv        *Server
	err        error
}

// waitList is an intrusive FIFO of waiters, kept in seq order.
type waitList struct {
	head, tail *waiter
	n          int
}

func (l *waitList) pushBack(w *waiter) {
	w.prev, w.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = w
	} else {
		l.head = w
	}
	l.tail = w
	l.n++
}

// insert puts w at its place by seq (a waiter moved between queues keeps its age).
func (l *waitList) insert(w *waiter) {
	at := l.tail
	for at != nil && at.seq > w.seq {
		at = at.prev
	}
	if at == nil { // oldest of all
		w.prev, w.next = nil, l.head
		if l.head != nil {
			l.head.prev = w
		} else {
			l.tail = w
		}
		l.head = w
		l.n++
		return
	}
	if at == l.tail {
		l.pushBack(w)
		return
	}
	w.prev, w.next = at, at.next
	at.next.prev = w
	at.next = w
	l.n++
}

func (l *waitList) remove(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		l.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		l.tail = w.prev
	}
	w.prev, w.next = nil, nil
	l.n--
}

// enqueue puts w in s's queue (s != nil) or the backend queue. Caller holds p.mu.
func (p *Pool) enqueue(w *waiter, s *Server) {
	w.in, w.queued = s, true
	if s == nil {
		p.q.insert(w)
		n := int64(p.q.n)
		p.qlen.Store(n)
		if n > p.qmax.Load() {
			p.qmax.Store(n)
		}
		return
	}
	s.q.insert(w)
	p.srvQueued++
	n := int64(s.q.n)
	s.qlen.Store(n)
	if n > s.qmax.Load() {
		s.qmax.Store(n)
	}
}

// dequeue takes w out of whichever queue holds it. Caller holds p.mu.
func (p *Pool) dequeue(w *waiter) {
	if s := w.in; s != nil {
		s.q.remove(w)
		p.srvQueued--
		s.qlen.Store(int64(s.q.n))
	} else {
		p.q.remove(w)
		p.qlen.Store(int64(p.q.n))
	}
	w.in, w.queued = nil, false
}

// finish dequeues w and wakes it with a server (whose slot it now holds) or an error
// (with ErrQueueFull, s is the full server, no slot held). Caller holds p.mu.
func (p *Pool) finish(w *waiter, s *Server, err error) {
	p.dequeue(w)
	p.waiting.Add(-1)
	w.srv, w.err = s, err
	if s != nil && err == nil {
		s.Total.Add(1)
		if !w.persist {
			s.LBTotal.Add(1)
		}
	}
	w.ready <- struct{}{}
}
