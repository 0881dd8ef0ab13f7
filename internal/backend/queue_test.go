package backend

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tandem/internal/balance"
	"tandem/internal/config"
)

// fakeTimers replaces the pool's queue timer: the test fires each timer by hand.
type fakeTimers struct {
	mu  sync.Mutex
	chs []chan time.Time
	d   []time.Duration
}

func (f *fakeTimers) install(p *Pool) {
	p.timer = func(d time.Duration) (<-chan time.Time, func() bool) {
		ch := make(chan time.Time, 1)
		f.mu.Lock()
		f.chs = append(f.chs, ch)
		f.d = append(f.d, d)
		f.mu.Unlock()
		return ch, func() bool { return true }
	}
}

func (f *fakeTimers) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.chs)
}

func (f *fakeTimers) fire(i int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chs[i] <- time.Time{}
}

type result struct {
	id  int
	s   *Server
	err error
}

func TestQueueTimeout(t *testing.T) {
	p := New(&config.Backend{Name: "be", Timeouts: config.Timeouts{Queue: 7 * time.Second},
		Servers: []*config.Server{sv("a", 1, 1)}}, NewStates())
	var ft fakeTimers
	ft.install(p)
	held := acquire(t, p)
	done := make(chan result, 1)
	go func() {
		s, err := p.Acquire(context.Background(), &balance.Request{})
		done <- result{s: s, err: err}
	}()
	waitFor(t, "the request to queue", func() bool { return p.Queued() == 1 && ft.count() == 1 })
	if ft.d[0] != 7*time.Second {
		t.Fatalf("queue timer armed for %v, want timeout queue 7s", ft.d[0])
	}
	ft.fire(0)
	r := <-done
	if !errors.Is(r.err, ErrQueueTimeout) || r.s != nil {
		t.Fatalf("got %v, %v; want ErrQueueTimeout", r.s, r.err)
	}
	if p.Queued() != 0 || p.waiting.Load() != 0 {
		t.Fatalf("after timeout: queued %d waiting %d", p.Queued(), p.waiting.Load())
	}
	p.Release(held)
	if held.Cur() != 0 {
		t.Fatalf("cur = %d after release", held.Cur())
	}
	// The slot is free again for a new request, with no one left in the queue.
	p.Release(acquire(t, p))
}

func TestQueueTimeoutRealClock(t *testing.T) {
	p := New(&config.Backend{Name: "be", Timeouts: config.Timeouts{Queue: 60 * time.Millisecond},
		Servers: []*config.Server{sv("a", 1, 1)}}, NewStates())
	held := acquire(t, p)
	defer p.Release(held)
	start := time.Now()
	_, err := p.Acquire(context.Background(), &balance.Request{})
	el := time.Since(start)
	if !errors.Is(err, ErrQueueTimeout) {
		t.Fatalf("err = %v, want ErrQueueTimeout", err)
	}
	if el < 60*time.Millisecond || el > 2*time.Second {
		t.Fatalf("waited %v, want about 60ms", el)
	}
	if err := p.AcquireServer(context.Background(), held); !errors.Is(err, ErrQueueTimeout) {
		t.Fatalf("AcquireServer on a full server: %v, want ErrQueueTimeout", err)
	}
}

func TestQueueContextCancel(t *testing.T) {
	p := pool(config.AlgoRoundRobin, sv("a", 1, 1))
	var ft fakeTimers
	ft.install(p)
	held := acquire(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 2)
	go func() {
		s, err := p.Acquire(ctx, &balance.Request{})
		done <- result{s: s, err: err}
	}()
	go func() {
		done <- result{err: p.AcquireServer(ctx, held)}
	}()
	waitFor(t, "two queued requests", func() bool { return p.Queued()+held.Queued() == 2 })
	cancel()
	for k := 0; k < 2; k++ {
		if r := <-done; !errors.Is(r.err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", r.err)
		}
	}
	if p.Queued() != 0 || held.Queued() != 0 || p.waiting.Load() != 0 {
		t.Fatalf("queues not empty after cancel")
	}
	p.Release(held)
}

