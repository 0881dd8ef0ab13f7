package backend

import (
	"context"

	"tandem/internal/balance"
)

// outcome is what a pick came to.
type outcome int

const (
	got          outcome = iota // a slot was taken on the server
	queueServer                 // the request maps to this full server (hashing): wait for it
	queueBackend                // every candidate is full: wait for any
	none                        // no server can take the request
)

// Acquire chooses a server for r and takes a connection slot on it, waiting in the
// backend's queue (bounded by timeout queue) when every candidate is at its maxconn.
// Active servers are balanced; backups are used only when no active server is usable
// (the first usable one, or all of them with SetAllBackups). With a hashing algorithm a
// request whose server is full waits for that server.
//
// It returns ErrNoServer when no server is usable, ErrQueueTimeout after the queue
// timeout, ErrQueueFull when the request would wait for a server whose queue holds its
// maxqueue requests (with that server, holding no slot, for the log), and ctx.Err() when
// ctx ends first. r is not kept after Acquire returns, so the
// caller may reuse it. The caller must Release the server when the session ends.
func (p *Pool) Acquire(ctx context.Context, r *balance.Request) (*Server, error) {
	p.enter()
	if p.waiting.Load() == 0 {
		s, out := p.choose(r)
		switch out {
		case got:
			s.Total.Add(1)
			s.LBTotal.Add(1)
			return s, nil
		case none:
			p.leave()
			return nil, ErrNoServer
		}
	}
	s, err := p.wait(ctx, r, nil)
	if err != nil {
		p.leave()
	}
	return s, err
}

// AcquireServer takes a slot on s itself (cookie persistence), queueing as Acquire does.
// It returns ErrNoServer when s cannot take the session (down or in maintenance) and
// ErrQueueFull when s is full and its queue holds its maxqueue requests; a server in
// drain still accepts persistent sessions. s must belong to p.
func (p *Pool) AcquireServer(ctx context.Context, s *Server) error {
	if !s.persistOK() {
		return ErrNoServer
	}
	p.enter()
	if p.waiting.Load() == 0 && s.take(s.limit()) {
		s.Total.Add(1)
		return nil
	}
	_, err := p.wait(ctx, nil, s)
	if err != nil {
		p.leave()
	}
	return err
}

// Release gives back the slot taken by Acquire or AcquireServer. When requests wait, the
// slot goes to the oldest one that can use it: a single waiter is woken.
func (p *Pool) Release(s *Server) {
	p.leave()
	p.free(s)
}

// free gives back s's slot and hands it to a waiter, without counting a session leaving.
func (p *Pool) free(s *Server) {
	s.cur.Add(-1)
	// Decrement first, check second: a request that queued before this load is served
	// here, one that queues after it sees the free slot when it re-checks under the lock.
	if p.waiting.Load() > 0 {
		p.mu.Lock()
		p.dispatchLocked()
		p.mu.Unlock()
	}
	// After a reload the slot may be awaited in the newer pool over the same state.
	if o := s.owner.Load(); o != nil && o != p {
		o.Dispatch()
	}
}

// Dispatch hands free slots to queued requests. State's setters (SetUp, SetAdmin,
// SetWeight) call it for the newest pool; call it after any other change that adds
// capacity without a Release. It also fails or moves requests queued on a server that
// can no longer take them.
func (p *Pool) Dispatch() {
	if p.waiting.Load() == 0 {
		return
	}
	p.mu.Lock()
	p.dispatchLocked()
	p.mu.Unlock()
}

// choose picks a server for r among actives, else backups, and tries to take its slot.
func (p *Pool) choose(r *balance.Request) (*Server, outcome) {
	s, out := p.chooseIn(&p.actives, p.activeSel, r)
	if out != none || len(p.backups) == 0 {
		return s, out
	}
	if p.allBackups.Load() {
		return p.chooseIn(&p.backups, p.backupSel, r)
	}
	for _, b := range p.backups {
		if b.lbWeight() > 0 {
			if b.take(b.limit()) {
				return b, got
			}
			return nil, queueBackend
		}
	}
	return nil, none
}

func (p *Pool) chooseIn(v *view, sel balance.Selector, r *balance.Request) (*Server, outcome) {
	for try := 0; try < 3; try++ {
		i := sel.Select(v, r)
		if i < 0 {
			break
		}
		s := (*v)[i]
		if s.take(s.limit()) {
			return s, got
		}
		if p.hashed {
			return s, queueServer
		}
		// Another request took the last slot between the pick and the take: pick again.
	}
	for _, s := range *v {
		if s.lbWeight() > 0 {
			return nil, queueBackend
		}
	}
	return nil, none
}

