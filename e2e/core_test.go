package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const defaults = `
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
`

// TestCheckSeedConfigs: tandem -c accepts each haproxy.cfg of the seeds (loopback addresses).
func TestCheckSeedConfigs(t *testing.T) {
	// What the seeds' users end up with (seed 001: CentOS's stock file with its example
	// frontend commented out by their sed, plus their frontend; seed 003: three variants;
	// seed 004: Debian-style). Addresses changed to loopback.
	seeds := []string{"seed-001.cfg", "seed-003.cfg", "seed-003-cookie-insert.cfg", "seed-003-cookie-prefix.cfg", "seed-004.cfg", "debian.cfg"}
	for _, s := range seeds {
		s = filepath.Join("../internal/config/haproxy/testdata", s)
		code, out, errOut := runTandem(t, "-c", "-f", s)
		if code != 0 || strings.TrimSpace(out) != "Configuration file is valid" {
			t.Errorf("%s: exit %d, stdout %q, stderr:\n%s", s, code, out, errOut)
		}
	}
}

// TestCheckReportsMisspelledKeyword: a typo is reported as FILE:LINE with a suggestion, exit 1.
func TestCheckReportsMisspelledKeyword(t *testing.T) {
	cfg := writeConfig(t, defaults+`
backend app
    balance roundrobin
    server s1 127.0.0.1:8000 wieght 3
    srever s2 127.0.0.1:8001
`)
	code, out, errOut := runTandem(t, "-c", "-f", cfg)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stdout %q", code, out)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(regexp.QuoteMeta(cfg) + `:10: .*"wieght".*did you mean "weight"`),
		regexp.MustCompile(regexp.QuoteMeta(cfg) + `:11: .*"srever".*did you mean "server"`),
	} {
		if !want.MatchString(errOut) {
			t.Errorf("stderr does not match %s:\n%s", want, errOut)
		}
	}
}

// TestRoundRobinAlternates: two servers, six requests: a b a b a b.
func TestRoundRobinAlternates(t *testing.T) {
	a, b := startWeb(t, "a"), startWeb(t, "b")
	bind := freeAddr(t)
	startTandem(t, proxyConfig(bind, "balance roundrobin", "server a "+a.addr, "server b "+b.addr), bind)
	c := client(true)
	var got []string
	for i := 0; i < 6; i++ {
		_, s := body(t, c, "http://"+bind+"/")
		got = append(got, s)
	}
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("round robin did not alternate: %v", got)
		}
	}
}

// TestWeightsThreeToOne: weights 3:1 give 300:100 over 400 requests.
func TestWeightsThreeToOne(t *testing.T) {
	a, b := startWeb(t, "a"), startWeb(t, "b")
	bind := freeAddr(t)
	startTandem(t, proxyConfig(bind, "balance roundrobin", "server a "+a.addr+" weight 3", "server b "+b.addr+" weight 1"), bind)
	c := client(true)
	for i := 0; i < 400; i++ {
		body(t, c, "http://"+bind+"/")
	}
	if a.hits.Load() != 300 || b.hits.Load() != 100 {
		t.Fatalf("hits a=%d b=%d, want 300:100", a.hits.Load(), b.hits.Load())
	}
}

// TestLeastConnPrefersIdle: while a slow request holds server a, new requests go to b.
func TestLeastConnPrefersIdle(t *testing.T) {
	a, b := startWeb(t, "a"), startWeb(t, "b")
	bind := freeAddr(t)
	startTandem(t, proxyConfig(bind, "balance leastconn", "server a "+a.addr, "server b "+b.addr), bind)
	c := client(false)
	done := make(chan string, 1)
	go func() { _, s := body(t, c, "http://"+bind+"/?sleep=1500"); done <- s }()
	// wait until one server holds the slow request
	for i := 0; i < 200 && a.inflight.Load()+b.inflight.Load() == 0; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	busy := "a"
	if b.inflight.Load() > 0 {
		busy = "b"
	}
	// One keep-alive connection for the quick requests: the proxy releases a request's
	// slot before it reads the next request on the same connection, so each one sees the
	// previous one's server idle again (with a new connection each, they could race).
	quick := client(true)
	for i := 0; i < 5; i++ {
		if _, s := body(t, quick, "http://"+bind+"/"); s == busy {
			t.Fatalf("request %d went to the busy server %s", i, busy)
		}
	}
	<-done
}

// TestSourceIsStablePerClient: balance source sends one client address to one server,
// and to the same one after a restart.
func TestSourceIsStablePerClient(t *testing.T) {
	a, b := startWeb(t, "a"), startWeb(t, "b")
	bind := freeAddr(t)
	cfg := proxyConfig(bind, "balance source", "server a "+a.addr, "server b "+b.addr)
	p := startTandem(t, cfg, bind)
	c := client(false)
	_, first := body(t, c, "http://"+bind+"/")
	for i := 0; i < 20; i++ {
		if _, s := body(t, c, "http://"+bind+"/"); s != first {
			t.Fatalf("request %d from the same client went to %s, first went to %s", i, s, first)
		}
	}
	p.stop(t)
	startTandem(t, cfg, bind)
	if _, s := body(t, c, "http://"+bind+"/"); s != first {
		t.Fatalf("after a restart the client went to %s, before to %s", s, first)
	}
}