// TestQueueFIFO: with one slot, queued requests are served strictly in arrival order,
// one per Release (no thundering herd), whether they wait for any server or for one.
func TestQueueFIFO(t *testing.T) {
	p := pool(config.AlgoRoundRobin, sv("a", 1, 1))
	a := p.Servers[0]
	held := acquire(t, p)
	const n = 6
	done := make(chan result, n)
	for id := 0; id < n; id++ {
		go func() {
			if id%3 == 2 { // some persistent requests wait for a itself
				err := p.AcquireServer(context.Background(), a)
				done <- result{id: id, s: a, err: err}
				return
			}
			s, err := p.Acquire(context.Background(), &balance.Request{})
			done <- result{id: id, s: s, err: err}
		}()
		waitFor(t, fmt.Sprintf("request %d to queue", id), func() bool { return p.Queued()+a.Queued() == id+1 })
	}
	cur := held
	for want := 0; want < n; want++ {
		p.Release(cur)
		r := <-done
		if r.err != nil || r.id != want {
			t.Fatalf("release %d woke request %d (err %v), want %d", want, r.id, r.err, want)
		}
		select {
		case extra := <-done:
			t.Fatalf("one release woke a second request %d", extra.id)
		default:
		}
		if a.Cur() != 1 {
			t.Fatalf("cur = %d, want 1", a.Cur())
		}
		cur = r.s
	}
	p.Release(cur)
	if a.Cur() != 0 || p.waiting.Load() != 0 || a.Max() != 1 {
		t.Fatalf("end: cur %d waiting %d max %d", a.Cur(), p.waiting.Load(), a.Max())
	}
	if a.Total.Load() != n+1 || a.LBTotal.Load() != n+1-2 {
		t.Fatalf("total %d lbtot %d, want %d %d", a.Total.Load(), a.LBTotal.Load(), n+1, n-1)
	}
}

func TestHashQueuesOnItsServer(t *testing.T) {
	p := New(&config.Backend{Name: "be", Balance: config.Balance{Algo: config.AlgoSource},
		Servers: []*config.Server{sv("a", 1, 1), sv("b", 1, 1)}}, NewStates())
	r := &balance.Request{Client: netip.MustParseAddr("192.0.2.9")}
	mine, err := p.Acquire(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan result, 1)
	go func() {
		s, err := p.Acquire(context.Background(), r)
		done <- result{s: s, err: err}
	}()
	waitFor(t, "the request to queue on its server", func() bool { return mine.Queued() == 1 })
	if p.Queued() != 0 {
		t.Fatal("hashed request queued in the backend queue while its server is known")
	}
	p.Release(mine)
	if res := <-done; res.err != nil || res.s != mine {
		t.Fatalf("got %v %v, want the same server", res.s, res.err)
	}
	p.Release(mine)
}

func TestDispatchAfterServerUp(t *testing.T) {
	p := pool(config.AlgoRoundRobin, sv("a", 1, 1), sv("b", 1, 1))
	b := p.ByCookie("b")
	b.SetUp(false)
	held := acquire(t, p)
	done := make(chan result, 1)
	go func() {
		s, err := p.Acquire(context.Background(), &balance.Request{})
		done <- result{s: s, err: err}
	}()
	waitFor(t, "the request to queue", func() bool { return p.Queued() == 1 })
	b.SetUp(true)
	if r := <-done; r.err != nil || r.s != b {
		t.Fatalf("got %v %v, want b", r.s, r.err)
	}
	p.Release(b)
	p.Release(held)
}

func TestDispatchWhenServerGoesDown(t *testing.T) {
	p := New(&config.Backend{Name: "be", Balance: config.Balance{Algo: config.AlgoSource},
		Servers: []*config.Server{sv("a", 1, 1), sv("b", 1, 1)}}, NewStates())
	r := &balance.Request{Client: netip.MustParseAddr("192.0.2.9")}
	mine, _ := p.Acquire(context.Background(), r)
	done := make(chan result, 2)
	go func() {
		s, err := p.Acquire(context.Background(), r)
		done <- result{id: 1, s: s, err: err}
	}()
	waitFor(t, "first to queue", func() bool { return mine.Queued() == 1 })
	go func() {
		done <- result{id: 2, err: p.AcquireServer(context.Background(), mine)}
	}()
	waitFor(t, "second to queue", func() bool { return mine.Queued() == 2 })
	mine.SetUp(false)
	got := map[int]result{}
	for k := 0; k < 2; k++ {
		res := <-done
		got[res.id] = res
	}
	other := p.Servers[1-indexOf(p, mine)]
	if got[1].err != nil || got[1].s != other {
		t.Fatalf("balanced request: %v %v, want moved to the other server", got[1].s, got[1].err)
	}
	if !errors.Is(got[2].err, ErrNoServer) {
		t.Fatalf("persistent request: %v, want ErrNoServer", got[2].err)
	}
	p.Release(other)
	p.Release(mine)
}

