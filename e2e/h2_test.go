package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"tandem/internal/certgen"
)

// h2Setup runs tandem with a TLS bind that offers h2 by ALPN and a cleartext
// prior-knowledge bind (proto h2), both to an HTTP/1 web server, logging to syslog.
func h2Setup(t *testing.T) (tlsAddr, h2cAddr string, sl *syslogListener, p *proc) {
	return h2SetupTo(t, startWeb(t, "w1").addr)
}

// h2SetupTo is h2Setup to the server at backend.
func h2SetupTo(t *testing.T, backend string) (tlsAddr, h2cAddr string, sl *syslogListener, p *proc) {
	t.Helper()
	dir := t.TempDir()
	certFiles(t, dir, map[string]certgen.Spec{"site.pem": {CN: "site.test", DNSNames: []string{"site.test"}}})
	sl = startSyslog(t)
	tlsAddr, h2cAddr = freeAddr(t), freeAddr(t)
	cfg := fmt.Sprintf(`global
    log 127.0.0.1:%d local0
defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind %s ssl crt %s alpn h2,http/1.1
    bind %s proto h2
    http-request deny if { path /denied }
    default_backend be
backend be
    server s1 %s
`, sl.port(), tlsAddr, filepath.Join(dir, "site.pem"), h2cAddr, backend)
	p = startTandem(t, cfg, tlsAddr)
	return
}

func h2Client(tlsConn bool) *http.Client {
	var p http.Protocols
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "site.test"}}
	if tlsConn {
		p.SetHTTP2(true)
	} else {
		p.SetUnencryptedHTTP2(true)
	}
	tr.Protocols = &p
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

