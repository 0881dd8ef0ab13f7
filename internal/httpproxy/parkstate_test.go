package httpproxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
	"unsafe"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/idlewait"
)

// parkFixtureWith serves one backend with an idle waiter; tweak sets the frontend's
// timeouts, setup the handler.
func parkFixtureWith(t *testing.T, tweak func(fe *config.Frontend), setup func(h *Handler)) (*fixture, *idlewait.Waiter) {
	t.Helper()
	w, err := idlewait.New(10 * time.Millisecond)
	if err != nil {
		t.Skipf("no idle waiter on this system: %v", err)
	}
	t.Cleanup(w.Close)
	a, _ := httpServer(t, func(rw http.ResponseWriter, r *http.Request) { io.WriteString(rw, "ok") })
	f := newFixtureWith(t, newBackend(a), func(fe *config.Frontend, g *config.Global) {
		if tweak != nil {
			tweak(fe)
		}
	}, func(h *Handler) {
		h.Idle = w
		if setup != nil {
			setup(h)
		}
	})
	return f, w
}

// waitFor polls cond (bounded: 2 s).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 400; i++ {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestParkedConnectionHoldsNoRequestState: once parked, a connection holds neither its
// request loop state (buffers, exchange, clientConn: all back in their pools), nor a
// server connection (in the idle pool, where any later request may take it), nor a Go
// socket object (only a descriptor waits).
func TestParkedConnectionHoldsNoRequestState(t *testing.T) {
	f, w := parkFixtureWith(t, func(fe *config.Frontend) { fe.Timeouts.HTTPKeepAlive = 10 * time.Second }, nil)
	const n = 3
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", f.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got := rawRequest(t, c, bufio.NewReader(c)); got != "ok" {
			t.Fatalf("request: %q", got)
		}
	}
	waitParked(t, w, n)
	// The goroutines that parked give their state back just after: wait for that.
	waitFor(t, "request loop states back in the pool", func() bool { return f.h.ccOut.Load() == 0 })
	f.h.mu.Lock()
	for c := range f.h.conns {
		if c.scCur.Load() != nil || c.parked.Load() == nil || c.nc != nil {
			t.Errorf("parked connection: server connection %v, wait %v, socket object %v", c.scCur.Load(), c.parked.Load(), c.nc)
		}
	}
	f.h.mu.Unlock()
	if got := f.h.idle.idleCount(); got != n {
		t.Fatalf("%d server connections in the idle pool, want %d", got, n)
	}
	if f.h.Active() != n {
		t.Fatalf("Active %d, want %d", f.h.Active(), n)
	}
}

// TestIdleConnectionDetachesServerBeforeParking: a connection idle for serverHold in its
// goroutine (long before it parks) gives its server connection to the idle pool, and
// its next request takes it back (one server connection serves all).
func TestIdleConnectionDetachesServerBeforeParking(t *testing.T) {
	a, accepted := httpServer(t, func(rw http.ResponseWriter, r *http.Request) { io.WriteString(rw, "ok") })
	w, err := idlewait.New(10 * time.Millisecond)
	if err != nil {
		t.Skipf("no idle waiter on this system: %v", err)
	}
	t.Cleanup(w.Close)
	f := newFixtureWith(t, newBackend(a), func(fe *config.Frontend, g *config.Global) {
		fe.Timeouts.HTTPKeepAlive = 10 * time.Second
	}, func(h *Handler) { h.Idle = w; h.parkAfter = 5 * time.Second })
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	for i := 0; i < 3; i++ {
		if got := rawRequest(t, c, r); got != "ok" {
			t.Fatalf("request %d: %q", i, got)
		}
		waitFor(t, "the server connection in the idle pool", func() bool { return f.h.idle.idleCount() == 1 })
		f.h.mu.Lock()
		for c := range f.h.conns {
			if c.scCur.Load() != nil {
				t.Error("an idle connection still holds its server connection")
			}
		}
		f.h.mu.Unlock()
	}
	if w.Parked() != 0 || accepted.n.Load() != 1 {
		t.Fatalf("parked %d (parkAfter is 5s), server connections %d, want 0 and 1", w.Parked(), accepted.n.Load())
	}
}

