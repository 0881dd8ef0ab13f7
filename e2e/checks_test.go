package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// hweb is a web server whose /health answer can be switched and which can be killed
// (listener and every connection closed at once) and revived on the same address.
type hweb struct {
	name   string
	addr   string
	health atomic.Int32 // status /health answers
	hits   atomic.Int64 // requests other than /health
	mu     sync.Mutex
	srv    *http.Server
}

func startHWeb(t *testing.T, name string) *hweb {
	t.Helper()
	w := &hweb{name: name}
	w.health.Store(200)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.addr = ln.Addr().String()
	w.serve(ln)
	t.Cleanup(w.kill)
	return w
}

func (w *hweb) serve(ln net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			rw.WriteHeader(int(w.health.Load()))
			return
		}
		w.hits.Add(1)
		if r.URL.Query().Get("sleep") != "" {
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Fprint(rw, w.name)
	})
	srv := &http.Server{Handler: mux}
	w.mu.Lock()
	w.srv = srv
	w.mu.Unlock()
	go srv.Serve(ln)
}

// kill closes the listener and every connection, as a crashed server's kernel would.
func (w *hweb) kill() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.srv != nil {
		w.srv.Close()
		w.srv = nil
	}
}

func (w *hweb) revive(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp4", w.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	w.serve(ln)
}

// waitLog waits (bounded) until tandem's output holds s, and returns how long it took.
func (p *proc) waitLog(t *testing.T, s string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if strings.Contains(p.stderr.String(), s) {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %q in tandem's output within %v:\n%s", s, within, p.stderr)
	return 0
}

func checksConfig(addr, extra string, servers ...string) string {
	return `global
    spread-checks 5
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    retries 3
    option redispatch
    retry-on all-retryable-errors
frontend fe
    bind ` + addr + `
    default_backend app
backend app
` + extra + strings.Join(servers, "\n") + "\n"
}

func getBody(c *http.Client, url string) (int, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// Acceptance: one of two servers dies while 4 clients loop; with retries 3, option
// redispatch and retry-on all-retryable-errors no request fails, and once fall × inter
// has passed no request reaches the dead server.
func TestKillServerNoFailedRequests(t *testing.T) {
	s1, s2 := startHWeb(t, "s1"), startHWeb(t, "s2")
	addr := freeAddr(t)
	const inter, fall = 200 * time.Millisecond, 2
	p := startTandem(t, checksConfig(addr, "    option httpchk GET /health\n",
		fmt.Sprintf("    server s1 %s check inter %v fall %d rise 2", s1.addr, inter.Milliseconds(), fall),
		fmt.Sprintf("    server s2 %s check inter %v fall %d rise 2", s2.addr, inter.Milliseconds(), fall)), addr)

	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(keep bool) {
			defer wg.Done()
			c := client(keep)
			for n := 0; n < 5000; n++ { // bounded
				select {
				case <-stop:
					return
				default:
				}
				code, _, err := getBody(c, "http://"+addr+"/?sleep=1")
				if err != nil || code != 200 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d err %v", code, err))
					continue
				}
				ok.Add(1)
			}
		}(i%2 == 0)
	}
	time.Sleep(300 * time.Millisecond)
	if s1.hits.Load() == 0 {
		t.Fatal("s1 got no traffic before the kill")
	}
	s1.kill()
	killed := time.Now()
	took := p.waitLog(t, "Server app/s1 is DOWN", fall*inter+inter+2*time.Second)
	t.Logf("s1 marked DOWN %v after the kill (fall × inter = %v)", took, fall*inter)
	// Revive s1 with a failing /health: it stays DOWN, and any request it gets is a leak.
	s1.health.Store(503)
	s1.revive(t)
	base := s1.hits.Load()
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if f := failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed (first: %v)", f, f+ok.Load(), firstErr.Load())
	}
	if leaked := s1.hits.Load() - base; leaked != 0 {
		t.Errorf("%d requests reached the DOWN server after it was marked DOWN", leaked)
	}
	t.Logf("%d requests, 0 failed; DOWN after %v", ok.Load(), time.Since(killed).Round(time.Millisecond))
}

