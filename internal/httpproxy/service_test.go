package httpproxy

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/proxystats"
)

// fakeService answers requests under /svc itself and remembers what it was handed.
type fakeService struct {
	mu       sync.Mutex
	buffered []byte
	keep     bool
}

func (s *fakeService) Match(target []byte) bool { return bytes.HasPrefix(target, []byte("/svc")) }

func (s *fakeService) ServeConn(c net.Conn, buffered []byte, keepAlive bool) {
	s.mu.Lock()
	s.buffered, s.keep = append([]byte(nil), buffered...), keepAlive
	s.mu.Unlock()
	io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nsvc")
}

func TestServiceHandOffAndFrontendCounters(t *testing.T) {
	addr, _ := httpServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "backend") })
	f := newFixture(t, newBackend(addr), nil)
	svc := &fakeService{}
	counters := &proxystats.Frontend{}
	f.h.Swap(&Route{Frontend: f.fe, Backends: map[string]*backend.Pool{f.be.Name: f.pool}, Global: &config.Global{}, Stats: counters, Service: svc})

	cl := f.client()
	if _, body := mustGet(t, cl, f.url("/x")); body != "backend" {
		t.Fatalf("proxied body %q", body)
	}
	cl.CloseIdleConnections()
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	req := "GET /svc/page HTTP/1.1\r\nHost: a\r\n\r\n"
	io.WriteString(c, req)
	b, _ := io.ReadAll(c)
	if !strings.HasSuffix(string(b), "\r\n\r\nsvc") {
		t.Fatalf("service answer %q", b)
	}
	svc.mu.Lock()
	if string(svc.buffered) != req || svc.keep {
		t.Errorf("handed %q keep=%v, want the request and keep=false (the frontend has a backend)", svc.buffered, svc.keep)
	}
	svc.mu.Unlock()
	f.waitIdle()
	s := counters.Snapshot(time.Now())
	if s.Requests != 2 || s.Total != 2 || s.Cur != 0 || s.Responses[1] != 1 || s.BytesOut == 0 {
		t.Errorf("counters %+v: want 2 requests, 2 sessions, 1 proxied 2xx, bytes out", s)
	}
}

// TestServiceHandOffKeepsNoConnectionWhenRulesChoose: a frontend whose use_backend
// rules choose the backend per request has backends, so the service must not keep the
// connection (later requests on it go to a backend, not to the service).
func TestServiceHandOffKeepsNoConnectionWhenRulesChoose(t *testing.T) {
	h, addr := rulesProxy(t, `defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:1
    use_backend b if { path_beg /b }
    default_backend a
backend a
    server a {a}
backend b
    server b {b}
`, nil, "a", "b")
	svc := &fakeService{}
	r := *h.route.Load().r
	r.Service = svc
	h.Swap(&r)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /svc/page HTTP/1.1\r\nHost: a\r\n\r\n")
	if b, _ := io.ReadAll(c); !strings.HasSuffix(string(b), "\r\n\r\nsvc") {
		t.Fatalf("service answer %q", b)
	}
	svc.mu.Lock()
	defer svc.mu.Unlock()
	if svc.keep {
		t.Error("handed keep=true, want false: the frontend's rules send requests to backends")
	}
}