// wait is the slow path: queue the request (for target, or for any server when target is
// nil) and wait to be handed a slot.
func (p *Pool) wait(ctx context.Context, r *balance.Request, target *Server) (*Server, error) {
	p.mu.Lock()
	// Count ourselves before re-checking, so that a Release racing with us either frees
	// a slot our re-check sees or sees us and dispatches under the lock.
	p.waiting.Add(1)
	p.dispatchLocked() // older waiters first
	var s *Server
	out := queueBackend
	switch {
	case target != nil:
		s, out = target, queueServer
		if !target.persistOK() {
			out = none
		} else if target.q.n == 0 && target.take(target.limit()) {
			out = got
		}
	case p.q.n == 0:
		s, out = p.choose(r)
	}
	if out == queueServer && s.queueFull() {
		// HAProxy: a server whose queue holds maxqueue requests takes no more waiters.
		p.waiting.Add(-1)
		p.mu.Unlock()
		if target == nil {
			s.ConnErr.Add(1) // hashed: HAProxy counts a failed connection (econ); AcquireServer's caller decides
		}
		return s, ErrQueueFull
	}
	switch out {
	case got:
		p.waiting.Add(-1)
		p.mu.Unlock()
		s.Total.Add(1)
		if target == nil {
			s.LBTotal.Add(1)
		}
		return s, nil
	case none:
		p.waiting.Add(-1)
		p.mu.Unlock()
		return nil, ErrNoServer
	}
	p.seq++
	w := &waiter{seq: p.seq, persist: target != nil, ready: make(chan struct{}, 1)}
	if r != nil {
		w.req = *r
	}
	if out == queueBackend {
		s = nil
	}
	p.enqueue(w, s)
	p.mu.Unlock()

	tc, stop := p.timer(p.queueTimeout)
	defer stop()
	var err error
	select {
	case <-w.ready:
		return w.srv, w.err
	case <-tc:
		err = ErrQueueTimeout
	case <-ctx.Done():
		err = ctx.Err()
	}
	p.mu.Lock()
	if w.queued {
		p.dequeue(w)
		p.waiting.Add(-1)
		p.mu.Unlock()
		return nil, err
	}
	p.mu.Unlock()
	<-w.ready // served at the same moment
	if w.err != nil {
		return w.srv, w.err
	}
	if ctx.Err() != nil {
		p.free(w.srv) // the caller counts the session out
		return nil, ctx.Err()
	}
	return w.srv, nil
}

// dispatchLocked serves queued requests, oldest first, while slots are free. Caller
// holds p.mu.
func (p *Pool) dispatchLocked() {
	backendBlocked := false
	// Bounded: each round serves, fails or moves a waiter, or blocks the backend queue
	// or a take races with a lock-free Acquire; none of these can repeat without end.
	for round := 0; round < 1<<20; round++ {
		var best *waiter
		if !backendBlocked {
			best = p.q.head
		}
		if p.srvQueued > 0 {
			for _, s := range p.Servers {
				h := s.q.head
				if h == nil || (best != nil && h.seq > best.seq) {
					continue
				}
				if s.hasRoom() || !p.canWaitOn(h, s) {
					best = h
				}
			}
		}
		if best == nil {
			return
		}
		if s := best.in; s != nil {
			switch {
			case !p.canWaitOn(best, s) && best.persist:
				p.finish(best, nil, ErrNoServer)
			case !p.canWaitOn(best, s):
				p.dequeue(best) // a balanced request: back to the backend queue, same age
				p.enqueue(best, nil)
				backendBlocked = false
			case s.take(s.limit()):
				p.finish(best, s, nil)
			}
			continue
		}
		s, out := p.choose(&best.req)
		switch out {
		case got:
			p.finish(best, s, nil)
		case queueServer:
			if s.queueFull() {
				s.ConnErr.Add(1) // as HAProxy: a failed connection (econ)
				p.finish(best, s, ErrQueueFull)
				continue
			}
			p.dequeue(best)
			p.enqueue(best, s)
		case queueBackend:
			backendBlocked = true
		case none:
			p.finish(best, nil, ErrNoServer)
		}
	}
}

// canWaitOn reports whether waiter w may keep waiting for server s.
func (p *Pool) canWaitOn(w *waiter, s *Server) bool {
	if w.persist {
		return s.persistOK()
	}
	return s.lbWeight() > 0
}