// TestMaxConnNeverExceeded runs 50 goroutines against small maxconns and checks, with
// counters of its own, that no server ever holds more than its maxconn.
func TestMaxConnNeverExceeded(t *testing.T) {
	algos := []config.Balance{
		{Algo: config.AlgoRoundRobin}, {Algo: config.AlgoLeastConn}, {Algo: config.AlgoFirst},
		{Algo: config.AlgoRandom}, {Algo: config.AlgoStaticRR}, {Algo: config.AlgoSource},
	}
	for _, b := range algos {
		t.Run(b.Algo.String(), func(t *testing.T) {
			cfg := &config.Backend{Name: "be", Balance: b, Timeouts: config.Timeouts{Queue: 20 * time.Second},
				Servers: []*config.Server{sv("a", 1, 2), sv("b", 2, 3), sv("c", 1, 1)}}
			p := New(cfg, NewStates())
			held := make([]atomic.Int64, len(p.Servers))
			peak := make([]atomic.Int64, len(p.Servers))
			var wg sync.WaitGroup
			var failures atomic.Int64
			const workers, iters = 50, 40
			for g := 0; g < workers; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := &balance.Request{Client: netip.AddrFrom4([4]byte{10, 0, 0, byte(g)})}
					for k := 0; k < iters; k++ {
						var s *Server
						var err error
						if k%5 == 4 {
							s = p.Servers[(g+k)%len(p.Servers)]
							err = p.AcquireServer(context.Background(), s)
						} else {
							s, err = p.Acquire(context.Background(), r)
						}
						if err != nil {
							failures.Add(1)
							continue
						}
						i := indexOf(p, s)
						h := held[i].Add(1)
						for {
							m := peak[i].Load()
							if h <= m || peak[i].CompareAndSwap(m, h) {
								break
							}
						}
						runtime.Gosched()
						held[i].Add(-1)
						p.Release(s)
					}
				}()
			}
			wg.Wait()
			if failures.Load() != 0 {
				t.Fatalf("%d acquisitions failed", failures.Load())
			}
			var total uint64
			for i, s := range p.Servers {
				if pk := peak[i].Load(); pk > int64(s.Cfg.MaxConn) || s.Max() > int64(s.Cfg.MaxConn) {
					t.Fatalf("server %s: peak %d (state max %d), maxconn %d", s.Cfg.Name, pk, s.Max(), s.Cfg.MaxConn)
				}
				if s.Cur() != 0 || s.Queued() != 0 {
					t.Fatalf("server %s: cur %d queued %d at the end", s.Cfg.Name, s.Cur(), s.Queued())
				}
				total += s.Total.Load()
			}
			if total != workers*iters || p.Queued() != 0 || p.waiting.Load() != 0 {
				t.Fatalf("total %d (want %d), queued %d, waiting %d", total, workers*iters, p.Queued(), p.waiting.Load())
			}
		})
	}
}

func TestAcquireReleaseAllocFree(t *testing.T) {
	pools := map[string]func(t *testing.T) *Pool{
		"dynamic maxconn": func(t *testing.T) *Pool { p, _, _ := dynPool(t); return p },
	}
	for _, algo := range []config.Algo{config.AlgoRoundRobin, config.AlgoLeastConn, config.AlgoStaticRR, config.AlgoFirst} {
		pools[algo.String()] = func(*testing.T) *Pool { return pool(algo, sv("a", 1, 10), sv("b", 3, 0), sv("c", 2, 10)) }
	}
	for name, mk := range pools {
		t.Run(name, func(t *testing.T) {
			p := mk(t)
			r := &balance.Request{}
			ctx := context.Background()
			allocs := testing.AllocsPerRun(1000, func() {
				s, err := p.Acquire(ctx, r)
				if err != nil {
					t.Fatal(err)
				}
				p.Release(s)
			})
			if allocs != 0 {
				t.Fatalf("%v allocations per Acquire+Release, want 0", allocs)
			}
		})
	}
}