// TestParkedConnectionResumesPartialRequest: a request whose head arrives in pieces
// after the connection parked is served.
func TestParkedConnectionResumesPartialRequest(t *testing.T) {
	f, w := parkFixtureWith(t, func(fe *config.Frontend) {
		fe.Timeouts.HTTPKeepAlive = 10 * time.Second
		fe.Timeouts.HTTPRequest = 5 * time.Second
	}, nil)
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	rawRequest(t, c, r)
	waitParked(t, w, 1)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHo")
	waitParked(t, w, 0)                                                 // woken by the first piece, it now waits for the rest
	io.WriteString(c, "st: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n") // the rest, and a pipelined one
	for i := 0; i < 2; i++ {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "ok" {
			t.Fatalf("response %d: %q", i, b)
		}
	}
	waitParked(t, w, 1)
}

// TestParkedConnectionTimeouts: while parked the idle timeout still applies (timeout
// http-keep-alive, else http-request, else client), and a request started after the
// park must complete within timeout http-request (408).
func TestParkedConnectionTimeouts(t *testing.T) {
	const short = 300 * time.Millisecond
	for _, tc := range []struct {
		name          string
		ka, req, cl   time.Duration
		partial       bool
		want          string // what the client reads before the close
		atLeast, most time.Duration
	}{
		{"keep-alive timeout", short, 10 * time.Second, 10 * time.Second, false, "", short, 3 * time.Second},
		{"http-request timeout without keep-alive", 0, short, 10 * time.Second, false, "", short, 3 * time.Second},
		{"client timeout alone", 0, 0, short, false, "", short, 3 * time.Second},
		{"partial request after the park", 10 * time.Second, short, 10 * time.Second, true, "HTTP/1.1 408", short, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, w := parkFixtureWith(t, func(fe *config.Frontend) {
				fe.Timeouts.HTTPKeepAlive, fe.Timeouts.HTTPRequest, fe.Timeouts.Client = tc.ka, tc.req, tc.cl
			}, func(h *Handler) { h.parkAfter = 20 * time.Millisecond })
			c, err := net.Dial("tcp", f.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			r := bufio.NewReader(c)
			rawRequest(t, c, r)
			start := time.Now() // the idle wait began just before (the response was sent)
			waitParked(t, w, 1)
			if tc.partial {
				start = time.Now() // timeout http-request counts from the first byte
				io.WriteString(c, "GET / HTTP/1.1\r\n")
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			rest, err := io.ReadAll(r)
			d := time.Since(start)
			if err != nil || !strings.HasPrefix(string(rest), tc.want) || tc.want == "" && len(rest) != 0 {
				t.Fatalf("read %q, %v; want %q then a close", rest, err, tc.want)
			}
			// The idle timeout counts from the response, the request one from its first
			// byte: start is a little after either (waitParked may be slow on a busy machine).
			if d < tc.atLeast-50*time.Millisecond || d > tc.most {
				t.Fatalf("closed after %v, want about %v", d, tc.atLeast)
			}
			f.waitIdle()
		})
	}
}

// TestParkedStateSize: what a parked connection keeps of its own fits the allocator's
// 80-byte class (it is 80 bytes: one word more makes it 96).
func TestParkedStateSize(t *testing.T) {
	if n := unsafe.Sizeof(conn{}); n > 80 {
		t.Fatalf("conn is %d bytes, want at most 80", n)
	}
	if n := unsafe.Sizeof(idlewait.Wait{}); n > 48 {
		t.Fatalf("idlewait.Wait is %d bytes, want at most 48", n)
	}
}

// TestResumedConnectionKnowsItsClient: after a park the connection is served from its
// bare descriptor again, with the client's address (X-Forwarded-For) and keep-alive.
func TestResumedConnectionKnowsItsClient(t *testing.T) {
	w, err := idlewait.New(10 * time.Millisecond)
	if err != nil {
		t.Skipf("no idle waiter on this system: %v", err)
	}
	t.Cleanup(w.Close)
	a, _ := httpServer(t, func(rw http.ResponseWriter, r *http.Request) {
		io.WriteString(rw, r.Header.Get("X-Forwarded-For"))
	})
	be := newBackend(a)
	be.ForwardFor = &config.ForwardFor{}
	f := newFixtureWith(t, be, func(fe *config.Frontend, g *config.Global) {
		fe.Timeouts.HTTPKeepAlive = 10 * time.Second
	}, func(h *Handler) { h.Idle = w; h.parkAfter = 20 * time.Millisecond })
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	for i := 0; i < 3; i++ {
		if got := rawRequest(t, c, r); got != "127.0.0.1" {
			t.Fatalf("request %d: X-Forwarded-For %q, want 127.0.0.1", i, got)
		}
		waitParked(t, w, 1)
	}
}

// TestCloseEndsParkedConnections: Close (the hard stop) closes parked connections too,
// and the handler forgets them.
func TestCloseEndsParkedConnections(t *testing.T) {
	f, w := parkFixtureWith(t, func(fe *config.Frontend) { fe.Timeouts.HTTPKeepAlive = 30 * time.Second }, nil)
	var conns []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", f.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		rawRequest(t, c, bufio.NewReader(c))
		conns = append(conns, c)
	}
	waitParked(t, w, 3)
	f.h.Close()
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if b, err := io.ReadAll(c); err != nil || len(b) != 0 {
			t.Fatalf("closed parked connection: %q %v, want a close", b, err)
		}
	}
	f.waitIdle()
}

