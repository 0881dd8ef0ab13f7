package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
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
