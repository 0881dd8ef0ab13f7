package e2e

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCookieInsertIndirectNocache follows seed 003: `cookie SERVERUSED insert indirect
// nocache`. The first response sets SERVERUSED; a cacheable one (Last-Modified) also
// gets Cache-Control: private, as HAProxy 2.6 does; the next 20 requests carrying the
// cookie stick to that server, which never sees it.
func TestCookieInsertIndirectNocache(t *testing.T) {
	a, b := startWeb(t, "server1"), startWeb(t, "server2")
	bind := freeAddr(t)
	startTandem(t, defaults+fmt.Sprintf(`
frontend fe
    bind %s
    default_backend web_servers
backend web_servers
    balance roundrobin
    cookie SERVERUSED insert indirect nocache
    server server1 %s cookie server1
    server server2 %s cookie server2
`, bind, a.addr, b.addr), bind)
	c := client(false)
	resp, err := c.Get("http://" + bind + "/")
	if err != nil {
		t.Fatal(err)
	}
	first, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sc := resp.Header.Get("Set-Cookie")
	if !strings.HasPrefix(sc, "SERVERUSED="+string(first)) {
		t.Fatalf("Set-Cookie %q, want SERVERUSED=%s", sc, first)
	}
	resp, err = c.Get("http://" + bind + "/cacheable")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Set-Cookie"), "SERVERUSED=") {
		t.Fatalf("cacheable response: Set-Cookie %q, want SERVERUSED", resp.Header.Get("Set-Cookie"))
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "private") {
		t.Fatalf("Cache-Control %q on a cacheable response with an inserted cookie, want private (nocache)", cc)
	}
	for i := 0; i < 20; i++ {
		req, _ := http.NewRequest("GET", "http://"+bind+"/", nil)
		req.Header.Set("Cookie", "SERVERUSED="+string(first)+"; other=1")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != string(first) {
			t.Fatalf("request %d with the cookie went to %s, want %s", i, got, first)
		}
		if resp.Header.Get("Set-Cookie") != "" {
			t.Fatalf("request %d: cookie inserted again although the client sent a valid one", i)
		}
	}
	for _, w := range []*web{a, b} {
		for _, ck := range w.seenCookies() {
			if strings.Contains(ck, "SERVERUSED") {
				t.Fatalf("server %s saw the SERVERUSED cookie (%q): indirect must remove it", w.name, ck)
			}
		}
	}
}

// TestCookiePrefixJSESSIONID follows seed 003: `cookie JSESSIONID prefix indirect nocache`.
// The server sets JSESSIONID=abc123; the client gets server1~abc123 and, sending it back,
// reaches server1, which sees abc123.
func TestCookiePrefixJSESSIONID(t *testing.T) {
	a, b := startWeb(t, "server1"), startWeb(t, "server2")
	bind := freeAddr(t)
	startTandem(t, defaults+fmt.Sprintf(`
frontend fe
    bind %s
    default_backend web_servers
backend web_servers
    balance roundrobin
    cookie JSESSIONID prefix indirect nocache
    server server1 %s cookie server1
    server server2 %s cookie server2
`, bind, a.addr, b.addr), bind)
	c := client(false)
	resp, err := c.Get("http://" + bind + "/session")
	if err != nil {
		t.Fatal(err)
	}
	who, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sc := resp.Header.Get("Set-Cookie")
	if !strings.HasPrefix(sc, "JSESSIONID="+string(who)+"~abc123") {
		t.Fatalf("Set-Cookie %q, want JSESSIONID=%s~abc123", sc, who)
	}
	target := a
	if string(who) == "server2" {
		target = b
	}
	before := len(target.seenCookies())
	for i := 0; i < 20; i++ {
		req, _ := http.NewRequest("GET", "http://"+bind+"/", nil)
		req.Header.Set("Cookie", "JSESSIONID="+string(who)+"~abc123")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != string(who) {
			t.Fatalf("request %d went to %s, want %s", i, got, who)
		}
	}
	for _, ck := range target.seenCookies()[before:] {
		if ck != "JSESSIONID=abc123" {
			t.Fatalf("server saw Cookie %q, want JSESSIONID=abc123 (prefix removed)", ck)
		}
	}
}

