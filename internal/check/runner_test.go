package check

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
)

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logBuf) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// waitFor polls cond (bounded) and fails with msg when it never holds.
func waitFor(t *testing.T, within time.Duration, msg string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("not within %v: %s", within, msg)
	return 0
}

type fixture struct {
	be   *config.Backend
	pool *backend.Pool
	st   *backend.State
	log  *logBuf
	run  *Runner
}

func newFixture(t *testing.T, be *config.Backend, srv string) *fixture {
	t.Helper()
	states := backend.NewStates()
	f := &fixture{be: be, pool: backend.New(be, states), st: states.Get(be.Name, srv), log: &logBuf{}}
	r, err := NewRunner(Options{Backend: be, Server: be.Server(srv), State: f.st,
		Log: slog.New(slog.NewTextHandler(f.log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r.SetPool(f.pool)
	f.run = r
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

func server(name, addr string, c config.ServerCheck) *config.Server {
	return &config.Server{Name: name, Addr: netip.MustParseAddrPort(addr), Weight: 10, Check: c}
}

func TestRunnerHTTPDownAndUp(t *testing.T) {
	var status atomic.Int32
	status.Store(200)
	addr := serve(t, func(string) string {
		if status.Load() == 200 {
			return "HTTP/1.0 200 OK\r\n\r\n"
		}
		return "HTTP/1.0 503 Service Unavailable\r\n\r\n"
	})
	const inter = 40 * time.Millisecond
	be := &config.Backend{Name: "app", Timeouts: config.Timeouts{Check: time.Second},
		Check: config.HealthCheck{HTTP: true, Method: "GET", URI: "/health", Expect: "status 200"},
		Servers: []*config.Server{
			server("s1", addr, config.ServerCheck{Enabled: true, Inter: inter, Rise: 2, Fall: 3, ErrorLimit: 10}),
			server("s2", "127.0.0.1:1", config.ServerCheck{}),
		}}
	f := newFixture(t, be, "s1")
	waitFor(t, time.Second, "fully UP", func() bool { return f.st.CheckInfo().Phase == "UP" })
	status.Store(503)
	took := waitFor(t, 3*inter*4+time.Second, "DOWN after 503s", func() bool { return !f.st.Up() })
	t.Logf("DOWN %v after the first 503 (fall×inter = %v)", took, 3*inter)
	ci := f.st.CheckInfo()
	if ci.Status != "L7STS" || ci.Code != 503 || ci.Downs != 1 || ci.DownSince.IsZero() {
		t.Errorf("check info %+v", ci)
	}
	want := `Server app/s1 is DOWN, reason: Layer7 wrong status, code: 503, info: \"Service Unavailable\", check duration: `
	if !strings.Contains(f.log.String(), want) || !strings.Contains(f.log.String(), "ms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.") {
		t.Errorf("log lacks %q:\n%s", want, f.log.String())
	}
	status.Store(200)
	waitFor(t, 2*inter*4+time.Second, "UP after 200s", func() bool { return f.st.Up() })
	if !strings.Contains(f.log.String(), "Server app/s1 is UP, reason: Layer7 check passed, code: 200") {
		t.Errorf("log lacks the UP line:\n%s", f.log.String())
	}
	if ci := f.st.CheckInfo(); ci.DownTotal <= 0 || !ci.DownSince.IsZero() {
		t.Errorf("downtime not kept: %+v", ci)
	}
}

func TestRunnerConnRefusedFirstCheck(t *testing.T) {
	be := &config.Backend{Name: "app", Servers: []*config.Server{
		server("s1", closedAddr(t), config.ServerCheck{Enabled: true, Inter: 300 * time.Millisecond, Rise: 2, Fall: 3}),
	}}
	f := newFixture(t, be, "s1")
	waitFor(t, time.Second, "DOWN", func() bool { return !f.st.Up() })
	for _, w := range []string{`Server app/s1 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\"`,
		"0 active and 0 backup servers left.", "backend app has no server available!"} {
		if !strings.Contains(f.log.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, f.log.String())
		}
	}
}

func TestRunnerAgent(t *testing.T) {
	var reply atomic.Value
	reply.Store("75%\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(reply.Load().(string)))
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	be := &config.Backend{Name: "app", Timeouts: config.Timeouts{Check: time.Second}, Servers: []*config.Server{
		server("s1", "127.0.0.1:1", config.ServerCheck{Agent: true, AgentPort: port, Inter: 20 * time.Millisecond, Rise: 2, Fall: 3}),
	}}
	f := newFixture(t, be, "s1")
	srv := f.pool.Servers[0]
	waitFor(t, time.Second, "weight 75%", func() bool { return srv.EffectiveWeight() == 7 })
	reply.Store("maxconn:3\n")
	waitFor(t, time.Second, "maxconn:3", func() bool { return f.st.MaxConn() == 3 })
	reply.Store("drain\n")
	waitFor(t, time.Second, "drain", func() bool { return f.st.Admin() == backend.AdminDrain })
	if srv.Usable() {
		t.Error("a draining server must take no new balanced sessions")
	}
	reply.Store("down#maintenance window\n")
	waitFor(t, time.Second, "agent down", func() bool { return !f.st.Up() })
	if !strings.Contains(f.log.String(), `info: \"via agent : down (maintenance window)\"`) {
		t.Errorf("log:\n%s", f.log.String())
	}
	reply.Store("up ready 100%\n")
	waitFor(t, time.Second, "agent up", func() bool { return f.st.Up() && f.st.Admin() == backend.AdminReady && srv.EffectiveWeight() == 10 })
}

func TestRunnerObserveLayer7(t *testing.T) {
	addr := serve(t, func(string) string { return "" })
	be := &config.Backend{Name: "app", Servers: []*config.Server{
		server("s1", addr, config.ServerCheck{Enabled: true, Inter: time.Hour, Rise: 2, Fall: 3,
			Observe: "layer7", ErrorLimit: 3, OnError: "mark-down"}),
	}}
	f := newFixture(t, be, "s1")
	f.st.ObserveStatus(500)
	f.st.ObserveStatus(502)
	f.st.ObserveStatus(200) // a success resets the count
	f.st.ObserveStatus(503)
	f.st.ObserveStatus(501) // 501 is not an error for layer7: it resets too
	f.st.ObserveStatus(503)
	f.st.ObserveStatus(500)
	if !f.st.Up() {
		t.Fatal("marked down before error-limit consecutive errors")
	}
	f.st.ObserveConnError()
	waitFor(t, time.Second, "mark-down after 3 consecutive errors", func() bool { return !f.st.Up() })
	if !strings.Contains(f.log.String(), "Detected 3 consecutive errors") {
		t.Errorf("log:\n%s", f.log.String())
	}
}

// slowstart: a server coming back UP ramps its weight from ~0 to full over slowstart
// (clock injected: no sleeping).
func TestSlowStartRamp(t *testing.T) {
	now := time.Unix(1000, 0)
	be := &config.Backend{Name: "app", Servers: []*config.Server{
		server("s1", "127.0.0.1:1", config.ServerCheck{Enabled: true, Inter: time.Second, Rise: 1, Fall: 1, SlowStart: 10 * time.Second}),
	}}
	states := backend.NewStates()
	p := backend.New(be, states)
	r, err := NewRunner(Options{Backend: be, Server: be.Servers[0], State: states.Get("app", "s1"), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	srv := p.Servers[0]
	r.apply(Result{Status: L4CON})
	if srv.Up() {
		t.Fatal("still up")
	}
	r.apply(Result{Status: L4OK})
	var got []int
	for range 6 {
		got = append(got, srv.EffectiveWeight())
		now = now.Add(2 * time.Second)
		r.updateRamp()
	}
	want := []int{1, 2, 4, 6, 8, 10}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("weights over 10s of slowstart = %v, want %v", got, want)
		}
	}
}
