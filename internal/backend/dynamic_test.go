package backend

import (
	"context"
	"errors"
	"testing"

	"tandem/internal/balance"
	"tandem/internal/config"
)

// dynPool is one server with minconn 2, maxconn 10 in a backend of fullconn 20.
func dynPool(t *testing.T) (*Pool, *Server, *fakeTimers) {
	t.Helper()
	srv := sv("a", 1, 10)
	srv.MinConn = 2
	p := New(&config.Backend{Name: "be", FullConn: 20, Servers: []*config.Server{srv}}, NewStates())
	var ft fakeTimers
	ft.install(p)
	return p, p.Servers[0], &ft
}

// settled reads (sessions, held slots, queued) at a moment when no dispatch is half done.
func settled(p *Pool, s *Server) (sess, cur, queued int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Sessions(), int(s.Cur()), p.Queued() + s.Queued()
}

// TestDynamicLimitFollowsLoad: sessions arrive one by one on a server with minconn 2,
// maxconn 10 and fullconn 20. The server holds max(2, 10*sessions/20) of them, rounded
// down, at most 10, the rest wait; a waiter is handed the slot a higher limit opens as
// soon as the next session arrives, not at the next release. Balanced and persistent
// (cookie) requests alternate: both count in the load and both are dispatched.
func TestDynamicLimitFollowsLoad(t *testing.T) {
	p, s, _ := dynPool(t)
	// held slots once k sessions have arrived (numbers from configuration.txt's ramp).
	want := map[int]int{1: 1, 2: 2, 3: 2, 5: 2, 6: 3, 7: 3, 8: 4, 11: 5, 12: 6, 19: 9, 20: 10, 21: 10, 25: 10}
	const n = 25
	got := make(chan *Server, n)
	errs := make(chan error, n)
	for k := 1; k <= n; k++ {
		go func() {
			if k%2 == 0 {
				if err := p.AcquireServer(context.Background(), s); err != nil {
					errs <- err
					return
				}
				got <- s
				return
			}
			srv, err := p.Acquire(context.Background(), &balance.Request{})
			if err != nil {
				errs <- err
				return
			}
			got <- srv
		}()
		waitFor(t, "the session to be placed or queued", func() bool {
			sess, cur, q := settled(p, s)
			return sess == k && cur+q == k
		})
		if w, ok := want[k]; ok {
			if _, cur, _ := settled(p, s); cur != w {
				t.Fatalf("%d sessions: server holds %d, want %d", k, cur, w)
			}
		}
	}
	// 25 sessions, 10 served, 15 waiting. A release lowers the load to 24: still
	// above fullconn, the limit stays 10 and the freed slot goes to a waiter.
	release := func(wantCur, wantQueued int) {
		t.Helper()
		var held *Server
		select {
		case held = <-got:
		case err := <-errs:
			t.Fatal(err)
		}
		p.Release(held)
		waitFor(t, "the release to settle", func() bool {
			_, cur, q := settled(p, s)
			return cur == wantCur && q == wantQueued
		})
	}
	release(10, 14) // 24 sessions
	for range 4 {   // down to 20 sessions: the limit stays 10
		_, _, q := settled(p, s)
		release(10, q-1)
	}
	// 20 sessions (10 + 10): one more leaves, the limit falls to 9 (19*10/20 = 9.5):
	// nobody is dispatched. Then 18 sessions, limit 9, 8 held: one waiter is served.
	release(9, 10)
	release(9, 9)
	// Drain: every session ends with a slot, none times out or errs.
	for left := 18; left > 0; left-- {
		var held *Server
		select {
		case held = <-got:
		case err := <-errs:
			t.Fatal(err)
		}
		p.Release(held)
	}
	if sess, cur, q := settled(p, s); sess != 0 || cur != 0 || q != 0 {
		t.Fatalf("after all releases: sessions %d, held %d, queued %d", sess, cur, q)
	}
}