func BenchmarkAcquireRelease(b *testing.B) {
	for _, algo := range []config.Algo{config.AlgoRoundRobin, config.AlgoLeastConn, config.AlgoSource} {
		b.Run(algo.String(), func(b *testing.B) {
			p := pool(algo, sv("a", 1, 0), sv("b", 1, 0), sv("c", 2, 100), sv("d", 1, 0))
			r := &balance.Request{Client: netip.MustParseAddr("192.0.2.1")}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				s, _ := p.Acquire(ctx, r)
				p.Release(s)
			}
		})
		b.Run(algo.String()+"/parallel", func(b *testing.B) {
			p := pool(algo, sv("a", 1, 0), sv("b", 1, 0), sv("c", 2, 100), sv("d", 1, 0))
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := &balance.Request{Client: netip.MustParseAddr("192.0.2.1")}
				for pb.Next() {
					s, _ := p.Acquire(ctx, r)
					p.Release(s)
				}
			})
		})
	}
}

// TestReleaseInOldPoolWakesNewPool: after a reload, a slot freed by a session of the old
// pool goes to a request queued in the new one (they share the server's state).
func TestReleaseInOldPoolWakesNewPool(t *testing.T) {
	states := NewStates()
	cfg := &config.Backend{Name: "be", Servers: []*config.Server{sv("a", 1, 1)}}
	old := New(cfg, states)
	held := acquire(t, old)
	cur := New(cfg, states)
	done := make(chan result, 1)
	go func() {
		s, err := cur.Acquire(context.Background(), &balance.Request{})
		done <- result{s: s, err: err}
	}()
	waitFor(t, "the request to queue in the new pool", func() bool { return cur.Queued() == 1 })
	old.Release(held)
	r := <-done
	if r.err != nil || r.s != cur.Servers[0] {
		t.Fatalf("got %v %v, want the new pool's server", r.s, r.err)
	}
	cur.Release(r.s)
	if cur.Servers[0].Cur() != 0 {
		t.Fatalf("cur = %d", cur.Servers[0].Cur())
	}
}

// TestCancelRacingHandoffLeaksNoSlot: requests whose context ends while slots are being
// handed out either get a slot (and release it) or give up without holding one; at the
// end nothing is held or queued.
func TestCancelRacingHandoffLeaksNoSlot(t *testing.T) {
	p := pool(config.AlgoRoundRobin, sv("a", 1, 1), sv("b", 1, 1))
	var wg sync.WaitGroup
	var served, gaveUp atomic.Int64
	for g := 0; g < 20; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 30; k++ {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration((g+k)%4)*200*time.Microsecond)
				var err error
				var s *Server
				if k%3 == 0 {
					s = p.Servers[g%2]
					err = p.AcquireServer(ctx, s)
				} else {
					s, err = p.Acquire(ctx, &balance.Request{})
				}
				cancel()
				if err != nil {
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("err = %v", err)
					}
					gaveUp.Add(1)
					continue
				}
				served.Add(1)
				runtime.Gosched()
				p.Release(s)
			}
		}()
	}
	wg.Wait()
	for _, s := range p.Servers {
		if s.Cur() != 0 || s.Queued() != 0 || s.Max() > 1 {
			t.Fatalf("server %s: cur %d queued %d max %d", s.Cfg.Name, s.Cur(), s.Queued(), s.Max())
		}
	}
	if p.Queued() != 0 || p.waiting.Load() != 0 {
		t.Fatalf("queued %d waiting %d", p.Queued(), p.waiting.Load())
	}
	if served.Load() == 0 {
		t.Fatal("nothing was served")
	}
	t.Logf("served %d, gave up %d", served.Load(), gaveUp.Load())
}
