package httpproxy

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
)

// fixture is a proxy on loopback in front of test servers.
type fixture struct {
	t      testing.TB
	h      *Handler
	ln     net.Listener
	addr   string
	fe     *config.Frontend
	be     *config.Backend
	pool   *backend.Pool
	states *backend.States
	wg     sync.WaitGroup
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("HTTPPROXY_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

// newBackend returns a backend config over addrs, servers named s1, s2, ... with cookies s1, s2, ...
func newBackend(addrs ...string) *config.Backend {
	be := &config.Backend{Name: "app", Mode: config.ModeHTTP, Retries: 3}
	for i, a := range addrs {
		ap := netip.MustParseAddrPort(a)
		be.Servers = append(be.Servers, &config.Server{Name: fmt.Sprintf("s%d", i+1), Host: a, Addr: ap, Weight: 1, Cookie: fmt.Sprintf("s%d", i+1)})
	}
	be.Timeouts = config.Timeouts{Connect: time.Second, Server: 5 * time.Second}
	return be
}

func newFixture(t testing.TB, be *config.Backend, tweak func(fe *config.Frontend, g *config.Global)) *fixture {
	t.Helper()
	return newFixtureWith(t, be, tweak, nil)
}

// newFixtureWith is newFixture with setup applied to the handler before it serves.
func newFixtureWith(t testing.TB, be *config.Backend, tweak func(fe *config.Frontend, g *config.Global), setup func(*Handler)) *fixture {
	t.Helper()
	fe := &config.Frontend{Name: "fe", Mode: config.ModeHTTP, DefaultBackend: be,
		Timeouts: config.Timeouts{Client: 5 * time.Second}}
	g := &config.Global{BufSize: config.DefaultBufSize, MaxRewrite: config.DefaultMaxRewrite}
	if tweak != nil {
		tweak(fe, g)
	}
	f := &fixture{t: t, fe: fe, be: be, states: backend.NewStates()}
	f.pool = backend.New(be, f.states)
	f.h = NewHandler(&Route{Frontend: fe, Backends: map[string]*backend.Pool{be.Name: f.pool}, Global: g}, testLogger(t))
	if setup != nil {
		setup(f.h)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.ln, f.addr = ln, ln.Addr().String()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				f.h.ServeConn(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		f.h.Close()
		f.wg.Wait()
	})
	return f
}

// waitIdle waits (bounded) until the proxy has no client connection open.
func (f *fixture) waitIdle() {
	f.t.Helper()
	for i := 0; i < 500; i++ {
		if f.h.Active() == 0 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	f.t.Fatalf("proxy still has %d connections", f.h.Active())
}

// client returns an http.Client that sends everything to the proxy.
func (f *fixture) client() *http.Client {
	tr2 := &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}
	f.t.Cleanup(tr2.CloseIdleConnections)
	return &http.Client{Transport: tr2, Timeout: 10 * time.Second}
}

func (f *fixture) url(path string) string { return "http://" + f.addr + path }

// counting wraps a listener and counts accepted connections.
type counting struct {
	net.Listener
	n atomic.Int64
}

func (c *counting) Accept() (net.Conn, error) {
	conn, err := c.Listener.Accept()
	if err == nil {
		c.n.Add(1)
	}
	return conn, err
}

// httpServer starts a net/http test backend and returns its address and accept counter.
func httpServer(t testing.TB, h http.HandlerFunc) (string, *counting) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &counting{Listener: ln}
	srv := &http.Server{Handler: h, ErrorLog: nil}
	go srv.Serve(cl)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), cl
}

// rawServer accepts connections and runs fn on each.
func rawServer(t testing.TB, fn func(c net.Conn)) (string, *counting) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &counting{Listener: ln}
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := cl.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				fn(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String(), cl
}

// rawExchange sends raw to the proxy on a new connection and returns the first response.
func (f *fixture) rawExchange(raw string) (*http.Response, string, error) {
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		return nil, "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		return nil, "", err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b), err
}

func mustGet(t testing.TB, c *http.Client, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func hasLine(s, line string) bool {
	for _, l := range strings.Split(s, "\r\n") {
		if l == line {
			return true
		}
	}
	return false
}
