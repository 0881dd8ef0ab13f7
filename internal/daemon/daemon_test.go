package daemon

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"tandem/internal/config"
)

// banner serves connections that get `name` and are closed.
func banner(t *testing.T, name string) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(name))
			c.Close()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

func freePort(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// tcpConfig is one TCP frontend on bind forwarding to one server.
func tcpConfig(bind, server netip.AddrPort) *config.Config {
	tm := config.Timeouts{Connect: time.Second, Client: 5 * time.Second, Server: 5 * time.Second}
	be := &config.Backend{Name: "be", Retries: 1, Timeouts: tm,
		Servers: []*config.Server{{Name: "s1", Addr: server, Weight: 1}}}
	fe := &config.Frontend{Name: "fe", Timeouts: tm, DefaultBackend: be, MaxConn: 100,
		Binds: []config.Bind{{Addr: bind, Text: bind.String()}}}
	return &config.Config{Global: config.Global{MaxConn: 200}, Frontends: []*config.Frontend{fe}, Backends: []*config.Backend{be}}
}

// loader hands out whatever config (or error) the test sets.
type loader struct {
	mu  sync.Mutex
	cfg *config.Config
	err error
}

func (l *loader) set(c *config.Config, err error) { l.mu.Lock(); l.cfg, l.err = c, err; l.mu.Unlock() }
func (l *loader) load() (*config.Config, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg, l.err
}

func get(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestReloadKeepsListeningSocket: while clients connect in a loop, a reload that changes
// the server must refuse no connection, and new connections must reach the new server.
func TestReloadKeepsListeningSocket(t *testing.T) {
	bind := freePort(t)
	a, b := banner(t, "A"), banner(t, "B")
	l := &loader{}
	l.set(tcpConfig(bind, a), nil)
	d := New(Options{Log: quietLog(), Load: l.load})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop(time.Second)

	var failures atomic.Int64
	var sawB atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ { // bounded; stops early when told
				select {
				case <-stop:
					return
				default:
				}
				got, err := get(bind.String())
				if err != nil || (got != "A" && got != "B") {
					failures.Add(1)
					t.Logf("request failed: %q %v", got, err)
				}
				if got == "B" {
					sawB.Store(true)
				}
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	l.set(tcpConfig(bind, b), nil)
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200 && !sawB.Load(); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d requests failed across the reload", n)
	}
	if !sawB.Load() {
		t.Fatal("no connection reached the new server after the reload")
	}
}

// TestReloadRefusesBrokenConfig: a load error leaves the running configuration serving.
func TestReloadRefusesBrokenConfig(t *testing.T) {
	bind := freePort(t)
	a := banner(t, "A")
	l := &loader{}
	l.set(tcpConfig(bind, a), nil)
	d := New(Options{Log: quietLog(), Load: l.load})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop(time.Second)
	bad := config.ErrorList{config.Errorf(config.Pos{File: "haproxy.cfg", Line: 7}, `unknown keyword "srever"`)}
	l.set(nil, bad)
	err := d.Reload()
	if err == nil {
		t.Fatal("reload of a broken configuration succeeded")
	}
	var list config.ErrorList
	if !errors.As(err, &list) || !strings.Contains(err.Error(), "haproxy.cfg:7:") {
		t.Fatalf("reload error %q does not carry the file:line list", err)
	}
	if got, err := get(bind.String()); err != nil || got != "A" {
		t.Fatalf("after refused reload: %q %v, want A", got, err)
	}
}

// TestReloadBindFailureChangesNothing: a new address that cannot be bound refuses the
// reload and keeps the old frontend listening.
func TestReloadBindFailureChangesNothing(t *testing.T) {
	bind := freePort(t)
	a := banner(t, "A")
	l := &loader{}
	l.set(tcpConfig(bind, a), nil)
	d := New(Options{Log: quietLog(), Load: l.load})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop(time.Second)
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := tcpConfig(bind, a)
	taken := netip.MustParseAddrPort(busy.Addr().String())
	cfg.Frontends[0].Binds = append(cfg.Frontends[0].Binds, config.Bind{Addr: taken, Text: taken.String(), Pos: config.Pos{File: "x.cfg", Line: 3}})
	l.set(cfg, nil)
	if err := d.Reload(); err == nil || !strings.Contains(err.Error(), "x.cfg:3:") {
		t.Fatalf("reload with a busy address: %v, want an error at x.cfg:3", err)
	}
	if got, err := get(bind.String()); err != nil || got != "A" {
		t.Fatalf("after refused reload: %q %v, want A", got, err)
	}
}

// TestStopLetsInFlightFinish: a session in progress when Stop starts completes; new
// connections are refused.
func TestStopLetsInFlightFinish(t *testing.T) {
	bind := freePort(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	release := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		<-release
		c.Write([]byte("late answer"))
		c.Close()
	}()
	l := &loader{}
	l.set(tcpConfig(bind, netip.MustParseAddrPort(ln.Addr().String())), nil)
	d := New(Options{Log: quietLog(), Load: l.load})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", bind.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("x")) // make sure the session is up before stopping
	time.Sleep(50 * time.Millisecond)
	stopped := make(chan struct{})
	go func() { d.Stop(5 * time.Second); close(stopped) }()
	time.Sleep(50 * time.Millisecond)
	if _, err := net.DialTimeout("tcp", bind.String(), time.Second); err == nil {
		t.Error("a new connection was accepted while stopping")
	}
	close(release)
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	got, _ := io.ReadAll(c)
	if string(got) != "late answer" {
		t.Fatalf("in-flight session got %q, want the late answer", got)
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not return after the last session ended")
	}
}

// TestMaxConnAboveFDLimitIsLowered: global maxconn 50000 with a hard limit that cannot
// carry it starts anyway, with the effective value warned about.
func TestMaxConnAboveFDLimitIsLowered(t *testing.T) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	got := applyGlobal(&config.Global{MaxConn: 50000}, log)
	need := uint64(2*50000 + reservedFDs)
	if rl.Max >= need {
		if got != 50000 {
			t.Fatalf("hard limit %d carries maxconn 50000, but got %d", rl.Max, got)
		}
		return
	}
	want := int((rl.Max - reservedFDs) / 2)
	if got != want {
		t.Fatalf("effective maxconn %d, want %d for hard limit %d", got, want, rl.Max)
	}
	if !strings.Contains(buf.String(), "effective_maxconn="+strconv.Itoa(want)) {
		t.Fatalf("no warning with the effective value: %s", buf.String())
	}
}

// TestReloadRemovedTCPFrontendStopsListening: a TCP frontend removed by a reload stops
// listening; raw accepts wait on a duplicate of the listening socket, and that duplicate
// must not keep the port open.
func TestReloadRemovedTCPFrontendStopsListening(t *testing.T) {
	bindA, bindB := freePort(t), freePort(t)
	srv := banner(t, "A")
	l := &loader{}
	cfg := tcpConfig(bindA, srv)
	l.set(cfg, nil)
	d := New(Options{Log: quietLog(), Load: l.load})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop(time.Second)
	if got, err := get(bindA.String()); got != "A" || err != nil {
		t.Fatalf("before the reload: %q %v", got, err)
	}
	moved := tcpConfig(bindB, srv)
	l.set(moved, nil)
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	if got, err := get(bindB.String()); got != "A" || err != nil {
		t.Fatalf("new bind after the reload: %q %v", got, err)
	}
	if c, err := net.DialTimeout("tcp", bindA.String(), time.Second); err == nil {
		c.Close()
		t.Fatal("the removed bind still accepts connections")
	}
}