// TestResumedConnectionLogs: a request served after a park is logged as any other, with
// the client's address and port (the socket was made again from its descriptor).
func TestResumedConnectionLogs(t *testing.T) {
	w, err := idlewait.New(10 * time.Millisecond)
	if err != nil {
		t.Skipf("no idle waiter on this system: %v", err)
	}
	t.Cleanup(w.Close)
	be := newBackend(fastServer(t), fastServer(t))
	f := newFixtureWith(t, be, func(fe *config.Frontend, g *config.Global) {
		fe.Timeouts.HTTPKeepAlive = 10 * time.Second
	}, func(h *Handler) { h.Idle = w; h.parkAfter = 20 * time.Millisecond })
	sink := &lineSink{}
	withLog(t, f, sink, func(fe *config.Frontend) {
		fe.Captures = []config.HeaderCapture{{Name: "Host", Len: 10}, {Name: "User-Agent", Len: 5}}
	})
	k := newKAClient(t, f.addr, len(fixedResponse))
	for i := 0; i < 3; i++ {
		if err := k.do(); err != nil {
			t.Fatal(err)
		}
		waitParked(t, w, 1)
	}
	prefix := k.c.LocalAddr().String() + " ["
	for i, l := range waitLines(t, sink, 3) {
		if !keepAliveLine.MatchString(l) || !strings.HasPrefix(l, prefix) {
			t.Fatalf("line %d: %q, want the httplog line of client %s", i, l, k.c.LocalAddr())
		}
	}
}

// TestResumedConnectionHandsOffToService: a request for the stats service arriving on a
// connection that parked is handed over on its remade socket, which the service uses
// and closes.
func TestResumedConnectionHandsOffToService(t *testing.T) {
	f, w := parkFixtureWith(t, func(fe *config.Frontend) { fe.Timeouts.HTTPKeepAlive = 10 * time.Second },
		func(h *Handler) { h.parkAfter = 20 * time.Millisecond })
	svc := &fakeService{}
	f.h.Swap(&Route{Frontend: f.fe, Backends: map[string]*backend.Pool{f.be.Name: f.pool}, Global: &config.Global{}, Service: svc})
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if got := rawRequest(t, c, r); got != "ok" {
		t.Fatalf("proxied: %q", got)
	}
	waitParked(t, w, 1)
	io.WriteString(c, "GET /svc/page HTTP/1.1\r\nHost: a\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(r)
	if !strings.HasSuffix(string(b), "\r\n\r\nsvc") {
		t.Fatalf("service answer %q", b)
	}
	f.waitIdle()
}
