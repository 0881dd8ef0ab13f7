package backend

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"tandem/internal/balance"
	"tandem/internal/config"
)

// TestMaxQueue: a full server whose own queue holds maxqueue requests takes no more
// waiters (ErrQueueFull at once, as HAProxy's 503 "SQ"); maxqueue 0 is unlimited. A
// persistent request refused so can still be balanced to another server (what option
// redispatch does), and only a hashed refusal counts as a failed connection here.
func TestMaxQueue(t *testing.T) {
	client := &balance.Request{Client: netip.MustParseAddr("192.0.2.9")}
	for _, tc := range []struct {
		name     string
		persist  bool
		maxQueue int
		wantFull bool
	}{
		{"persistent maxqueue 1", true, 1, true},
		{"persistent maxqueue 2", true, 2, false},
		{"persistent unlimited", true, 0, false},
		{"hashed maxqueue 1", false, 1, true},
		{"hashed unlimited", false, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := sv("a", 1, 1), sv("b", 1, 1)
			a.MaxQueue, b.MaxQueue = tc.maxQueue, tc.maxQueue
			algo := config.AlgoSource
			if tc.persist {
				algo = config.AlgoRoundRobin // as with a cookie: the redispatch balances
			}
			p := New(&config.Backend{Name: "be", Balance: config.Balance{Algo: algo},
				Servers: []*config.Server{a, b}}, NewStates())
			target, err := p.Acquire(context.Background(), client) // the hashed client's server
			if err != nil {
				t.Fatal(err)
			}
			try := func(ctx context.Context) (*Server, error) {
				if tc.persist {
					return target, p.AcquireServer(ctx, target)
				}
				return p.Acquire(ctx, client)
			}
			done := make(chan result, 2)
			go func() { s, err := try(context.Background()); done <- result{id: 1, s: s, err: err} }()
			waitFor(t, "the first waiter to queue", func() bool { return target.Queued() == 1 })

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.wantFull {
				if s, err := try(ctx); !errors.Is(err, ErrQueueFull) || s != target {
					t.Fatalf("second waiter: %v %v, want ErrQueueFull naming the full server", s, err)
				}
				if target.Cur() != 1 || target.Total.Load() != 1 {
					t.Fatalf("refusal took a slot or counted a session: cur %d total %d", target.Cur(), target.Total.Load())
				}
				if target.Queued() != 1 || p.waiting.Load() != 1 {
					t.Fatalf("queued %d waiting %d after the refusal, want 1 1", target.Queued(), p.waiting.Load())
				}
				wantErr := uint64(1)
				if tc.persist {
					wantErr = 0 // the caller redispatches or counts it
					other, err := p.Acquire(context.Background(), &balance.Request{Client: netip.MustParseAddr("192.0.2.10")})
					if err != nil || other == target {
						t.Fatalf("redispatch: got %v %v, want the other server", other, err)
					}
					p.Release(other)
				}
				if got := target.ConnErr.Load(); got != wantErr {
					t.Fatalf("econ %d, want %d", got, wantErr)
				}
			} else {
				go func() { s, err := try(ctx); done <- result{id: 2, s: s, err: err} }()
				waitFor(t, "the second waiter to queue", func() bool { return target.Queued() == 2 })
			}
			n := 1
			if !tc.wantFull {
				n = 2
			}
			cur := target
			for i := 0; i < n; i++ {
				p.Release(cur)
				r := <-done
				if r.err != nil || r.s != target || r.id != i+1 {
					t.Fatalf("waiter %d: got %d %v %v, want the target", i+1, r.id, r.s, r.err)
				}
				cur = r.s
			}
			p.Release(cur)
			if target.Cur() != 0 || p.waiting.Load() != 0 {
				t.Fatalf("end: cur %d waiting %d", target.Cur(), p.waiting.Load())
			}
		})
	}
}

// TestMaxQueueFromBackendQueue: a hashed request that waited in the backend queue (it
// arrived behind others) and is then sent to its server's full queue fails with
// ErrQueueFull instead of exceeding maxqueue.
func TestMaxQueueFromBackendQueue(t *testing.T) {
	ac := sv("a", 1, 1)
	ac.MaxQueue = 1
	p := New(&config.Backend{Name: "be", Balance: config.Balance{Algo: config.AlgoSource},
		Servers: []*config.Server{ac}}, NewStates())
	a := p.Servers[0]
	r := &balance.Request{Client: netip.MustParseAddr("192.0.2.9")}
	held, err := p.Acquire(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	// Build the state by hand under the lock: one request in a's queue, one hashed
	// request in the backend queue, then let the dispatcher look at it.
	p.mu.Lock()
	inSrv := &waiter{seq: 1, persist: true, ready: make(chan struct{}, 1)}
	inBe := &waiter{seq: 2, req: *r, ready: make(chan struct{}, 1)}
	p.seq = 2
	p.waiting.Add(2)
	p.enqueue(inSrv, a)
	p.enqueue(inBe, nil)
	p.dispatchLocked()
	p.mu.Unlock()
	select {
	case <-inBe.ready:
	default:
		t.Fatal("the backend-queued request was not answered")
	}
	if !errors.Is(inBe.err, ErrQueueFull) || inBe.srv != a || a.Total.Load() != 1 || a.Queued() != 1 || p.Queued() != 0 || a.ConnErr.Load() != 1 {
		t.Fatalf("err %v srv %v total %d, a queued %d, backend queued %d, econ %d; want ErrQueueFull a 1 1 0 1",
			inBe.err, inBe.srv, a.Total.Load(), a.Queued(), p.Queued(), a.ConnErr.Load())
	}
	p.Release(held)
	<-inSrv.ready
	if inSrv.srv != a {
		t.Fatalf("the server-queued request got %v", inSrv.srv)
	}
	p.Release(a)
	if held != a || a.Cur() != 0 || p.waiting.Load() != 0 {
		t.Fatalf("end: cur %d waiting %d", a.Cur(), p.waiting.Load())
	}
}