func curl(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "curl", append([]string{"-sS", "-k"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("curl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestH2CurlThroughTandem: curl --http2 over TLS (ALPN) and --http2-prior-knowledge
// over h2c reach an HTTP/1 server; the frontend's rules apply; the log shows the
// request as HAProxy logs HTTP/2 ("GET https://host/path HTTP/2.0").
func TestH2CurlThroughTandem(t *testing.T) {
	tlsAddr, h2cAddr, sl, _ := h2Setup(t)
	_, tlsPort, _ := net.SplitHostPort(tlsAddr)
	out := curl(t, "--http2", "-w", " %{http_version} %{http_code}", "--resolve", "site.test:"+tlsPort+":127.0.0.1", "https://site.test:"+tlsPort+"/hello")
	if out != "w1 2 200" {
		t.Fatalf("curl --http2 over TLS: %q, want \"w1 2 200\"", out)
	}
	out = curl(t, "--http2-prior-knowledge", "-w", " %{http_version} %{http_code}", "http://"+h2cAddr+"/x?y=1")
	if out != "w1 2 200" {
		t.Fatalf("curl --http2-prior-knowledge: %q, want \"w1 2 200\"", out)
	}
	out = curl(t, "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", "http://"+h2cAddr+"/denied")
	if out != "2 403" {
		t.Fatalf("http-request deny over h2: %q, want \"2 403\"", out)
	}
	// a client that does not offer h2 still gets HTTP/1.1 on the TLS bind
	out = curl(t, "--http1.1", "-w", " %{http_version}", "--resolve", "site.test:"+tlsPort+":127.0.0.1", "https://site.test:"+tlsPort+"/")
	if out != "w1 1.1" {
		t.Fatalf("curl --http1.1 over TLS: %q", out)
	}
	lines, _ := sl.collect(t, "<134>", 5, 5*time.Second) // and the start probe's handshake
	all := strings.Join(lines, "\n")
	for _, want := range []string{
		`"GET https://site.test:` + tlsPort + `/hello HTTP/2.0"`,
		`"GET http://` + h2cAddr + `/x?y=1 HTTP/2.0"`,
		`fe fe/<NOSRV> `, // no "~": h2c is not TLS
		` 403 `,
		`"GET / HTTP/1.1"`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("log lacks %s:\n%s", want, all)
		}
	}
}

// TestH2TenMegabytesBothWays: a 10 MB download and a 10 MB upload pass intact over h2
// (TLS and h2c), through flow control on both sides.
func TestH2TenMegabytesBothWays(t *testing.T) {
	tlsAddr, h2cAddr, _, _ := h2Setup(t)
	const n = 10 << 20
	h := sha256.New()
	io.Copy(h, io.LimitReader(pattern{}, n))
	want := hex.EncodeToString(h.Sum(nil))
	for _, tc := range []struct {
		name, url string
		tls       bool
	}{{"tls", "https://" + tlsAddr, true}, {"h2c", "http://" + h2cAddr, false}} {
		c := h2Client(tc.tls)
		resp, err := c.Get(fmt.Sprintf("%s/download?n=%d", tc.url, n))
		if err != nil {
			t.Fatalf("%s download: %v", tc.name, err)
		}
		h := sha256.New()
		got, err := io.Copy(h, resp.Body)
		resp.Body.Close()
		if err != nil || got != n || hex.EncodeToString(h.Sum(nil)) != want || resp.ProtoMajor != 2 {
			t.Fatalf("%s download: %d bytes, err %v, proto %s", tc.name, got, err, resp.Proto)
		}
		resp, err = c.Post(tc.url+"/upload", "application/octet-stream", io.LimitReader(pattern{}, n))
		if err != nil {
			t.Fatalf("%s upload: %v", tc.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != fmt.Sprintf("%d %s", n, want) {
			t.Fatalf("%s upload: server saw %q", tc.name, b)
		}
	}
}

// h2specPath finds h2spec (scripts/test installs it).
func h2specPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("h2spec"); err == nil {
		return p
	}
	gopath, _ := exec.Command("go", "env", "GOPATH").Output()
	p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "h2spec")
	if _, err := exec.LookPath(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but h2spec is not installed: scripts/test installs it")
		}
		t.Skip("h2spec not installed (scripts/test installs it)")
	}
	return p
}

// TestH2Spec runs h2spec's 145 conformance tests against tandem over TLS (ALPN h2) and
// h2c (proto h2): every one must pass, as with HAProxy 2.6.12.
func TestH2Spec(t *testing.T) {
	bin := h2specPath(t)
	// h2spec's flow-control tests need a response body of some length
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	page := strings.Repeat("0123456789abcdef", 64)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, page)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	tlsAddr, h2cAddr, _, _ := h2SetupTo(t, ln.Addr().String())
	for _, tc := range []struct {
		name string
		addr string
		tls  bool
	}{{"h2c", h2cAddr, false}, {"tls", tlsAddr, true}} {
		host, port, _ := net.SplitHostPort(tc.addr)
		args := []string{"-h", host, "-p", port, "-o", "3"}
		if tc.tls {
			args = append(args, "-t", "-k")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
		cancel()
		s := string(out)
		if err != nil || !strings.Contains(s, "145 tests, 145 passed, 0 skipped, 0 failed") {
			i := strings.Index(s, "Failures:")
			if i < 0 {
				i = 0
			}
			t.Fatalf("h2spec over %s: %v\n%s", tc.name, err, s[i:])
		}
	}
}

// TestH2StopSendsGoAwayAndFinishesStreams: SIGTERM while 50 streams of one HTTP/2
// connection wait for a slow server: tandem sends GOAWAY, opens no new stream, and
// every stream already open gets its whole response (none is reset).
func TestH2StopSendsGoAwayAndFinishesStreams(t *testing.T) {
	_, h2cAddr, _, p := h2Setup(t)
	c := h2Client(false)
	if code, _ := body(t, c, "http://"+h2cAddr+"/warm"); code != 200 { // one connection, reused
		t.Fatalf("warm-up: %d", code)
	}
	const n = 50
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			resp, err := c.Get("http://" + h2cAddr + "/slow?sleep=700")
			if err != nil {
				errs <- err
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || string(b) != "w1" || resp.ProtoMajor != 2 {
				errs <- fmt.Errorf("status %d body %q err %v proto %s", resp.StatusCode, b, err, resp.Proto)
				return
			}
			errs <- nil
		}()
	}
	// a second, idle connection watches for the GOAWAY
	raw, err := net.Dial("tcp", h2cAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.Write([]byte(http2.ClientPreface))
	fr := http2.NewFramer(raw, raw)
	fr.WriteSettings()
	goAway := make(chan http2.ErrCode, 1)
	go func() {
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if g, ok := f.(*http2.GoAwayFrame); ok {
				goAway <- g.ErrCode
				return
			}
		}
	}()
	time.Sleep(300 * time.Millisecond) // the streams are open and waiting for the server
	p.signal(syscall.SIGTERM)
	select {
	case code := <-goAway:
		if code != http2.ErrCodeNo {
			t.Fatalf("GOAWAY %v, want NO_ERROR", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no GOAWAY on stop")
	}
	for i := 0; i < n; i++ {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatalf("stream %d: %v", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d streams finished", i, n)
		}
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("tandem did not exit after its streams finished")
	}
}

// TestH2CountsConnectionsAsSessionsAndStreamsAsRequests: three requests on one HTTP/2
// connection are one session and three requests in show stat, as HAProxy counts them.
func TestH2CountsConnectionsAsSessionsAndStreamsAsRequests(t *testing.T) {
	web := startWeb(t, "w1")
	addr := freeAddr(t)
	sock := filepath.Join(t.TempDir(), "admin.sock")
	startTandem(t, fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind %s proto h2
    default_backend be
backend be
    server s1 %s
`, sock, addr, web.addr), addr)
	before := statCells(t, ask(t, sock, "show stat"), "fe", "FRONTEND")
	c := h2Client(false)
	for i := 0; i < 3; i++ {
		if code, _ := body(t, c, "http://"+addr+"/"); code != 200 {
			t.Fatalf("request %d: %d", i, code)
		}
	}
	c.CloseIdleConnections()
	after := statCells(t, ask(t, sock, "show stat"), "fe", "FRONTEND")
	delta := func(k string) int {
		a, _ := strconv.Atoi(after[k])
		b, _ := strconv.Atoi(before[k])
		return a - b
	}
	if delta("stot") != 1 || delta("req_tot") != 3 {
		t.Fatalf("stot +%d, req_tot +%d; want +1 session, +3 requests", delta("stot"), delta("req_tot"))
	}
}

// TestH2ExpectContinue: a client that sends "expect: 100-continue" over HTTP/2 gets the
// interim 100 (translated from the engine's HTTP/1 "100 Continue") and its body arrives.
func TestH2ExpectContinue(t *testing.T) {
	_, h2cAddr, _, _ := h2Setup(t)
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{Protocols: &p, ExpectContinueTimeout: 10 * time.Second}}
	const n = 1 << 20
	req, _ := http.NewRequest("POST", "http://"+h2cAddr+"/upload", io.LimitReader(pattern{}, n))
	req.ContentLength = n
	req.Header.Set("Expect", "100-continue")
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	h := sha256.New()
	io.Copy(h, io.LimitReader(pattern{}, n))
	if string(b) != fmt.Sprintf("%d %s", n, hex.EncodeToString(h.Sum(nil))) {
		t.Fatalf("server saw %q", b)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v: the body waited for the expect timeout, no 100 came", d)
	}
}

// TestH2ConnectionRulesRunOncePerConnection: over HTTP/2 the tcp-request connection rules
// run once for the connection, not once per stream, as in Debian's haproxy: three
// requests over one h2c connection see one connection and one session tracked (tandem
// counted a connection per stream). Both proxies run the same file.
func TestH2ConnectionRulesRunOncePerConnection(t *testing.T) {
	web := echoWeb(t, "w")
	conf := func(sock, bind string) string {
		return fmt.Sprintf(`global
    stats socket %s mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind %s proto h2
    stick-table type ip size 10 expire 30s store conn_cnt,conn_cur,sess_cnt,http_req_cnt
    tcp-request connection track-sc0 src
    http-response set-header X-Track "conn=%%[sc0_conn_cnt] cur=%%[sc0_conn_cur] sess=%%[sc0_sess_cnt]"
    default_backend be
backend be
    server w %s
`, sock, bind, web)
	}
	dir := t.TempDir()
	hs, ts := filepath.Join(dir, "h.sock"), filepath.Join(dir, "t.sock")
	ha, ta := freeAddr(t), freeAddr(t)
	startHAProxy(t, conf(hs, ha), hs)
	startTandem(t, conf(ts, ta), ta)
	// startTandem's readiness probe was a connection of this source: haproxy gets one too.
	if c, err := net.DialTimeout("tcp", ha, 2*time.Second); err == nil {
		c.Close()
	}
	time.Sleep(50 * time.Millisecond)
	got := map[string][]string{}
	for _, name := range []string{"haproxy", "tandem"} {
		addr := map[string]string{"haproxy": ha, "tandem": ta}[name]
		// One client, three requests in turn: they share one h2c connection.
		c := h2Client(false)
		for _, path := range []string{"/a", "/b", "/c"} {
			resp, err := c.Get("http://" + addr + path)
			if err != nil {
				t.Fatalf("%s %s: %v", name, path, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			got[name] = append(got[name], resp.Header.Get("X-Track"))
		}
		c.CloseIdleConnections()
	}
	// Every stream sees the same, single connection tracked.
	if h := got["haproxy"]; len(h) != 3 || h[0] != h[1] || h[1] != h[2] {
		t.Fatalf("haproxy: %q, want one value for the three streams", h)
	}
	if strings.Join(got["tandem"], "|") != strings.Join(got["haproxy"], "|") {
		t.Errorf("tandem %q, haproxy %q", got["tandem"], got["haproxy"])
	}
}
