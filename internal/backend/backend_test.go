package backend

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"tandem/internal/balance"
	"tandem/internal/config"
)

// sv is a server line: name, weight, maxconn; backup when the name starts with "bk".
func sv(name string, weight, maxconn int) *config.Server {
	return &config.Server{
		Name:    name,
		Addr:    netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", 8000+len(name))),
		Weight:  weight,
		MaxConn: maxconn,
		Backup:  len(name) > 2 && name[:2] == "bk",
		Cookie:  name,
	}
}

func pool(algo config.Algo, servers ...*config.Server) *Pool {
	return New(&config.Backend{Name: "be", Balance: config.Balance{Algo: algo}, Servers: servers}, NewStates())
}

// waitFor polls cond (bounded in time) for state another goroutine reaches.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
		time.Sleep(100 * time.Microsecond)
	}
}

func acquire(t *testing.T, p *Pool) *Server {
	t.Helper()
	s, err := p.Acquire(context.Background(), &balance.Request{})
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	return s
}

func TestAcquireBalances(t *testing.T) {
	tests := []struct {
		name    string
		algo    config.Algo
		weights []int
		want    []int
	}{
		{"roundrobin alternates", config.AlgoRoundRobin, []int{1, 1}, []int{200, 200}},
		{"roundrobin 3:1", config.AlgoRoundRobin, []int{3, 1}, []int{300, 100}},
		{"static-rr 3:1", config.AlgoStaticRR, []int{3, 1}, []int{300, 100}},
		{"leastconn idle ties", config.AlgoLeastConn, []int{1, 1}, []int{200, 200}},
		{"first", config.AlgoFirst, []int{1, 1}, []int{400, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var servers []*config.Server
			for i, w := range tt.weights {
				servers = append(servers, sv(fmt.Sprintf("s%d", i), w, 0))
			}
			p := pool(tt.algo, servers...)
			got := make([]int, len(servers))
			for k := 0; k < 400; k++ {
				s := acquire(t, p)
				got[indexOf(p, s)]++
				p.Release(s)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("counts %v, want %v", got, tt.want)
			}
			for i, s := range p.Servers {
				if s.LBTotal.Load() != uint64(tt.want[i]) || s.Total.Load() != uint64(tt.want[i]) || s.Cur() != 0 {
					t.Fatalf("server %d counters: lbtot %d tot %d cur %d", i, s.LBTotal.Load(), s.Total.Load(), s.Cur())
				}
			}
		})
	}
}

func indexOf(p *Pool, s *Server) int {
	for i, x := range p.Servers {
		if x == s {
			return i
		}
	}
	return -1
}

func TestLeastConnPrefersIdleServer(t *testing.T) {
	p := pool(config.AlgoLeastConn, sv("a", 1, 0), sv("b", 1, 0), sv("c", 1, 0))
	held := []*Server{acquire(t, p), acquire(t, p), acquire(t, p), acquire(t, p), acquire(t, p)}
	// 5 sessions over 3 servers: 2, 2, 1. The one with 1 must get the next.
	var idle *Server
	for _, s := range p.Servers {
		if s.Cur() == 1 {
			idle = s
		}
	}
	if s := acquire(t, p); s != idle {
		t.Fatalf("leastconn chose %s (cur %d), want the idle-most %s", s.Cfg.Name, s.Cur()-1, idle.Cfg.Name)
	}
	for _, s := range held {
		p.Release(s)
	}
}

func TestSourceStickyThroughPool(t *testing.T) {
	for _, ht := range []config.HashType{config.HashMapBased, config.HashConsistent} {
		cfg := &config.Backend{Name: "be", Balance: config.Balance{Algo: config.AlgoSource}, HashType: ht,
			Servers: []*config.Server{sv("a", 1, 0), sv("b", 1, 0), sv("c", 1, 0)}}
		p := New(cfg, NewStates())
		restarted := New(cfg, NewStates())
		for k := 0; k < 50; k++ {
			r := &balance.Request{Client: netip.AddrFrom4([4]byte{192, 0, 2, byte(k)})}
			first, _ := p.Acquire(context.Background(), r)
			p.Release(first)
			for j := 0; j < 5; j++ {
				s, _ := p.Acquire(context.Background(), r)
				p.Release(s)
				if s != first {
					t.Fatalf("client %v went to %s then %s", r.Client, first.Cfg.Name, s.Cfg.Name)
				}
			}
			s, _ := restarted.Acquire(context.Background(), r)
			restarted.Release(s)
			if s.Cfg.Name != first.Cfg.Name {
				t.Fatalf("client %v: %s before restart, %s after", r.Client, first.Cfg.Name, s.Cfg.Name)
			}
		}
	}
}