// Acceptance: option httpchk GET /health + http-check expect status 200: a server answering
// 503 is DOWN within fall × inter (+ one check), UP again after rise good checks.
func TestHTTPCheckDownAndUp(t *testing.T) {
	s1, s2 := startHWeb(t, "s1"), startHWeb(t, "s2")
	addr := freeAddr(t)
	const inter, fall, rise = 250 * time.Millisecond, 3, 2
	p := startTandem(t, checksConfig(addr, "    option httpchk GET /health\n    http-check expect status 200\n",
		fmt.Sprintf("    server s1 %s check inter %d fall %d rise %d", s1.addr, inter.Milliseconds(), fall, rise),
		fmt.Sprintf("    server s2 %s check inter %d fall %d rise %d", s2.addr, inter.Milliseconds(), fall, rise)), addr)
	time.Sleep(2 * inter) // fully UP
	s1.health.Store(503)
	took := p.waitLog(t, "Server app/s1 is DOWN, reason: Layer7 wrong status, code: 503", fall*inter+inter+2*time.Second)
	if bound := fall*inter + inter + 300*time.Millisecond; took > bound {
		t.Errorf("DOWN after %v, want within fall × inter + one check (%v, with 300ms slack)", took, bound)
	}
	t.Logf("DOWN %v after /health turned 503 (fall × inter = %v)", took, fall*inter)
	c := client(true)
	base := s1.hits.Load()
	for i := 0; i < 20; i++ {
		if code, b, err := getBody(c, "http://"+addr+"/"); err != nil || code != 200 || b != "s2" {
			t.Fatalf("request %d while s1 DOWN: %d %q %v", i, code, b, err)
		}
	}
	if s1.hits.Load() != base {
		t.Error("a DOWN server got requests")
	}
	s1.health.Store(200)
	took = p.waitLog(t, "Server app/s1 is UP, reason: Layer7 check passed, code: 200", rise*inter*4+2*time.Second)
	t.Logf("UP %v after /health turned 200 (rise × fastinter = %v)", took, rise*inter)
	seen := map[string]bool{}
	for i := 0; i < 20; i++ {
		_, b, _ := getBody(c, "http://"+addr+"/")
		seen[b] = true
	}
	if !seen["s1"] || !seen["s2"] {
		t.Errorf("after UP, served by %v, want both", seen)
	}
}

// Acceptance: both actives DOWN → the backup serves; one active back → the backup stops.
func TestBackupTakesOver(t *testing.T) {
	a1, a2, b1 := startHWeb(t, "a1"), startHWeb(t, "a2"), startHWeb(t, "b1")
	addr := freeAddr(t)
	const inter = 150
	p := startTandem(t, checksConfig(addr, "    option httpchk GET /health\n",
		fmt.Sprintf("    server a1 %s check inter %d fall 2 rise 2", a1.addr, inter),
		fmt.Sprintf("    server a2 %s check inter %d fall 2 rise 2", a2.addr, inter),
		fmt.Sprintf("    server b1 %s check inter %d fall 2 rise 2 backup", b1.addr, inter)), addr)
	c := client(false)
	serving := func() map[string]int {
		m := map[string]int{}
		for i := 0; i < 12; i++ {
			code, b, err := getBody(c, "http://"+addr+"/")
			if err != nil || code != 200 {
				t.Fatalf("request: %d %v", code, err)
			}
			m[b]++
		}
		return m
	}
	if m := serving(); m["b1"] != 0 {
		t.Fatalf("backup served while actives are UP: %v", m)
	}
	a1.health.Store(503)
	a2.health.Store(503)
	p.waitLog(t, "Server app/a1 is DOWN", 5*time.Second)
	p.waitLog(t, "Running on backup.", 5*time.Second)
	if m := serving(); m["b1"] != 12 {
		t.Fatalf("with both actives DOWN, served by %v, want b1 only", m)
	}
	a2.health.Store(200)
	p.waitLog(t, "Server app/a2 is UP", 5*time.Second)
	if m := serving(); m["a2"] != 12 {
		t.Fatalf("with a2 back UP, served by %v, want a2 only", m)
	}
}

