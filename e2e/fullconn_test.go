package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// gatedWeb is a backend that holds every request until the gate of its phase opens, and
// counts the requests it serves at once.
type gatedWeb struct {
	addr     string
	mu       sync.Mutex
	gate     chan struct{}
	inflight int
	max      int
}

func startGatedWeb(t *testing.T) *gatedWeb {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedWeb{addr: ln.Addr().String(), gate: make(chan struct{})}
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				g.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		g.mu.Lock()
		select {
		case <-g.gate:
		default:
			close(g.gate)
		}
		g.mu.Unlock()
		wg.Wait()
	})
	return g
}

func (g *gatedWeb) serve(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		g.mu.Lock()
		g.inflight++
		g.max = max(g.max, g.inflight)
		gate := g.gate
		g.mu.Unlock()
		<-gate
		g.mu.Lock()
		g.inflight--
		g.mu.Unlock()
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
			return
		}
	}
}

// phase starts a new phase: a shut gate, the maximum reset.
func (g *gatedWeb) phase() chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate, g.max = make(chan struct{}), g.inflight
	return g.gate
}

func (g *gatedWeb) counts() (inflight, max int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.inflight, g.max
}

// statCells returns the show stat cells of row pxname/svname by column name.
func statCells(t *testing.T, csv, pxname, svname string) map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "# ") {
		t.Fatalf("show stat: no header in %q", csv)
	}
	head := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) >= 2 && f[0] == pxname && f[1] == svname {
			m := map[string]string{}
			for i, h := range head {
				if i < len(f) {
					m[h] = f[i]
				}
			}
			return m
		}
	}
	t.Fatalf("show stat: no row %s/%s in\n%s", pxname, svname, csv)
	return nil
}

// TestDynamicMaxConn runs the built binary with `fullconn 20` and a server `minconn 2
// maxconn 10`: with 3 sessions on the backend the server gets 2 requests at once and
// the third waits in the queue; with 20 it gets 10 and 10 wait. The server counts what
// it serves; the stats socket shows the queue and the limits (slim).
func TestDynamicMaxConn(t *testing.T) {
	gw := startGatedWeb(t)
	sock := filepath.Join(t.TempDir(), "t.sock")
	front := freeAddr(t)
	cfg := fmt.Sprintf("global\n    stats socket %s level admin\n", sock) +
		proxyConfig(front, "fullconn 20", "timeout queue 10s", "server s1 "+gw.addr+" minconn 2 maxconn 10")
	startTandem(t, cfg, front)

	run := func(n int) <-chan string {
		out := make(chan string, n)
		for range n {
			go func() {
				c, err := net.Dial("tcp", front)
				if err != nil {
					out <- err.Error()
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(15 * time.Second))
				if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n"); err != nil {
					out <- err.Error()
					return
				}
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					out <- err.Error()
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				out <- resp.Status
			}()
		}
		return out
	}
	// settle waits (bounded) until the server serves held requests and queued wait.
	settle := func(held, queued int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			in, _ := gw.counts()
			be := statCells(t, ask(t, sock, "show stat"), "app", "BACKEND")
			if in == held && be["qcur"] == fmt.Sprint(queued) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("want %d requests on the server and %d queued; have %d on the server, backend row %v", held, queued, in, be)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	finish := func(gate chan struct{}, out <-chan string, n int) {
		t.Helper()
		close(gate)
		for range n {
			if st := <-out; st != "200 OK" {
				t.Errorf("response: %s, want 200 OK", st)
			}
		}
		settle(0, 0)
	}

	gate := gw.phase()
	out := run(3)
	settle(2, 1)
	if _, m := gw.counts(); m != 2 {
		t.Fatalf("3 sessions: the server served %d requests at once, want 2 (minconn)", m)
	}
	finish(gate, out, 3)

	gate = gw.phase()
	out = run(20)
	settle(10, 10)
	if _, m := gw.counts(); m != 10 {
		t.Fatalf("20 sessions: the server served %d requests at once, want 10 (maxconn at fullconn)", m)
	}
	finish(gate, out, 20)

	csv := ask(t, sock, "show stat")
	if s := statCells(t, csv, "app", "s1"); s["slim"] != "10" || s["smax"] != "10" {
		t.Errorf("server row: slim %s smax %s, want 10 and 10", s["slim"], s["smax"])
	}
	if b := statCells(t, csv, "app", "BACKEND"); b["slim"] != "20" {
		t.Errorf("backend row: slim %s, want fullconn 20", b["slim"])
	}
}

// TestFullConnSlimMatchesHAProxy: Debian's haproxy 2.6 and tandem, on the same file,
// show the same session limits (slim) for backends with and without fullconn and for
// servers whose minconn is below, above or without maxconn.
func TestFullConnSlimMatchesHAProxy(t *testing.T) {
	dir := t.TempDir()
	conf := func(sock string, binds [3]string) string {
		return fmt.Sprintf(`global
    maxconn 5000
    stats socket %s mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend f1
    bind %s
    default_backend b1
frontend f2
    bind %s
    maxconn 300
    use_backend b1
    default_backend b2
backend b1
    default-server minconn 2
    server ramp 127.0.0.1:9 maxconn 10
    server above 127.0.0.1:9 minconn 20 maxconn 10
    server alone 127.0.0.1:9 minconn 5 maxconn 0
    server fixed 127.0.0.1:9 minconn 0 maxconn 7
backend b2
    fullconn 33
    server s 127.0.0.1:9 minconn 2 maxconn 10
backend b3
    server s 127.0.0.1:9 minconn 2 maxconn 10
listen l1
    bind %s
    maxconn 55
    server s 127.0.0.1:9 minconn 2 maxconn 10
`, sock, binds[0], binds[1], binds[2])
	}
	hsock, tsock := filepath.Join(dir, "h.sock"), filepath.Join(dir, "t.sock")
	startHAProxy(t, conf(hsock, [3]string{freeAddr(t), freeAddr(t), freeAddr(t)}), hsock)
	tb := [3]string{freeAddr(t), freeAddr(t), freeAddr(t)}
	startTandem(t, conf(tsock, tb), tb[0])
	h, tn := ask(t, hsock, "show stat"), ask(t, tsock, "show stat")
	rows := [][2]string{{"b1", "ramp"}, {"b1", "above"}, {"b1", "alone"}, {"b1", "fixed"}, {"b1", "BACKEND"},
		{"b2", "s"}, {"b2", "BACKEND"}, {"b3", "s"}, {"b3", "BACKEND"}, {"l1", "s"}, {"l1", "BACKEND"}}
	for _, r := range rows {
		hs, ts := statCells(t, h, r[0], r[1])["slim"], statCells(t, tn, r[0], r[1])["slim"]
		if hs != ts || hs == "" {
			t.Errorf("%s/%s: slim haproxy %q, tandem %q", r[0], r[1], hs, ts)
		}
	}
}