// TestLargeBodiesIntactRSSFlat: a 100 MB upload and a 100 MB download pass intact through
// HTTP and TCP modes while tandem's RSS stays flat (bodies stream, never buffered whole).
func TestLargeBodiesIntactRSSFlat(t *testing.T) {
	const size = 100 << 20
	a := startWeb(t, "a")
	httpBind, tcpBind := freeAddr(t), freeAddr(t)
	p := startTandem(t, fmt.Sprintf(`
defaults
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend web
    mode http
    bind %s
    default_backend app
frontend raw
    mode tcp
    bind %s
    default_backend rawapp
backend app
    mode http
    server a %s
backend rawapp
    mode tcp
    server a %s
`, httpBind, tcpBind, a.addr, a.addr), httpBind)
	base := p.rss(t)
	want := sha256.New()
	io.Copy(want, io.LimitReader(pattern{}, size))
	wantHex := hex.EncodeToString(want.Sum(nil))
	for _, bind := range []string{httpBind, tcpBind} {
		c := client(false)
		resp, err := c.Post("http://"+bind+"/upload", "application/octet-stream", io.LimitReader(pattern{}, size))
		if err != nil {
			t.Fatalf("upload via %s: %v", bind, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != fmt.Sprintf("%d %s", size, wantHex) {
			t.Fatalf("upload via %s: server saw %q, want %d bytes with sha256 %s", bind, got, size, wantHex)
		}
		resp, err = c.Get(fmt.Sprintf("http://%s/download?n=%d", bind, size))
		if err != nil {
			t.Fatalf("download via %s: %v", bind, err)
		}
		h := sha256.New()
		n, err := io.Copy(h, resp.Body)
		resp.Body.Close()
		if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != wantHex {
			t.Fatalf("download via %s: %d bytes (err %v), digest match %v", bind, n, err, hex.EncodeToString(h.Sum(nil)) == wantHex)
		}
	}
	if grew := p.rss(t) - base; grew > 32<<10 {
		t.Fatalf("RSS grew by %d KiB moving 400 MB: bodies are being buffered", grew)
	}
}

// TestDemoRoundRobinAndCookie runs `tandem demo` and checks what its banner tells people
// to try: round robin over web1 and web2, and the SERVERUSED cookie.
func TestDemoRoundRobinAndCookie(t *testing.T) {
	bind := freeAddr(t)
	cmd := exec.Command(tandemBin, "demo", "-bind", bind)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(interruptSignal)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	}()
	banner := bufio.NewScanner(out)
	if !banner.Scan() || !strings.Contains(banner.Text(), "tandem demo") {
		t.Fatalf("demo banner: %q\n%s", banner.Text(), stderr.String())
	}
	go io.Copy(io.Discard, out)
	for i := 0; i < 500; i++ {
		if c, err := net.Dial("tcp", bind); err == nil {
			c.Close()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	c := client(false)
	seen := map[string]int{}
	for i := 0; i < 4; i++ {
		_, s := body(t, c, "http://"+bind+"/")
		seen[s]++
	}
	if seen[`{"message": "Hello from web1"}`] != 2 || seen[`{"message": "Hello from web2"}`] != 2 {
		t.Fatalf("4 demo requests gave %v, want web1 and web2 twice each", seen)
	}
	resp, err := c.Get("http://" + bind + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Set-Cookie"), "SERVERUSED=web") {
		t.Fatalf("demo response Set-Cookie %q, want SERVERUSED=web…", resp.Header.Get("Set-Cookie"))
	}
}

// TestCookieMaxIdleMaxLife: with `cookie SERVERUSED insert indirect maxidle 1h maxlife 1d`,
// inserted cookies carry their dates; a fresh one sticks, an undated one sticks and gets
// dated, an expired one is ignored (balanced again, a new cookie inserted).
func TestCookieMaxIdleMaxLife(t *testing.T) {
	a, b := startWeb(t, "s1"), startWeb(t, "s2")
	bind := freeAddr(t)
	startTandem(t, proxyConfig(bind, "balance roundrobin", "cookie SERVERUSED insert indirect maxidle 1h maxlife 1d", "server s1 "+a.addr+" cookie s1", "server s2 "+b.addr+" cookie s2"), bind)
	c := client(false)
	get := func(cookie string) (string, string) {
		req, _ := http.NewRequest("GET", "http://"+bind+"/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body), resp.Header.Get("Set-Cookie")
	}
	now := time.Now().Unix()
	who, sc := get("")
	if !regexp.MustCompile(`^SERVERUSED=` + who + `\|\d+\|\d+; path=/`).MatchString(sc) {
		t.Fatalf("first response: Set-Cookie %q, want SERVERUSED=%s|LAST|FIRST", sc, who)
	}
	fresh := fmt.Sprintf("SERVERUSED=%s|%d|%d", who, now, now-60)
	for i := 0; i < 5; i++ {
		if got, sc := get(fresh); got != who || sc != "" {
			t.Fatalf("fresh cookie: went to %s (want %s), Set-Cookie %q (want none)", got, who, sc)
		}
	}
	if got, sc := get("SERVERUSED=" + who); got != who || !strings.HasPrefix(sc, "SERVERUSED="+who+"|") {
		t.Fatalf("undated cookie: went to %s (want %s), Set-Cookie %q (want dates added)", got, who, sc)
	}
	expired := fmt.Sprintf("SERVERUSED=%s|%d|%d", who, now-7200, now-7200)
	for _, ck := range []string{expired, fmt.Sprintf("SERVERUSED=%s|%d|%d", who, now, now-2*86400)} {
		if _, sc := get(ck); !strings.HasPrefix(sc, "SERVERUSED=") {
			t.Fatalf("expired cookie %q was honoured: no new cookie inserted", ck)
		}
	}
}

// TestDemoHTTPS runs `tandem demo` and checks its HTTPS side as the banner and the
// README describe it: TLS on -https-bind with an ECDSA P-256 certificate, /secure on
// HTTP redirected there (301), and the server told X-Forwarded-Proto https.
func TestDemoHTTPS(t *testing.T) {
	bind, httpsBind := freeAddr(t), freeAddr(t)
	cmd := exec.Command(tandemBin, "demo", "-bind", bind, "-https-bind", httpsBind)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(interruptSignal)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	}()
	c, err := waitConn(httpsBind)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, stderr.String())
	}
	c.Close()
	if !strings.Contains(stdout.String(), "https://"+httpsBind) {
		t.Errorf("the banner does not name https://%s:\n%s", httpsBind, stdout.String())
	}
	tc, err := tls.Dial("tcp", httpsBind, &tls.Config{ServerName: "localhost", InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	leaf := tc.ConnectionState().PeerCertificates[0]
	tc.Close()
	if k, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve.Params().Name != "P-256" {
		t.Errorf("demo certificate key %T, want ECDSA P-256", leaf.PublicKey)
	}
	noFollow := &http.Client{Timeout: 5 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get("http://" + bind + "/secure")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "https://"+httpsBind+"/secure" {
		t.Errorf("http /secure: %d %q, want 301 to https://%s/secure", resp.StatusCode, resp.Header.Get("Location"), httpsBind)
	}
	follow := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	_, s := body(t, follow, "http://"+bind+"/secure")
	if !strings.Contains(s, `"X-Forwarded-Proto": "https"`) || !strings.Contains(s, "Secure page from web") {
		t.Errorf("followed /secure: %q", s)
	}
	_, s = body(t, follow, "https://"+httpsBind+"/")
	if !strings.Contains(s, "Hello from web") {
		t.Errorf("https /: %q", s)
	}
	resp, err = noFollow.Get("http://" + bind + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("http / is %d: only /secure is redirected", resp.StatusCode)
	}
}