// agent-check: "drain" takes a server out of balancing; "50%" halves its weight.
func TestAgentDrainAndWeight(t *testing.T) {
	s1, s2 := startHWeb(t, "s1"), startHWeb(t, "s2")
	var reply atomic.Value
	reply.Store("100%\n")
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
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
	agentPort := ln.Addr().(*net.TCPAddr).Port
	addr := freeAddr(t)
	startTandem(t, checksConfig(addr, "",
		fmt.Sprintf("    server s1 %s weight 100 check inter 100 agent-check agent-port %d agent-inter 100", s1.addr, agentPort),
		fmt.Sprintf("    server s2 %s weight 100 check inter 100", s2.addr)), addr)
	c := client(false)
	count := func(n int) map[string]int {
		m := map[string]int{}
		for i := 0; i < n; i++ {
			_, b, err := getBody(c, "http://"+addr+"/")
			if err != nil {
				t.Fatal(err)
			}
			m[b]++
		}
		return m
	}
	reply.Store("drain\n")
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if m := count(10); m["s1"] == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if m := count(20); m["s1"] != 0 {
		t.Fatalf("after agent drain, s1 still gets new sessions: %v", m)
	}
	reply.Store("ready 50%\n")
	deadline = time.Now().Add(3 * time.Second)
	var m map[string]int
	for time.Now().Before(deadline) {
		if m = count(30); m["s1"] >= 8 && m["s1"] <= 12 {
			return // weight 50 vs 100: one in three
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("after ready 50%%, distribution %v, want s1 about one in three", m)
}

// The health of unchanged servers survives a reload: a DOWN server stays DOWN across
// SIGHUP, without a window in which it gets traffic again.
func TestHealthSurvivesReload(t *testing.T) {
	s1, s2 := startHWeb(t, "s1"), startHWeb(t, "s2")
	addr := freeAddr(t)
	servers := []string{
		fmt.Sprintf("    server s1 %s check inter 200 fall 2 rise 3", s1.addr),
		fmt.Sprintf("    server s2 %s check inter 200 fall 2 rise 3", s2.addr),
	}
	p := startTandem(t, checksConfig(addr, "    option httpchk GET /health\n", servers...), addr)
	s1.health.Store(503)
	p.waitLog(t, "Server app/s1 is DOWN", 5*time.Second)
	// A change elsewhere in the file; s1 and s2 unchanged.
	cfg := strings.Replace(checksConfig(addr, "    option httpchk GET /health\n", servers...), "timeout client 5s", "timeout client 6s", 1)
	if err := os.WriteFile(p.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	base := s1.hits.Load()
	p.signal(syscall.SIGHUP)
	c := client(false)
	for i := 0; i < 40; i++ {
		if code, b, err := getBody(c, "http://"+addr+"/"); err != nil || code != 200 || b != "s2" {
			t.Fatalf("request %d around the reload: %d %q %v", i, code, b, err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if s1.hits.Load() != base {
		t.Fatalf("the DOWN server got %d requests after the reload", s1.hits.Load()-base)
	}
	if n := strings.Count(p.stderr.String(), "Server app/s1 is DOWN"); n != 1 {
		t.Errorf("s1 went DOWN %d times, want once (no reset to UP by the reload)\n%s", n, p.stderr)
	}
	if strings.Contains(p.stderr.String(), "Server app/s1 is UP") {
		t.Errorf("s1 came UP across the reload\n%s", p.stderr)
	}
}

// slowstart: a server coming back UP gets a small share of new requests at first, its
// full share once slowstart has passed.
func TestSlowStartRamp(t *testing.T) {
	s1, s2 := startHWeb(t, "s1"), startHWeb(t, "s2")
	addr := freeAddr(t)
	const slow = 3 * time.Second
	p := startTandem(t, checksConfig(addr, "    option httpchk GET /health\n",
		fmt.Sprintf("    server s1 %s weight 100 check inter 100 fall 1 rise 1 slowstart %dms", s1.addr, slow.Milliseconds()),
		fmt.Sprintf("    server s2 %s weight 100 check inter 100 fall 1 rise 1", s2.addr)), addr)
	s1.health.Store(503)
	p.waitLog(t, "Server app/s1 is DOWN", 5*time.Second)
	s1.health.Store(200)
	p.waitLog(t, "Server app/s1 is UP", 5*time.Second)
	up := time.Now()
	c := client(false)
	share := func(n int) float64 {
		got := 0
		for i := 0; i < n; i++ {
			_, b, err := getBody(c, "http://"+addr+"/")
			if err != nil {
				t.Fatal(err)
			}
			if b == "s1" {
				got++
			}
		}
		return float64(got) / float64(n)
	}
	early := share(40)
	earlyAt := time.Since(up)
	time.Sleep(slow - time.Since(up) + 200*time.Millisecond)
	late := share(40)
	t.Logf("s1's share: %.0f%% in the first %v of slowstart, %.0f%% after it", 100*early, earlyAt.Round(time.Millisecond), 100*late)
	if early > 0.25 {
		t.Errorf("s1 got %.0f%% of requests right after coming UP, want a small share (slowstart %v)", 100*early, slow)
	}
	if late < 0.35 || late > 0.65 {
		t.Errorf("s1 got %.0f%% once slowstart passed, want about half", 100*late)
	}
}

// on-marked-down shutdown-sessions: a long TCP session to a server is closed when the
// server is marked DOWN; without it the session would hang on a dead server.
func TestShutdownSessionsOnMarkedDown(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srvAddr := ln.Addr().String()
	var held sync.WaitGroup
	defer held.Wait()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held.Add(1)
			go func() { // echo until the peer goes
				defer held.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				io.Copy(c, c)
			}()
		}
	}()
	addr := freeAddr(t)
	p := startTandem(t, `defaults
    mode tcp
    timeout connect 1s
    timeout client 30s
    timeout server 30s
listen tcp
    bind `+addr+`
    server s1 `+srvAddr+` check inter 100 fall 2 rise 2 on-marked-down shutdown-sessions
`, addr)
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("x"))
	buf := make([]byte, 1)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("echo: %v", err)
	}
	ln.Close() // checks now fail; the established session stays open on the server side
	p.waitLog(t, "Server tcp/s1 is DOWN", 5*time.Second)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := c.Read(buf); err == nil || isTimeout(err) {
		t.Fatalf("session still open after the server was marked DOWN: n=%d err=%v", n, err)
	}
	p.waitLog(t, "1 sessions shut down", time.Second)
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