// TestDynamicSessionsCountedOut: a request that fails (queue timeout, cancelled, no
// server) no longer counts in the backend's load.
func TestDynamicSessionsCountedOut(t *testing.T) {
	p, s, ft := dynPool(t)
	a, b := acquire(t, p), acquire(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { _, err := p.Acquire(context.Background(), &balance.Request{}); done <- err }()
	waitFor(t, "the first waiter", func() bool { return ft.count() == 1 })
	go func() { done <- p.AcquireServer(ctx, s) }()
	waitFor(t, "the second waiter", func() bool { return ft.count() == 2 })
	if got := p.Sessions(); got != 4 {
		t.Fatalf("sessions = %d, want 4 (2 held, 2 queued)", got)
	}
	ft.fire(0)
	if err := <-done; !errors.Is(err, ErrQueueTimeout) {
		t.Fatalf("first waiter: %v, want ErrQueueTimeout", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("second waiter: %v, want context.Canceled", err)
	}
	if got := p.Sessions(); got != 2 {
		t.Fatalf("sessions = %d after a timeout and a cancel, want 2", got)
	}
	s.SetAdmin(AdminMaint)
	if _, err := p.Acquire(context.Background(), &balance.Request{}); !errors.Is(err, ErrNoServer) {
		t.Fatalf("Acquire with the server in maintenance: %v", err)
	}
	if err := p.AcquireServer(context.Background(), s); !errors.Is(err, ErrNoServer) {
		t.Fatalf("AcquireServer with the server in maintenance: %v", err)
	}
	s.SetAdmin(AdminReady)
	p.Release(a)
	p.Release(b)
	if got := p.Sessions(); got != 0 {
		t.Fatalf("sessions = %d at the end, want 0", got)
	}
}

// TestDynamicRedispatchCounts: a redispatch holds two slots until the failed one is
// released; the session then counts once.
func TestDynamicRedispatchCounts(t *testing.T) {
	a, b := sv("a", 1, 10), sv("b", 1, 10)
	a.MinConn, b.MinConn = 2, 2
	p := New(&config.Backend{Name: "be", FullConn: 20, Servers: []*config.Server{a, b}}, NewStates())
	first := acquire(t, p)
	next, err := p.AcquireOther(context.Background(), &balance.Request{}, first)
	if err != nil || next == first {
		t.Fatalf("AcquireOther = %v, %v", next, err)
	}
	p.Release(first)
	if got := p.Sessions(); got != 1 {
		t.Fatalf("sessions = %d after the redispatch, want 1", got)
	}
	p.Release(next)
	if got := p.Sessions(); got != 0 {
		t.Fatalf("sessions = %d at the end, want 0", got)
	}
}

// TestDynamicLimitAtRunTime: a maxconn set at run time (agent-check "maxconn:N") is the
// top of the ramp, and the limit never goes above it.
func TestDynamicLimitAtRunTime(t *testing.T) {
	p, s, _ := dynPool(t)
	tests := []struct {
		rtMax, sess, want int
	}{
		{0, 1, 2},    // configured: minconn 2
		{0, 12, 6},   // 10*12/20
		{40, 12, 24}, // 40*12/20
		{40, 25, 40},
		{1, 12, 1}, // below minconn: never above maxconn
	}
	for _, tt := range tests {
		s.SetMaxConn(tt.rtMax)
		p.dyn.sess.Store(int64(tt.sess))
		if got := int(s.limit()); got != tt.want {
			t.Errorf("run-time maxconn %d, %d sessions: limit %d, want %d", tt.rtMax, tt.sess, got, tt.want)
		}
	}
}

// TestStaticPoolCountsNoSessions: without minconn the pool keeps no load count and a
// server's limit is its maxconn.
func TestStaticPoolCountsNoSessions(t *testing.T) {
	p := pool(config.AlgoRoundRobin, sv("a", 1, 10))
	s := acquire(t, p)
	if p.Sessions() != 0 || int(s.limit()) != 10 {
		t.Fatalf("static pool: sessions %d, limit %d", p.Sessions(), int(s.limit()))
	}
	p.Release(s)
}

// TestSlowstartRampsTheLimit: while a server ramps up after coming back (slowstart), its
// connection limit grows from 1 to the whole limit, dynamic or not (configuration.txt,
// server "slowstart": "from 1 to 100% of the usual dynamic limit"), and requests queued
// for it are dispatched as the ramp rises.
func TestSlowstartRampsTheLimit(t *testing.T) {
	p, s, _ := dynPool(t)
	static := pool(config.AlgoRoundRobin, sv("b", 1, 10)).Servers[0]
	tests := []struct {
		ramp, sess, wantDyn, wantStatic int
	}{
		{0, 12, 6, 10},  // no ramp: 10*12/20; maxconn
		{1, 12, 1, 1},   // at the start: 1
		{100, 12, 1, 1}, // 10%: 0.6 and 1.0 round up to 1
		{500, 12, 3, 5},
		{999, 25, 10, 10},
		{1000, 25, 10, 10}, // the ramp is over
	}
	for _, tt := range tests {
		s.SetRamp(tt.ramp)
		static.SetRamp(tt.ramp)
		p.dyn.sess.Store(int64(tt.sess))
		if got := int(s.limit()); got != tt.wantDyn {
			t.Errorf("ramp %d‰, %d sessions: dynamic limit %d, want %d", tt.ramp, tt.sess, got, tt.wantDyn)
		}
		if got := int(static.limit()); got != tt.wantStatic {
			t.Errorf("ramp %d‰: maxconn 10 limit %d, want %d", tt.ramp, got, tt.wantStatic)
		}
	}

	// A request queued behind a ramping server gets its slot when the ramp rises.
	p.dyn.sess.Store(0)
	static.SetRamp(0)
	q := pool(config.AlgoRoundRobin, sv("c", 1, 4))
	c := q.Servers[0]
	c.SetRamp(250) // limit 1
	held := acquire(t, q)
	done := make(chan error, 1)
	go func() {
		_, err := q.Acquire(context.Background(), &balance.Request{})
		done <- err
	}()
	waitFor(t, "the request to queue", func() bool { return q.Queued() == 1 })
	c.SetRamp(500) // limit 2
	if err := <-done; err != nil {
		t.Fatalf("queued request after the ramp rose: %v", err)
	}
	if c.Cur() != 2 {
		t.Fatalf("server holds %d, want 2", c.Cur())
	}
	q.Release(held)
	q.Release(held)
}