func TestBackups(t *testing.T) {
	type setup func(p *Pool)
	down := func(names ...string) setup {
		return func(p *Pool) {
			for _, n := range names {
				p.ByCookie(n).SetUp(false)
			}
		}
	}
	tests := []struct {
		name       string
		prep       setup
		allBackups bool
		want       map[string]int // over 40 sessions
	}{
		{"actives serve, backups idle", func(*Pool) {}, false, map[string]int{"a": 20, "b": 20}},
		{"one active left", down("a"), false, map[string]int{"b": 40}},
		{"actives down: first backup only", down("a", "b"), false, map[string]int{"bk1": 40}},
		{"actives down, first backup down: second", down("a", "b", "bk1"), false, map[string]int{"bk2": 40}},
		{"allbackups balances backups", down("a", "b"), true, map[string]int{"bk1": 20, "bk2": 20}},
		{"actives in maintenance", func(p *Pool) {
			p.ByCookie("a").SetAdmin(AdminMaint)
			p.ByCookie("b").SetAdmin(AdminMaint)
		}, false, map[string]int{"bk1": 40}},
		{"actives draining", func(p *Pool) {
			p.ByCookie("a").SetAdmin(AdminDrain)
			p.ByCookie("b").SetAdmin(AdminDrain)
		}, false, map[string]int{"bk1": 40}},
		{"actives weight 0", func(p *Pool) {
			p.ByCookie("a").SetWeight(0)
			p.ByCookie("b").SetWeight(0)
		}, false, map[string]int{"bk1": 40}},
		{"actives disabled", func(p *Pool) {
			p.ByCookie("a").Cfg.Disabled = true
			p.ByCookie("b").Cfg.Disabled = true
		}, false, map[string]int{"bk1": 40}},
		{"actives full: queue, not backups", func(p *Pool) {
			p.ByCookie("a").Cfg.MaxConn = 1
			p.ByCookie("b").Cfg.MaxConn = 1
		}, false, map[string]int{"a": 20, "b": 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pool(config.AlgoRoundRobin, sv("a", 1, 0), sv("bk1", 1, 0), sv("b", 1, 0), sv("bk2", 1, 0))
			p.SetAllBackups(tt.allBackups)
			tt.prep(p)
			got := map[string]int{}
			for k := 0; k < 40; k++ {
				s := acquire(t, p)
				got[s.Cfg.Name]++
				p.Release(s)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("served %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("no server at all", func(t *testing.T) {
		p := pool(config.AlgoRoundRobin, sv("a", 1, 0), sv("bk1", 1, 0))
		down("a", "bk1")(p)
		if _, err := p.Acquire(context.Background(), &balance.Request{}); !errors.Is(err, ErrNoServer) {
			t.Fatalf("err = %v, want ErrNoServer", err)
		}
	})
	t.Run("active back: backup stops serving", func(t *testing.T) {
		p := pool(config.AlgoRoundRobin, sv("a", 1, 0), sv("bk1", 1, 0))
		a := p.ByCookie("a")
		a.SetUp(false)
		if s := acquire(t, p); s.Cfg.Name != "bk1" {
			t.Fatalf("with the active down got %s", s.Cfg.Name)
		} else {
			p.Release(s)
		}
		a.SetUp(true)
		for k := 0; k < 10; k++ {
			s := acquire(t, p)
			p.Release(s)
			if s != a {
				t.Fatalf("active back, session went to %s", s.Cfg.Name)
			}
		}
	})
}

func TestDrainAndMaint(t *testing.T) {
	p := pool(config.AlgoRoundRobin, sv("a", 1, 0), sv("b", 1, 0))
	a := p.ByCookie("a")
	a.SetAdmin(AdminDrain)
	for k := 0; k < 10; k++ {
		s := acquire(t, p)
		p.Release(s)
		if s == a {
			t.Fatal("a draining server got a balanced session")
		}
	}
	if err := p.AcquireServer(context.Background(), a); err != nil {
		t.Fatalf("persistent session to a draining server: %v", err)
	}
	p.Release(a)
	if a.Total.Load() != 1 || a.LBTotal.Load() != 0 {
		t.Fatalf("a: total %d lbtot %d, want 1 0", a.Total.Load(), a.LBTotal.Load())
	}
	a.SetAdmin(AdminMaint)
	if err := p.AcquireServer(context.Background(), a); !errors.Is(err, ErrNoServer) {
		t.Fatalf("persistent session to a server in maintenance: %v, want ErrNoServer", err)
	}
	a.SetAdmin(AdminReady)
	a.SetUp(false)
	if err := p.AcquireServer(context.Background(), a); !errors.Is(err, ErrNoServer) {
		t.Fatalf("persistent session to a down server: %v, want ErrNoServer", err)
	}
}

func TestWeight(t *testing.T) {
	p := pool(config.AlgoRoundRobin, sv("a", 3, 0), sv("b", 1, 0))
	a := p.ByCookie("a")
	tests := []struct {
		set, raw, eff int
	}{
		{-1, -1, 3},
		{0, 0, 0},
		{10, 10, 10},
		{999, config.MaxWeight, config.MaxWeight},
		{-5, -1, 3},
	}
	for _, tt := range tests {
		a.SetWeight(tt.set)
		if a.Weight() != tt.raw || a.EffectiveWeight() != tt.eff {
			t.Fatalf("SetWeight(%d): Weight %d Effective %d, want %d %d", tt.set, a.Weight(), a.EffectiveWeight(), tt.raw, tt.eff)
		}
	}
	a.SetWeight(0)
	for k := 0; k < 10; k++ {
		if s := acquire(t, p); s == a {
			t.Fatal("weight 0 server got a balanced session")
		} else {
			p.Release(s)
		}
	}
	a.SetWeight(1)
	got := map[string]int{}
	for k := 0; k < 20; k++ {
		s := acquire(t, p)
		got[s.Cfg.Name]++
		p.Release(s)
	}
	if got["a"] != 10 || got["b"] != 10 {
		t.Fatalf("after weight 1:1 served %v", got)
	}
}

func TestStatesSurviveReload(t *testing.T) {
	states := NewStates()
	cfg := &config.Backend{Name: "be", Servers: []*config.Server{sv("a", 1, 0)}}
	p1 := New(cfg, states)
	s1 := acquire(t, p1)
	s1.SetAdmin(AdminDrain)
	cfg2 := &config.Backend{Name: "be", Servers: []*config.Server{sv("a", 1, 0), sv("b", 1, 0)}}
	p2 := New(cfg2, states)
	a2 := p2.ByCookie("a")
	if a2.State != s1.State || a2.Cur() != 1 || a2.Admin() != AdminDrain || a2.Total.Load() != 1 {
		t.Fatalf("state not carried over: cur %d admin %d total %d", a2.Cur(), a2.Admin(), a2.Total.Load())
	}
	p1.Release(s1)
	if a2.Cur() != 0 {
		t.Fatalf("release in the old pool not seen in the new one: cur %d", a2.Cur())
	}
}

func TestQueueTimeoutFallbacks(t *testing.T) {
	tests := []struct {
		queue, connect, want time.Duration
	}{
		{time.Second, 2 * time.Second, time.Second},
		{0, 2 * time.Second, 2 * time.Second},
		{0, 0, DefaultQueueTimeout},
	}
	for _, tt := range tests {
		p := New(&config.Backend{Name: "be", Timeouts: config.Timeouts{Queue: tt.queue, Connect: tt.connect}}, NewStates())
		if got := p.QueueTimeout(); got != tt.want {
			t.Errorf("queue %v connect %v: QueueTimeout %v, want %v", tt.queue, tt.connect, got, tt.want)
		}
	}
}

func TestCountUsable(t *testing.T) {
	p := pool(config.AlgoRoundRobin, sv("a", 1, 0), sv("b", 1, 0), sv("c", 1, 0), sv("bk1", 1, 0), sv("bk2", 1, 0))
	p.ByCookie("a").SetUp(false)
	p.ByCookie("b").SetAdmin(AdminDrain)
	p.ByCookie("bk2").SetWeight(0)
	if a, b := p.CountUsable(); a != 1 || b != 1 {
		t.Fatalf("CountUsable = %d, %d; want 1, 1", a, b)
	}
}
