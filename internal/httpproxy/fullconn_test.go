package httpproxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// holdServer is a backend that holds every request until its phase's gate opens, and
// counts the requests it is serving at once.
type holdServer struct {
	mu       sync.Mutex
	gate     chan struct{}
	inflight int
	max      int
}

func (h *holdServer) serve(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		h.mu.Lock()
		h.inflight++
		h.max = max(h.max, h.inflight)
		gate := h.gate
		h.mu.Unlock()
		<-gate
		h.mu.Lock()
		h.inflight--
		h.mu.Unlock()
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
			return
		}
	}
}

// phase starts a new phase: a closed gate, the maximum reset.
func (h *holdServer) phase() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gate, h.max = make(chan struct{}), h.inflight
}

// release opens the current gate for good (a test that failed midway must not leave
// the server's handlers, and the cleanup that waits for them, hanging).
func (h *holdServer) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.gate:
	default:
		if h.gate != nil {
			close(h.gate)
		}
	}
}

func (h *holdServer) counts() (inflight, max int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.inflight, h.max
}

// TestDynamicMaxConnOnRealSockets: a server with minconn 2 and maxconn 10 in a backend of
// fullconn 20 serves at most 2 requests at once while the backend holds 3 sessions, and
// 10 when it holds 20 (config.DynamicMaxConn). Clients and server are real loopback
// sockets; the server counts the requests it serves at once.
func TestDynamicMaxConnOnRealSockets(t *testing.T) {
	hs := &holdServer{}
	addr, _ := rawServer(t, hs.serve)
	t.Cleanup(hs.release) // runs before rawServer's cleanup waits for the handlers
	be := newBackend(addr)
	be.FullConn = 20
	be.Servers[0].MinConn, be.Servers[0].MaxConn = 2, 10
	be.Timeouts.Queue = 10 * time.Second
	f := newFixture(t, be, nil)
	srv := f.pool.Servers[0]

	// run sends n requests at once, each on its own connection, and returns their statuses.
	run := func(n int) <-chan string {
		out := make(chan string, n)
		for range n {
			go func() {
				resp, _, err := f.rawExchange("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
				if err != nil {
					out <- err.Error()
					return
				}
				out <- resp.Status
			}()
		}
		return out
	}
	// settle waits (bounded) until the backend holds sess sessions, held on the server
	// and queued as wanted.
	settle := func(sess, held, queued int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			in, _ := hs.counts()
			if f.pool.Sessions() == sess && in == held && srv.Cur() == int64(held) && f.pool.Queued() == queued {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("want %d sessions, %d on the server, %d queued; have %d sessions, %d on the server (cur %d), %d queued",
					sess, held, queued, f.pool.Sessions(), in, srv.Cur(), f.pool.Queued())
			}
			time.Sleep(time.Millisecond)
		}
	}
	finish := func(out <-chan string, n int) {
		t.Helper()
		hs.release()
		for range n {
			if st := <-out; st != "200 OK" {
				t.Errorf("response: %s, want 200 OK", st)
			}
		}
		settle(0, 0, 0)
	}

	// Low load: 3 sessions, limit max(2, 10*3/20) = 2.
	hs.phase()
	out := run(3)
	settle(3, 2, 1)
	if _, m := hs.counts(); m != 2 {
		t.Fatalf("low load: the server served %d requests at once, want 2", m)
	}
	finish(out, 3)

	// High load: 20 sessions reach fullconn, limit 10.
	hs.phase()
	out = run(20)
	settle(20, 10, 10)
	if _, m := hs.counts(); m != 10 {
		t.Fatalf("high load: the server served %d requests at once, want 10", m)
	}
	finish(out, 20)
	if _, m := hs.counts(); m > 10 {
		t.Fatalf("the server served %d requests at once, above maxconn 10", m)
	}
}