// TestBackupOnlyWhenActivesDisabled: the backup serves nothing while an active server is
// usable, and everything when all actives are disabled.
func TestBackupOnlyWhenActivesDisabled(t *testing.T) {
	a, b, bk := startWeb(t, "a"), startWeb(t, "b"), startWeb(t, "backup")
	bind := freeAddr(t)
	startTandem(t, proxyConfig(bind, "server a "+a.addr, "server b "+b.addr, "server bk "+bk.addr+" backup"), bind)
	c := client(true)
	for i := 0; i < 10; i++ {
		if _, s := body(t, c, "http://"+bind+"/"); s == "backup" {
			t.Fatal("backup served while actives are up")
		}
	}
	bind2 := freeAddr(t)
	startTandem(t, proxyConfig(bind2, "server a "+a.addr+" disabled", "server b "+b.addr+" disabled", "server bk "+bk.addr+" backup"), bind2)
	for i := 0; i < 10; i++ {
		if _, s := body(t, c, "http://"+bind2+"/"); s != "backup" {
			t.Fatalf("request %d went to %q with every active disabled, want backup", i, s)
		}
	}
}

// TestServerMaxConnAndQueueTimeout: 50 concurrent clients never put more than maxconn
// requests on a server; requests that wait longer than timeout queue get 503.
func TestServerMaxConnAndQueueTimeout(t *testing.T) {
	a := startWeb(t, "a")
	bind := freeAddr(t)
	startTandem(t, `
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
    timeout queue 300ms
`+fmt.Sprintf(`
frontend fe
    bind %s
    default_backend app
backend app
    server a %s maxconn 5
`, bind, a.addr), bind)
	c := client(false)
	var ok, busy, other atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get("http://" + bind + "/?sleep=200")
			if err != nil {
				other.Add(1)
				return
			}
			resp.Body.Close()
			switch resp.StatusCode {
			case 200:
				ok.Add(1)
			case 503:
				busy.Add(1)
			default:
				other.Add(1)
			}
		}()
	}
	wg.Wait()
	if m := a.maxSeen.Load(); m > 5 {
		t.Fatalf("server saw %d concurrent requests, maxconn is 5", m)
	}
	if busy.Load() == 0 || ok.Load() < 5 || other.Load() != 0 {
		t.Fatalf("ok=%d 503=%d other=%d: want some served, the rest 503 after timeout queue, nothing else", ok.Load(), busy.Load(), other.Load())
	}
}

// TestReloadUnderLoadLosesNothing: SIGHUP that changes the server list while 4 clients
// send requests: no request fails, and the new server gets traffic.
func TestReloadUnderLoadLosesNothing(t *testing.T) {
	a, b, cc := startWeb(t, "a"), startWeb(t, "b"), startWeb(t, "c")
	bind := freeAddr(t)
	p := startTandem(t, proxyConfig(bind, "server a "+a.addr, "server b "+b.addr), bind)
	var failed, total atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(keep bool) {
			defer wg.Done()
			c := client(keep)
			for i := 0; i < 5000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				total.Add(1)
				resp, err := c.Get("http://" + bind + "/")
				if err != nil {
					failed.Add(1)
					t.Logf("request failed: %v", err)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
					t.Logf("status %d", resp.StatusCode)
				}
			}
		}(w%2 == 0)
	}
	time.Sleep(300 * time.Millisecond)
	os.WriteFile(p.cfg, []byte(proxyConfig(bind, "server b "+b.addr, "server c "+cc.addr)), 0o644)
	p.signal(syscall.SIGHUP)
	for i := 0; i < 300 && cc.hits.Load() == 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed across the reload", failed.Load(), total.Load())
	}
	if cc.hits.Load() == 0 {
		t.Fatalf("the server added by the reload got no request\n%s", p.stderr)
	}
}

// TestReloadBrokenFileKeepsServing: SIGHUP with a broken file logs each error with
// file:line and keeps serving the old configuration.
func TestReloadBrokenFileKeepsServing(t *testing.T) {
	a := startWeb(t, "a")
	bind := freeAddr(t)
	p := startTandem(t, proxyConfig(bind, "server a "+a.addr), bind)
	os.WriteFile(p.cfg, []byte(proxyConfig(bind, "srever a "+a.addr, "balance nosuchalgo")), 0o644)
	p.signal(syscall.SIGHUP)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.stderr.String(), "haproxy.cfg:12:") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	log := p.stderr.String()
	for _, want := range []string{"haproxy.cfg:12:", "haproxy.cfg:13:"} {
		if !strings.Contains(log, want) {
			t.Errorf("log does not name %s:\n%s", want, log)
		}
	}
	if code, s := body(t, client(false), "http://"+bind+"/"); code != 200 || s != "a" {
		t.Fatalf("after a refused reload: %d %q, want 200 a", code, s)
	}
}

// TestSIGTERMLetsInFlightFinish: a request in flight when SIGTERM arrives completes; the
// process exits 0.
func TestSIGTERMLetsInFlightFinish(t *testing.T) {
	a := startWeb(t, "a")
	bind := freeAddr(t)
	p := startTandem(t, proxyConfig(bind, "server a "+a.addr), bind)
	type result struct {
		code int
		body string
	}
	res := make(chan result, 1)
	go func() {
		resp, err := client(false).Get("http://" + bind + "/?sleep=800")
		if err != nil {
			res <- result{0, err.Error()}
			return
		}
		defer resp.Body.Close()
		buf := make([]byte, 64)
		n, _ := resp.Body.Read(buf)
		res <- result{resp.StatusCode, string(buf[:n])}
	}()
	for i := 0; i < 200 && a.inflight.Load() == 0; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	p.signal(syscall.SIGTERM)
	r := <-res
	if r.code != http.StatusOK || r.body != "a" {
		t.Fatalf("in-flight request got %d %q, want 200 a", r.code, r.body)
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatal("tandem did not exit after SIGTERM")
	}
	if p.cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("exit code %d, want 0\n%s", p.cmd.ProcessState.ExitCode(), p.stderr)
	}
}
