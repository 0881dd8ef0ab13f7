package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tandem/internal/certgen"
)

// certFiles writes made certificates to dir; name → spec. A name ending in "+key"
// writes the key to a sibling NAME.key instead of the PEM file.
func certFiles(t *testing.T, dir string, specs map[string]certgen.Spec) map[string]*certgen.Cert {
	t.Helper()
	out := map[string]*certgen.Cert{}
	for name, spec := range specs {
		c, err := certgen.New(spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		sep, path := false, filepath.Join(dir, strings.TrimSuffix(name, "+key"))
		if strings.HasSuffix(name, "+key") {
			sep = true
		}
		os.MkdirAll(filepath.Dir(path), 0o700)
		data := c.PEM()
		if sep {
			data = c.CertPEM
			if err := os.WriteFile(path+".key", c.KeyPEM, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(name, "+key")] = c
	}
	return out
}

func fp(der []byte) string { s := sha256.Sum256(der); return hex.EncodeToString(s[:8]) }

// goHandshake returns the fingerprint of the certificate served to Go's client for sni
// ("" : no SNI), or "refused".
func goHandshake(addr, sni string, maxVersion uint16) string {
	d := &net.Dialer{Timeout: 3 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true, MaxVersion: maxVersion})
	if err != nil {
		return "refused"
	}
	defer c.Close()
	cs := c.ConnectionState()
	if len(cs.SignedCertificateTimestamps) > 0 { // stapled from a .sctl file
		return fmt.Sprintf("%s+%d sct", fp(cs.PeerCertificates[0].Raw), len(cs.SignedCertificateTimestamps))
	}
	return fp(cs.PeerCertificates[0].Raw)
}

// rsaOnlyHandshake is a client that accepts RSA signatures only (openssl s_client).
func rsaOnlyHandshake(t *testing.T, addr, sni string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args := []string{"s_client", "-connect", addr, "-sigalgs", "rsa_pss_rsae_sha256:rsa_pkcs1_sha256"}
	if sni == "" {
		args = append(args, "-noservername")
	} else {
		args = append(args, "-servername", sni)
	}
	cmd := exec.CommandContext(ctx, "openssl", args...)
	cmd.Stdin = strings.NewReader("")
	out, _ := cmd.Output()
	blk, _ := pem.Decode(out)
	if blk == nil {
		return "refused"
	}
	return fp(blk.Bytes)
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// TestTLSCertificateSelectionMatchesHAProxy serves the same crt directory and crt-list
// from Debian's haproxy and from tandem, and compares the certificate each serves for
// SNI values (exact, case, wildcard, none, unknown, crt-list filters and exclusions,
// ECDSA and RSA clients), and which hellos strict-sni refuses.
func TestTLSCertificateSelectionMatchesHAProxy(t *testing.T) {
	hap := needTool(t, "haproxy")
	needTool(t, "openssl")
	dir := t.TempDir()
	ec, rsa := certgen.ECDSA, certgen.RSA
	certs := certFiles(t, dir, map[string]certgen.Spec{
		"certs/00-default.pem":        {CN: "default.test", Key: ec},
		"certs/10-www-ec.pem":         {CN: "www.example.com", DNSNames: []string{"www.example.com", "example.com"}, Key: ec},
		"certs/11-www-rsa.pem":        {CN: "www.example.com", DNSNames: []string{"www.example.com", "example.com"}, Key: rsa},
		"certs/20-wild-ec.pem":        {CN: "wild-ec", DNSNames: []string{"*.example.com"}, Key: ec},
		"certs/21-wild-rsa.pem":       {CN: "wild-rsa", DNSNames: []string{"*.example.com"}, Key: rsa},
		"certs/30-old.pem+key":        {CN: "old.test", Key: rsa},
		"certs/31-rsaexact.pem":       {CN: "rsaexact.example.com", Key: rsa},
		"certs/40-cn-and-san.pem":     {CN: "cnonly.test", DNSNames: []string{"other.test"}, Key: ec},
		"certs/50-dup.pem":            {CN: "www.example.com", Key: ec},
		"list/wild-domain.pem":        {CN: "wild-domain", Key: ec},
		"list/secure.pem":             {CN: "secure.domain.tld", Key: rsa},
		"list/filtered.pem":           {CN: "filtered-cn.test", Key: ec},
		"list/neg.pem":                {CN: "neg.test", Key: ec},
		"list/upper.pem":              {CN: "Upper.Test", Key: ec},
		"list/rsa-for-ecdsa-name.pem": {CN: "mixed.test", Key: rsa},
	})
	// Files a crt directory skips.
	os.WriteFile(filepath.Join(dir, "certs/.hidden"), []byte("not a certificate"), 0o600)
	os.WriteFile(filepath.Join(dir, "certs/10-www-ec.pem.sctl"), []byte{0, 6, 0, 4, 0xde, 0xad, 0xbe, 0xef}, 0o600)
	os.WriteFile(filepath.Join(dir, "certs/10-www-ec.pem.issuer"), certs["certs/00-default.pem"].CertPEM, 0o600)
	list := filepath.Join(dir, "list.txt")
	os.WriteFile(list, []byte(fmt.Sprintf(`# a crt-list
%[1]s/list/wild-domain.pem [ssl-min-ver TLSv1.2] *.domain.tld !secure.domain.tld
%[1]s/list/secure.pem secure.domain.tld

%[1]s/list/filtered.pem only.test
%[1]s/list/neg.pem !*
%[1]s/list/upper.pem
%[1]s/list/rsa-for-ecdsa-name.pem mixed.test www.example.com
`, dir)), 0o600)
	web := startWeb(t, "a")
	cfg := func(plain, strict string) string {
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind %s ssl crt %s/certs crt-list %s
    bind %s ssl strict-sni crt %s/certs crt-list %s
    default_backend app
backend app
    server a %s
`, plain, dir, list, strict, dir, list, web.addr)
	}
	run := func(plain, strict string) map[string]string {
		got := map[string]string{}
		snis := []string{"www.example.com", "WWW.Example.COM", "example.com", "api.example.com", "a.b.example.com",
			"old.test", "default.test", "cnonly.test", "other.test", "rsaexact.example.com", "x.domain.tld",
			"secure.domain.tld", "domain.tld", "only.test", "filtered-cn.test", "neg.test", "upper.test",
			"mixed.test", "unknown.test", "localhost", ""}
		for _, sni := range snis {
			got["go "+sni] = goHandshake(plain, sni, 0)
			got["strict "+sni] = goHandshake(strict, sni, 0)
		}
		for _, sni := range []string{"www.example.com", "api.example.com", "x.domain.tld", ""} {
			got["tls1.2 "+sni] = goHandshake(plain, sni, tls.VersionTLS12)
		}
		for _, sni := range []string{"www.example.com", "api.example.com", "old.test", "rsaexact.example.com", "x.domain.tld", "mixed.test", "cnonly.test", ""} {
			got["rsa-only "+sni] = rsaOnlyHandshake(t, plain, sni)
		}
		return got
	}
	hp, hs := freeAddr(t), freeAddr(t)
	path := writeConfig(t, cfg(hp, hs))
	cmd := exec.Command(hap, "-db", "-f", path)
	var herr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &herr, &herr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitListenOr(t, hs, &herr)
	want := run(hp, hs)
	cmd.Process.Kill()
	cmd.Wait()

	tp, ts := freeAddr(t), freeAddr(t)
	startTandem(t, cfg(tp, ts), ts)
	got := run(tp, ts)

	names := map[string]string{"refused": "refused"}
	for n, c := range certs {
		names[fp(c.DER)] = n
		names[fp(c.DER)+"+1 sct"] = n + " with its SCT"
	}
	refusals := 0
	for k, w := range want {
		if w == "refused" {
			refusals++
		}
		if got[k] != w {
			t.Errorf("%-28q haproxy served %s, tandem %s", k, names[w], names[got[k]])
		}
	}
	if refusals == 0 || refusals == len(want) {
		t.Errorf("haproxy refused %d of %d hellos: the test does not exercise strict-sni\n%s", refusals, len(want), herr.String())
	}
}

// TestTLSTermination: a TLS bind serves HTTP (mode http) and forwards the clear stream
// (mode tcp), to curl, openssl s_client and Go's client, keep-alive included.
func TestTLSTermination(t *testing.T) {
	needTool(t, "curl")
	dir := t.TempDir()
	certFiles(t, dir, map[string]certgen.Spec{"site.pem": {CN: "site.test", DNSNames: []string{"site.test"}}})
	web := startWeb(t, "w1")
	httpAddr, tcpAddr := freeAddr(t), freeAddr(t)
	cfg := fmt.Sprintf(`defaults
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend https
    mode http
    bind %s ssl crt %s/site.pem alpn http/1.1
    default_backend app
frontend tls-tcp
    mode tcp
    bind %s ssl crt %s/site.pem
    default_backend app-tcp
backend app
    mode http
    server w1 %s
backend app-tcp
    mode tcp
    server w1 %s
`, httpAddr, dir, tcpAddr, dir, web.addr, web.addr)
	startTandem(t, cfg, tcpAddr)
	_, port, _ := net.SplitHostPort(httpAddr)
	out, err := exec.Command("curl", "-sk", "--max-time", "5", "--resolve", "site.test:"+port+":127.0.0.1",
		"-w", " %{http_code} %{ssl_verify_result} %{http_version}", "https://site.test:"+port+"/").CombinedOutput()
	if err != nil || !strings.HasSuffix(string(out), " 200 18 1.1") { // 18: self-signed, accepted with -k
		t.Errorf("curl: %v %q", err, out)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "site.test", NextProtos: []string{"http/1.1"}}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for i, addr := range []string{httpAddr, httpAddr, httpAddr, tcpAddr} {
		resp, err := c.Get("https://" + addr + "/")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.PeerCertificates[0].Subject.CommonName != "site.test" {
			t.Errorf("request %d to %s: %d %q", i, addr, resp.StatusCode, b)
		}
		if addr == httpAddr && resp.TLS.NegotiatedProtocol != "http/1.1" {
			t.Errorf("alpn %q", resp.TLS.NegotiatedProtocol)
		}
	}
	if n := web.hits.Load(); n != 5 {
		t.Errorf("web server saw %d requests, want 5 (curl's and 4)", n)
	}
	if _, err := exec.LookPath("openssl"); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "openssl", "s_client", "-connect", httpAddr, "-servername", "site.test", "-quiet")
		cmd.Stdin = strings.NewReader("GET / HTTP/1.0\r\nHost: site.test\r\n\r\n")
		out, _ := cmd.Output()
		if !strings.HasPrefix(string(out), "HTTP/1.0 200") || !strings.HasSuffix(string(out), "w1") {
			t.Errorf("openssl s_client: %q", out)
		}
	}
	// Plain HTTP to the TLS port is not served.
	pc, err := net.DialTimeout("tcp", httpAddr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	pc.SetDeadline(time.Now().Add(3 * time.Second))
	io.WriteString(pc, "GET / HTTP/1.0\r\n\r\n")
	b, _ := io.ReadAll(pc)
	if bytes.Contains(b, []byte("HTTP/1.")) {
		t.Errorf("plain HTTP on a TLS bind answered: %q", b)
	}
}

// TestServerVerify: `server … ssl verify required ca-file` refuses a server whose
// certificate the CA did not sign (503, a log line saying why) and reaches one it
// signed, with the name from sni checked.
func TestServerVerify(t *testing.T) {
	dir := t.TempDir()
	ca, err := certgen.New(certgen.Spec{CN: "test ca", IsCA: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := certgen.New(certgen.Spec{CN: "other ca", IsCA: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := certgen.New(certgen.Spec{CN: "app.test", DNSNames: []string{"app.test"}}, ca)
	if err != nil {
		t.Fatal(err)
	}
	clientCert, err := certgen.New(certgen.Spec{CN: "tandem client", Client: true}, ca)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "other.pem"), other.CertPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "client.pem"), clientCert.PEM(), 0o600)
	kp, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	caPool := x509.NewCertPool()
	caPool.AddCert(ca.Leaf)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{kp},
		ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: caPool})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" { // the next request needs a new TLS connection
			w.Header().Set("Connection", "close")
		}
		client := "-"
		if len(r.TLS.PeerCertificates) > 0 {
			client = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		fmt.Fprintf(w, "tls sni=%s resumed=%v client=%s", r.TLS.ServerName, r.TLS.DidResume, client)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	good, bad, wrongName, tcpGood, tcpBad := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	reuse, noReuse := freeAddr(t), freeAddr(t)
	cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
    retries 1
listen good
    bind %s
    server s %s ssl verify required ca-file %s/ca.pem sni str(app.test) check inter 200ms
listen bad
    bind %s
    server s %s ssl verify required ca-file %s/other.pem
listen wrongname
    bind %s
    server s %s ssl ca-file %s/ca.pem sni str(nope.test)
listen tcpgood
    mode tcp
    bind %s
    server s %s ssl verify required ca-file %s/ca.pem sni str(app.test)
listen tcpbad
    mode tcp
    bind %s
    server s %s ssl verify required ca-file %s/other.pem
listen reuse
    bind %s
    server s %s ssl verify none crt %s/client.pem
listen noreuse
    bind %s
    server s %s ssl verify none no-ssl-reuse
`, good, ln.Addr(), dir, bad, ln.Addr(), dir, wrongName, ln.Addr(), dir, tcpGood, ln.Addr(), dir, tcpBad, ln.Addr(), dir,
		reuse, ln.Addr(), dir, noReuse, ln.Addr())
	p := startTandem(t, cfg, wrongName)
	c := client(false)
	if code, b := body(t, c, "http://"+good+"/"); code != 200 || b != "tls sni=app.test resumed=false client=-" {
		t.Errorf("trusted server: %d %q", code, b)
	}
	// Session resumption to servers (unless no-ssl-reuse), and a client certificate (crt).
	for _, tc := range []struct{ addr, first, second string }{
		{reuse, "tls sni= resumed=false client=tandem client", "tls sni= resumed=true client=tandem client"},
		{noReuse, "tls sni= resumed=false client=-", "tls sni= resumed=false client=-"},
	} {
		for i, want := range []string{tc.first, tc.second} {
			if code, b := body(t, c, "http://"+tc.addr+"/close"); code != 200 || b != want {
				t.Errorf("%s request %d: %d %q, want %q", tc.addr, i, code, b, want)
			}
		}
	}
	for _, addr := range []string{bad, wrongName} {
		if code, _ := body(t, c, "http://"+addr+"/"); code != 503 {
			t.Errorf("%s: status %d, want 503", addr, code)
		}
	}
	// mode tcp: the clear bytes go over TLS to the server, or the session ends.
	for _, tc := range []struct {
		addr, want string
	}{{tcpGood, "tls sni=app.test resumed=false client=-"}, {tcpBad, ""}} {
		conn, err := net.DialTimeout("tcp", tc.addr, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(conn, "GET / HTTP/1.0\r\nHost: x\r\n\r\n")
		b, _ := io.ReadAll(conn)
		conn.Close()
		if !strings.HasSuffix(string(b), tc.want) || tc.want == "" && len(b) != 0 {
			t.Errorf("mode tcp via %s: %q, want %q", tc.addr, b, tc.want)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && !(strings.Contains(p.stderr.String(), "certificate signed by unknown authority") &&
		strings.Contains(p.stderr.String(), "not nope.test")) {
		time.Sleep(50 * time.Millisecond)
	}
	if s := p.stderr.String(); !strings.Contains(s, "TLS handshake with server failed") || !strings.Contains(s, "certificate signed by unknown authority") || !strings.Contains(s, "not nope.test") {
		t.Errorf("the log does not say why:\n%s", s)
	}
}

// waitListenOr waits for addr like waitListen, and shows out (a peer's output) on failure.
func waitListenOr(t *testing.T, addr string, out *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s after 10s:\n%s", addr, out.String())
}

// TestHTTPSLogMatchesHAProxy: option httpslog, %sslv and %sslc, and the '~' HAProxy
// puts after a TLS frontend's name, compared line by line with Debian's haproxy (same
// cipher forced on both: OpenSSL and Go prefer different ones).
func TestHTTPSLogMatchesHAProxy(t *testing.T) {
	hap := needTool(t, "haproxy")
	needTool(t, "curl")
	dir := t.TempDir()
	certFiles(t, dir, map[string]certgen.Spec{"site.pem": {CN: "site.test", Key: certgen.ECDSA}})
	web := startWeb(t, "a")
	run := func(start func(cfg, addr string)) []string {
		sl := startSyslog(t)
		tlsAddr, plainAddr, fmtAddr := freeAddr(t), freeAddr(t), freeAddr(t)
		hs1, hs2, quiet := freeAddr(t), freeAddr(t), freeAddr(t)
		cfg := fmt.Sprintf(`global
    log 127.0.0.1:%d local0
defaults
    mode http
    log global
    option httpslog
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend tls
    bind %s ssl crt %s/site.pem
    default_backend app
frontend plain
    bind %s
    default_backend app
frontend fmt
    bind %s ssl crt %s/site.pem
    log-format "%%ft %%sslv %%sslc %%[ssl_fc_sni] %%[ssl_fc_is_resumed]"
    default_backend app
frontend hs
    bind %s ssl crt %s/site.pem
    bind %s ssl crt %s/site.pem strict-sni
    default_backend app
frontend quiet
    option dontlognull
    bind %s ssl crt %s/site.pem
    default_backend app
backend app
    server a %s
`, sl.port(), tlsAddr, dir, plainAddr, fmtAddr, dir, hs1, dir, hs2, dir, quiet, dir, web.addr)
		start(cfg, plainAddr) // a probe of a TLS bind would log a handshake failure
		_, tp, _ := net.SplitHostPort(tlsAddr)
		_, fp, _ := net.SplitHostPort(fmtAddr)
		for _, args := range [][]string{
			{"--tls13-ciphers", "TLS_AES_256_GCM_SHA384", "--resolve", "site.test:" + tp + ":127.0.0.1", "https://site.test:" + tp + "/x"},
			{"--tls-max", "1.2", "--ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256", "https://" + tlsAddr + "/y"},
			{"http://" + plainAddr + "/z"},
			{"--tls13-ciphers", "TLS_CHACHA20_POLY1305_SHA256", "--resolve", "site.test:" + fp + ":127.0.0.1", "https://site.test:" + fp + "/f"},
		} {
			out, err := exec.Command("curl", append([]string{"-sk", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}"}, args...)...).CombinedOutput()
			if err != nil || string(out) != "200" {
				t.Errorf("curl %v: %v %q", args, err, out)
			}
		}
		// Handshakes that fail: HAProxy logs "FRONTEND/LISTENER: REASON".
		send := func(addr, data string) {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(300 * time.Millisecond)) // then the client closes
			io.WriteString(c, data)
			io.ReadAll(c)
			c.Close()
		}
		send(hs1, "GET / HTTP/1.0\r\n\r\n") // not TLS: SSL handshake failure
		send(hs2, "")                       // closed before a byte: Connection closed during SSL handshake
		if _, err := tls.Dial("tcp", hs2, &tls.Config{ServerName: "unknown.test", InsecureSkipVerify: true}); err == nil {
			t.Error("strict-sni accepted an unknown name")
		}
		send(hs1, "\x16\x03\x01\x00\x01\x00")   // part of a hello, then closed
		send(quiet, "")                         // dontlognull: not logged
		send(quiet, "\x16\x03\x01\x00\x01\x00") // nor part of a hello
		send(quiet, "GET / HTTP/1.0\r\n\r\n")   // but a handshake failure is
		return trafficLines(t, sl, 10)          // and the readiness probe's <BADREQ> on plain
	}
	want := run(func(cfg, addr string) {
		cmd := exec.Command(hap, "-db", "-f", writeConfig(t, cfg))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		waitListen(t, addr)
	})
	got := run(func(cfg, addr string) { startTandem(t, cfg, addr) })
	if all := strings.Join(want, "\n"); !strings.Contains(all, "tls~") || !strings.Contains(all, "site.test/TLSv1.3/TLS_AES_256_GCM_SHA384") ||
		!strings.Contains(all, "quiet/1: SSL handshake failure") || strings.Contains(all, "quiet/1: Connection closed") {
		t.Errorf("haproxy's lines lack the TLS fields:\n%s", all)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log lines differ\nhaproxy:\n%s\ntandem:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
}

// TestTLSCertificateChangesWithoutRestart: a SIGHUP reload serves the certificate file's
// new contents to the next handshake, a session made before the reload resumes after
// it, and `set ssl cert` + `commit ssl cert` on the stats socket change the certificate
// of the next handshake (HAProxy's outputs).
func TestTLSCertificateChangesWithoutRestart(t *testing.T) {
	dir := t.TempDir()
	certs := certFiles(t, dir, map[string]certgen.Spec{
		"one.pem": {CN: "one.test"}, "two.pem": {CN: "two.test"}, "three.pem": {CN: "three.test"},
	})
	site := filepath.Join(dir, "site.pem")
	os.WriteFile(site, certs["one.pem"].PEM(), 0o600)
	web := startWeb(t, "w")
	addr, sock := freeAddr(t), filepath.Join(dir, "admin.sock")
	cfg := fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind %s ssl crt %s
    default_backend app
backend app
    server w %s
`, sock, addr, site, web.addr)
	p := startTandem(t, cfg, addr)
	cache := tls.NewLRUClientSessionCache(4)
	shake := func() (string, bool) {
		t.Helper()
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", addr,
			&tls.Config{ServerName: "site.test", InsecureSkipVerify: true, ClientSessionCache: cache})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		io.ReadAll(c) // the response, and the session ticket before it
		cs := c.ConnectionState()
		return cs.PeerCertificates[0].Subject.CommonName, cs.DidResume
	}
	if cn, _ := shake(); cn != "one.test" {
		t.Fatalf("first: %s", cn)
	}
	os.WriteFile(site, certs["two.pem"].PEM(), 0o600)
	p.signal(syscall.SIGHUP)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.stderr.String(), "configuration reloaded") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cn, resumed := shake()
	if !resumed {
		t.Errorf("the session of before the reload did not resume")
	}
	if cn != "one.test" { // a resumed session keeps its certificate
		t.Errorf("resumed with %s", cn)
	}
	cache = tls.NewLRUClientSessionCache(4)
	if cn, _ := shake(); cn != "two.test" {
		t.Errorf("after the reload, a new session got %s\n%s", cn, p.stderr)
	}
	api := func(cmd string) string {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		io.WriteString(c, cmd)
		b, _ := io.ReadAll(c)
		return string(b)
	}
	if got := api("set ssl cert " + site + " <<\n" + string(certs["three.pem"].PEM()) + "\n"); got != "Transaction created for certificate "+site+"!\n\n" {
		t.Errorf("set ssl cert: %q", got)
	}
	if got := api("commit ssl cert " + site + "\n"); got != "Committing "+site+".\nSuccess!\n\n" {
		t.Errorf("commit ssl cert: %q", got)
	}
	cache = tls.NewLRUClientSessionCache(4)
	if cn, _ := shake(); cn != "three.test" {
		t.Errorf("after commit ssl cert: %s", cn)
	}
	if got := api("show ssl cert " + site + "\n"); !strings.Contains(got, "Subject: /CN=three.test\n") {
		t.Errorf("show ssl cert: %q", got)
	}
}

// TestREADMETLSExample: the README's TLS example passes tandem -c once its certificate
// exists (made here; the README makes it with openssl).
func TestREADMETLSExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(readme, []byte("cat > /tmp/tandem-tls/tls.cfg <<'EOT'\n"))
	j := bytes.Index(readme, []byte("\nEOT\n"))
	if i < 0 || j < i {
		t.Fatal("README.md has no TLS example")
	}
	dir := t.TempDir()
	cfg := strings.ReplaceAll(string(readme[i+len("cat > /tmp/tandem-tls/tls.cfg <<'EOT'\n"):j]), "/tmp/tandem-tls", dir)
	c, err := certgen.New(certgen.Spec{CN: "localhost"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "site.pem"), c.CertPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "site.pem.key"), c.KeyPEM, 0o600)
	code, out, errOut := runTandem(t, "-c", "-f", writeConfig(t, cfg))
	if code != 0 || strings.TrimSpace(out) != "Configuration file is valid" {
		t.Errorf("exit %d, %q\n%s", code, out, errOut)
	}
}

// TestTicketKeysAcrossNodes: two tandem processes (the two nodes of a pair) with the
// same tls-ticket-keys file: a session made on one resumes on the other, as after a VIP
// failover.
func TestTicketKeysAcrossNodes(t *testing.T) {
	dir := t.TempDir()
	certFiles(t, dir, map[string]certgen.Spec{"site.pem": {CN: "site.test"}})
	var keys []string
	for i := 0; i < 3; i++ {
		k := make([]byte, 80)
		if _, err := io.ReadFull(rand.Reader, k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, base64.StdEncoding.EncodeToString(k))
	}
	os.WriteFile(filepath.Join(dir, "ticket.keys"), []byte(strings.Join(keys, "\n")+"\n"), 0o600)
	web := startWeb(t, "w")
	cfg := func(addr string) string {
		return fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind %s ssl crt %s/site.pem tls-ticket-keys %s/ticket.keys
    default_backend app
backend app
    server w %s
`, addr, dir, dir, web.addr)
	}
	a, b := freeAddr(t), freeAddr(t)
	startTandem(t, cfg(a), a)
	startTandem(t, cfg(b), b)
	cache := tls.NewLRUClientSessionCache(4)
	get := func(addr string) bool {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", addr,
			&tls.Config{ServerName: "site.test", InsecureSkipVerify: true, ClientSessionCache: cache})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		b, _ := io.ReadAll(c)
		if !bytes.HasSuffix(b, []byte("w")) {
			t.Errorf("response %q", b)
		}
		return c.ConnectionState().DidResume
	}
	if get(a) {
		t.Fatal("the first handshake resumed")
	}
	if !get(b) {
		t.Error("a session made on node A did not resume on node B")
	}
}

// TestTLSConfigVerdictsMatchHAProxy: `haproxy -c` and `tandem -c` accept and refuse the
// same TLS configurations, except where tandem refuses on purpose what Go's crypto/tls
// cannot carry out (each such case says why).
func TestTLSConfigVerdictsMatchHAProxy(t *testing.T) {
	hap := needTool(t, "haproxy")
	dir := t.TempDir()
	ca, _ := certgen.New(certgen.Spec{CN: "ca", IsCA: true}, nil)
	certFiles(t, dir, map[string]certgen.Spec{"site.pem": {CN: "site.test"}, "other.pem": {CN: "other.test", Key: certgen.RSA}})
	os.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertPEM, 0o600)
	crl, _ := certgen.CRL(ca)
	os.WriteFile(filepath.Join(dir, "crl.pem"), crl, 0o600)
	os.WriteFile(filepath.Join(dir, "list.txt"), []byte(dir+"/site.pem [alpn http/1.1 ssl-min-ver TLSv1.2] site.test\n"+dir+"/other.pem\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "badlist.txt"), []byte(dir+"/site.pem [no-tls-tickets]\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "badopt.txt"), []byte(dir+"/site.pem [bogus 1]\n"), 0o600)
	var keys []string
	for i := 0; i < 2; i++ {
		keys = append(keys, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{byte(i + 1)}, 80)))
	}
	os.WriteFile(filepath.Join(dir, "two.keys"), []byte(strings.Join(keys, "\n")+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "three.keys"), []byte(strings.Join(append(keys, keys[0]), "\n")+"\n"), 0o600)
	tests := []struct {
		name, global, bind, server string
		valid                      bool
		tandemRefuses              string // why tandem refuses what HAProxy accepts
	}{
		{"crt", "", "ssl crt DIR/site.pem", "", true, ""},
		{"crt dir and crt-list", "", "ssl crt DIR/site.pem crt-list DIR/list.txt", "", true, ""},
		{"ssl without crt", "", "ssl", "", false, ""},
		{"missing crt", "", "ssl crt DIR/none.pem", "", false, ""},
		{"crt without ssl", "", "crt DIR/site.pem", "", true, ""},
		{"verify required without ca-file", "", "ssl crt DIR/site.pem verify required", "", false, ""},
		{"verify required with ca-file and crl-file", "", "ssl crt DIR/site.pem verify required ca-file DIR/ca.pem crl-file DIR/crl.pem", "", true, ""},
		{"verify optional with a missing crl-file", "", "ssl crt DIR/site.pem verify optional ca-file DIR/ca.pem crl-file DIR/none.pem", "", false, ""},
		{"missing ca-file without verify", "", "ssl crt DIR/site.pem ca-file DIR/none.pem", "", false, ""},
		{"crl-file without verify", "", "ssl crt DIR/site.pem crl-file DIR/crl.pem", "", true, ""},
		{"missing crl-file without verify", "", "ssl crt DIR/site.pem crl-file DIR/none.pem", "", false, ""},
		{"server with a missing crl-file, verify none", "", "", "ssl verify none crl-file DIR/none.pem", false, ""},
		{"verify none with ca-file", "", "ssl crt DIR/site.pem verify none ca-file DIR/ca.pem", "", true, ""},
		{"unknown cipher alone", "", "ssl crt DIR/site.pem ciphers FOO", "", false, ""},
		{"named ciphers", "", "ssl crt DIR/site.pem ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256", "", true, ""},
		{"Go's TLS 1.3 suites", "", "ssl crt DIR/site.pem ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", "", true, ""},
		{"curves", "", "ssl crt DIR/site.pem curves X25519:P-256", "", true, ""},
		{"unknown curve", "", "ssl crt DIR/site.pem curves FOO", "", false, ""},
		{"ecdhe", "", "ssl crt DIR/site.pem ecdhe prime256v1", "", true, ""},
		{"strict-sni alpn no-tls-tickets versions", "", "ssl crt DIR/site.pem strict-sni alpn http/1.1 no-tls-tickets ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.3", "", true, ""},
		{"no-tls-tickets in a crt-list line", "", "ssl crt-list DIR/badlist.txt", "", false, ""},
		{"unknown crt-list option", "", "ssl crt-list DIR/badopt.txt", "", false, ""},
		{"two ticket keys", "", "ssl crt DIR/site.pem tls-ticket-keys DIR/two.keys", "", false, ""},
		{"three ticket keys", "", "ssl crt DIR/site.pem tls-ticket-keys DIR/three.keys", "", true, ""},
		{"global options", "ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets", "ssl crt DIR/site.pem", "", true, ""},
		{"unknown global option", "ssl-default-bind-options no-sslv4", "ssl crt DIR/site.pem", "", false, ""},
		{"server ssl, no way to verify", "", "", "ssl", false, ""},
		{"server ssl verify none", "", "", "ssl verify none sni str(app.test) alpn http/1.1 no-ssl-reuse", true, ""},
		{"server ssl, ssl-server-verify none", "ssl-server-verify none", "", "ssl", true, ""},
		{"server ssl with ca-file", "", "", "ssl ca-file DIR/ca.pem verifyhost app.test check check-ssl", true, ""},
		{"server ssl with a missing ca-file", "", "", "ssl ca-file DIR/none.pem", false, ""},
		{"server client certificate", "", "", "ssl verify none crt DIR/site.pem", true, ""},
		{"DHE suites", "", "ssl crt DIR/site.pem ciphers ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256", "", true, "Go has no DHE"},
		{"DHE suites excluded", "", "ssl crt DIR/site.pem ciphers ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:!DHE", "", true, ""},
		{"an OpenSSL class", "", "ssl crt DIR/site.pem ciphers HIGH:!aNULL:!MD5", "", true, "a class includes suites Go lacks"},
		{"one TLS 1.3 suite", "", "ssl crt DIR/site.pem ciphersuites TLS_AES_256_GCM_SHA384", "", true, "Go always offers its three"},
		{"alpn h2 in mode http", "", "ssl crt DIR/site.pem alpn h2,http/1.1", "", true, "no HTTP/2 yet (issue 12)"},
	}
	for _, tt := range tests {
		cfg := "global\n"
		if tt.global != "" {
			cfg += "    " + tt.global + "\n"
		}
		cfg += "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nfrontend fe\n"
		cfg += "    bind 127.0.0.1:1 " + tt.bind + "\n    default_backend app\nbackend app\n    server s 127.0.0.1:2 " + tt.server + "\n"
		path := writeConfig(t, strings.ReplaceAll(cfg, "DIR", dir))
		hout, herr := exec.Command(hap, "-c", "-f", path).CombinedOutput()
		if (herr == nil) != tt.valid {
			t.Errorf("%s: haproxy -c valid=%v, the test expects %v:\n%s", tt.name, herr == nil, tt.valid, hout)
			continue
		}
		code, _, errOut := runTandem(t, "-c", "-f", path)
		want := tt.valid && tt.tandemRefuses == ""
		if (code == 0) != want {
			t.Errorf("%s: tandem -c valid=%v, want %v:\n%s", tt.name, code == 0, want, errOut)
		}
	}
}

// TestSSLRuntimeCommandsMatchHAProxy runs the same runtime API session (certificate
// stores, transactions, crt-list edits, their errors) on Debian's haproxy and on tandem,
// and compares every answer byte for byte, and the certificate each then serves.
func TestSSLRuntimeCommandsMatchHAProxy(t *testing.T) {
	hap := needTool(t, "haproxy")
	dir := t.TempDir()
	certs := certFiles(t, dir, map[string]certgen.Spec{"z.pem": {CN: "a.test"}, "new.pem": {CN: "new.test"}, "c3.pem": {CN: "c3.test"}})
	os.Remove(filepath.Join(dir, "c3.pem")) // made at run time
	list := filepath.Join(dir, "list.txt")
	os.WriteFile(list, []byte(fmt.Sprintf("%[1]s/z.pem [alpn http/1.1 ssl-min-ver TLSv1.2] a.test !b.a.test\n%[1]s/new.pem\n", dir)), 0o600)
	web := startWeb(t, "w")
	cfg := func(sock, a1, a2 string) string {
		return fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind %s ssl crt-list %s
    bind %s ssl crt-list %s
    default_backend app
backend app
    server w %s
`, sock, a1, list, a2, list, web.addr)
	}
	c3 := string(certs["c3.pem"].PEM())
	steps := []string{
		"show ssl crt-list", "show ssl crt-list L", "show ssl crt-list -n L",
		"new ssl cert D/c3.pem", "new ssl cert D/z.pem", "show ssl cert", "show ssl cert D/c3.pem",
		"add ssl crt-list L D/c3.pem", "add ssl crt-list L D/nope.pem", "add ssl crt-list D/nolist D/z.pem",
		"set ssl cert D/c3.pem <<\n" + c3, "commit ssl cert D/c3.pem",
		"add ssl crt-list L <<\nD/c3.pem [ssl-min-ver TLSv1.2 alpn http/1.1] C3.test !x.c3.test\n", "show ssl crt-list -n L",
		"SERVE c3.test",
		"add ssl crt-list L D/c3.pem", "del ssl crt-list L D/c3.pem", "del ssl crt-list L D/c3.pem:9", "del ssl crt-list L D/c3.pem:4",
		"show ssl crt-list -n L", "del ssl crt-list L D/nope.pem", "del ssl cert D/c3.pem", "del ssl crt-list L D/c3.pem",
		"SERVE c3.test",
		"del ssl cert D/c3.pem", "del ssl cert D/nope.pem", "show ssl cert", "show ssl crt-list /nope",
		"add ssl crt-list L", "del ssl crt-list L", "new ssl cert", "del ssl cert", "commit ssl cert", "abort ssl cert",
	}
	run := func(start func(cfg, addr string), sock, a1, a2 string) []string {
		start(cfg(sock, a1, a2), a2)
		var out []string
		for _, s := range steps {
			s = strings.ReplaceAll(strings.ReplaceAll(s, "D/", dir+"/"), " L", " "+list)
			if sni, ok := strings.CutPrefix(s, "SERVE "); ok {
				c, err := tls.Dial("tcp", a1, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
				if err != nil {
					out = append(out, "handshake: "+err.Error())
					continue
				}
				out = append(out, "served "+c.ConnectionState().PeerCertificates[0].Subject.CommonName)
				c.Close()
				continue
			}
			c, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(3 * time.Second))
			if strings.Contains(s, "<<\n") && !strings.HasSuffix(s, "\n") {
				s += "\n"
			}
			io.WriteString(c, s+"\n")
			b, _ := io.ReadAll(c)
			c.Close()
			out = append(out, string(b))
		}
		return out
	}
	want := run(func(cfg, addr string) {
		cmd := exec.Command(hap, "-db", "-f", writeConfig(t, cfg))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		waitListen(t, addr)
	}, filepath.Join(dir, "h.sock"), freeAddr(t), freeAddr(t))
	got := run(func(cfg, addr string) { startTandem(t, cfg, addr) }, filepath.Join(dir, "t.sock"), freeAddr(t), freeAddr(t))
	for i := range steps {
		if got[i] != want[i] {
			t.Errorf("%q:\nhaproxy %q\ntandem  %q", steps[i], want[i], got[i])
		}
	}
	if !strings.Contains(strings.Join(want, ""), "served c3.test") || !strings.Contains(strings.Join(want, ""), "Inserting certificate") {
		t.Errorf("the session did not exercise what it should:\n%q", want)
	}
}
