package httpproxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"tandem/internal/config"
	"tandem/internal/idlewait"
)

// parkFixture serves one backend with an idle waiter, and keep-alive timeout ka.
func parkFixture(t *testing.T, ka time.Duration) (*fixture, *idlewait.Waiter) {
	t.Helper()
	w, err := idlewait.New(10 * time.Millisecond)
	if err != nil {
		t.Skipf("no idle waiter on this system: %v", err)
	}
	t.Cleanup(w.Close)
	a, _ := httpServer(t, func(rw http.ResponseWriter, r *http.Request) { io.WriteString(rw, "ok") })
	be := newBackend(a)
	f := newFixtureWith(t, be, func(fe *config.Frontend, g *config.Global) {
		fe.Timeouts.HTTPKeepAlive = ka
		fe.Timeouts.HTTPRequest = 5 * time.Second
	}, func(h *Handler) { h.Idle = w })
	return f, w
}

func rawRequest(t *testing.T, c net.Conn, r *bufio.Reader) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return string(b)
}

func waitParked(t *testing.T, w *idlewait.Waiter, n int) {
	t.Helper()
	for i := 0; i < 300; i++ {
		if w.Parked() == n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%d connections parked, want %d", w.Parked(), n)
}

// TestIdleConnectionParksAndResumes: a keep-alive connection idle past parkAfter is
// parked (no goroutine), stays counted as open, and serves its next request.
func TestIdleConnectionParksAndResumes(t *testing.T) {
	f, w := parkFixture(t, 10*time.Second)
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if got := rawRequest(t, c, r); got != "ok" {
		t.Fatalf("first request: %q", got)
	}
	waitParked(t, w, 1)
	if f.h.Active() != 1 {
		t.Fatalf("Active %d while parked, want 1", f.h.Active())
	}
	for i := 0; i < 3; i++ {
		if got := rawRequest(t, c, r); got != "ok" {
			t.Fatalf("request %d after parking: %q", i, got)
		}
		waitParked(t, w, 1)
	}
}

// TestParkedConnectionExpires: the keep-alive timeout still applies while parked: the
// connection is closed silently and the handler forgets it.
func TestParkedConnectionExpires(t *testing.T) {
	f, w := parkFixture(t, 400*time.Millisecond)
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	rawRequest(t, c, r)
	waitParked(t, w, 1)
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	rest, err := io.ReadAll(r)
	if err != nil || len(rest) != 0 {
		t.Fatalf("after the keep-alive timeout: %q %v, want a silent close", rest, err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Fatalf("closed %v after the park, want about 350ms (400ms from the request)", d)
	}
	f.waitIdle()
}

// TestDrainClosesParkedConnections: a graceful stop closes parked connections at once.
func TestDrainClosesParkedConnections(t *testing.T) {
	f, w := parkFixture(t, 30*time.Second)
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
	f.h.Drain()
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if b, err := io.ReadAll(c); err != nil || len(b) != 0 {
			t.Fatalf("drained parked connection: %q %v, want a close", b, err)
		}
	}
	f.waitIdle()
	if w.Parked() != 0 {
		t.Fatalf("%d still parked after Drain", w.Parked())
	}
}

// TestPipelinedRequestsServedBeforeParking: three requests sent at once are all answered
// (a park while the next one sits in the buffer would stall them past the 5 s
// deadline), and only then, idle, the connection parks.
func TestPipelinedRequestsServedBeforeParking(t *testing.T) {
	f, w := parkFixture(t, 10*time.Second)
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, strings.Repeat("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 3))
	r := bufio.NewReader(c)
	for i := 0; i < 3; i++ {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("pipelined response %d: %v", i, err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	waitParked(t, w, 1)
}
