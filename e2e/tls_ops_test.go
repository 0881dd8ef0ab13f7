package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"tandem/internal/certgen"
)

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
	cfg := strings.ReplaceAll(string(readme[i+len("cat > /tmp/tandem-tls/tls.cfg <<'EOT'\n"):j+1]), "/tmp/tandem-tls", dir) // a heredoc ends with a newline
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
	needTool(t, "openssl")
	dir := t.TempDir()
	ca, _ := certgen.New(certgen.Spec{CN: "ca", IsCA: true}, nil)
	certFiles(t, dir, map[string]certgen.Spec{"site.pem": {CN: "site.test"}, "other.pem": {CN: "other.test", Key: certgen.RSA}})
	os.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertPEM, 0o600)
	crl, _ := certgen.CRL(ca)
	os.WriteFile(filepath.Join(dir, "crl.pem"), crl, 0o600)
	os.WriteFile(filepath.Join(dir, "list.txt"), []byte(dir+"/site.pem [alpn http/1.1 ssl-min-ver TLSv1.2] site.test\n"+dir+"/other.pem\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "badlist.txt"), []byte(dir+"/site.pem [no-tls-tickets]\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "badopt.txt"), []byte(dir+"/site.pem [bogus 1]\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "empty.txt"), []byte("# nothing\n"), 0o600)
	if out, err := exec.Command("openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048", "-out", filepath.Join(dir, "dh.pem")).CombinedOutput(); err != nil {
		t.Fatalf("openssl genpkey: %v %s", err, out)
	}
	os.WriteFile(filepath.Join(dir, "missing.txt"), []byte(dir+"/none.pem\n"), 0o600)
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
		{"an empty crt-list", "", "ssl crt-list DIR/empty.txt", "", false, ""},
		{"a crt-list line naming a missing file", "", "ssl crt-list DIR/missing.txt", "", false, ""},
		{"TLS 1.0 asked for", "", "ssl crt DIR/site.pem ssl-min-ver TLSv1.0", "", true, ""},
		{"force-tlsv12", "", "ssl crt DIR/site.pem force-tlsv12", "", true, ""},
		{"every version disabled", "", "ssl crt DIR/site.pem no-tlsv12 no-tlsv13", "", false, ""},
		{"min above max", "", "ssl crt DIR/site.pem ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.2", "", false, ""},
		{"no-tlsv1x ignored beside ssl-min-ver", "", "ssl crt DIR/site.pem ssl-min-ver TLSv1.1 no-tlsv12", "", true, ""},
		{"SSLv3 as the minimum", "", "ssl crt DIR/site.pem ssl-min-ver SSLv3", "", true, ""},
		{"force-sslv3", "", "ssl crt DIR/site.pem force-sslv3", "", false, ""},
		{"no-sslv3", "", "ssl crt DIR/site.pem no-sslv3", "", true, ""},
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
		{"global server options", "ssl-default-server-options ssl-min-ver TLSv1.2 no-tls-tickets", "", "ssl verify none", true, ""},
		{"global curves and suites", "ssl-default-bind-curves X25519:P-256\n    ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", "ssl crt DIR/site.pem", "", true, ""},
		{"ssl-dh-param-file", "ssl-dh-param-file DIR/dh.pem", "ssl crt DIR/site.pem", "", true, ""},
		{"a missing ssl-dh-param-file", "ssl-dh-param-file DIR/none.pem", "ssl crt DIR/site.pem", "", false, ""},
		{"ssl-dh-param-file of a certificate", "ssl-dh-param-file DIR/ca.pem", "ssl crt DIR/site.pem", "", false, ""},
		{"global tunes", "tune.ssl.cachesize 0\n    tune.ssl.lifetime 600\n    tune.ssl.default-dh-param 2048", "ssl crt DIR/site.pem", "", true, ""},
		{"prefer-client-ciphers", "ssl-default-bind-options prefer-client-ciphers", "ssl crt DIR/site.pem", "", true, ""},
		{"ssl-server-verify required", "ssl-server-verify required", "", "ssl", false, ""},
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
		{"alpn h2 in mode http", "", "ssl crt DIR/site.pem alpn h2,http/1.1", "", true, ""},
		{"server alpn h2 in mode http", "", "", "ssl verify none alpn h2,http/1.1", true, "no HTTP/2 to servers yet (issue 12)"},
		{"server sni from the request", "", "", "ssl verify none sni req.hdr(host)", true, "sample expressions need the ACL engine (issue 10)"},
		{"curve X448", "", "ssl crt DIR/site.pem curves X448:X25519", "", true, "Go has no X448"},
		{"a misspelt cipher beside a good one", "", "ssl crt DIR/site.pem ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA25", "", true, "OpenSSL drops unknown names silently; tandem says which"},
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
		"new ssl cert D/c3.pem", "new ssl cert D/z.pem", "show ssl cert", "show ssl cert D/c3.pem", "del ssl crt-list L D/c3.pem",
		"add ssl crt-list L D/c3.pem", "add ssl crt-list L D/nope.pem", "add ssl crt-list D/nolist D/z.pem",
		"set ssl cert D/c3.pem <<\n" + c3, "del ssl cert D/c3.pem", "show ssl cert", "commit ssl cert D/c3.pem",
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
		for i := 0; i < 200; i++ { // the stats socket may come after the listeners
			if c, err := net.Dial("unix", sock); err == nil {
				c.Close()
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
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
	// Debian's haproxy, busy with its start, now and then takes a `set ssl cert` payload
	// without its key: the session starts once it has been up a second, and is run
	// again (at most 3 times) if that still happens.
	var want []string
	for try := 0; try < 3; try++ {
		sock := filepath.Join(dir, fmt.Sprintf("h%d.sock", try))
		want = run(func(cfg, addr string) {
			cmd := exec.Command(hap, "-db", "-f", writeConfig(t, cfg))
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			waitListen(t, addr)
			for i := 0; i < 300; i++ { // bounded: 3 s
				if c, err := net.Dial("unix", sock); err == nil {
					c.SetDeadline(time.Now().Add(time.Second))
					io.WriteString(c, "show info\n")
					b, _ := io.ReadAll(c)
					c.Close()
					if bytes.Contains(b, []byte("\nUptime_sec: ")) && !bytes.Contains(b, []byte("\nUptime_sec: 0\n")) {
						break
					}
				}
				time.Sleep(10 * time.Millisecond)
			}
		}, sock, freeAddr(t), freeAddr(t))
		if strings.HasSuffix(want[slices.Index(steps, "commit ssl cert D/c3.pem")], "Success!\n\n") {
			break
		}
	}
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

// TestTLSChrootReload: a chrooted tandem without root (its privileged helper reads the
// files) reloads a `crt DIR` bind on SIGHUP: the directory's new certificate is served.
func TestTLSChrootReload(t *testing.T) {
	needRoot(t)
	web := startWeb(t, "w")
	jail, certDir := t.TempDir(), t.TempDir()
	certs := certFiles(t, t.TempDir(), map[string]certgen.Spec{"one.pem": {CN: "one.test"}, "two.pem": {CN: "two.test"}})
	os.WriteFile(filepath.Join(certDir, "site.pem"), certs["one.pem"].CertPEM, 0o600)
	os.WriteFile(filepath.Join(certDir, "site.pem.key"), certs["one.pem"].KeyPEM, 0o600)
	addr := freeAddr(t)
	cfg := fmt.Sprintf(`global
    chroot %s
    user nobody
    group nogroup
`+defaults+`
frontend fe
    bind %s ssl crt %s
    default_backend app
backend app
    server w %s
`, jail, addr, certDir, web.addr)
	p := startTandem(t, cfg, addr)
	cn := func() string {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			return "error: " + err.Error()
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if got := cn(); got != "one.test" {
		t.Fatalf("before: %s\n%s", got, p.stderr)
	}
	os.WriteFile(filepath.Join(certDir, "site.pem"), certs["two.pem"].CertPEM, 0o600)
	os.WriteFile(filepath.Join(certDir, "site.pem.key"), certs["two.pem"].KeyPEM, 0o600)
	p.signal(syscall.SIGHUP)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.stderr.String(), "configuration reloaded") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := cn(); got != "two.test" {
		t.Errorf("after the reload: %s\n%s", got, p.stderr)
	}
}

// TestTLSReloadDropsNothing: new TLS connections keep being served while SIGHUP
// reloads swap the certificate three times (bounded: 4 clients × 60 requests).
func TestTLSReloadDropsNothing(t *testing.T) {
	dir := t.TempDir()
	certs := certFiles(t, dir, map[string]certgen.Spec{"a.pem": {CN: "a.test"}, "b.pem": {CN: "b.test"}})
	site := filepath.Join(dir, "site.pem")
	os.WriteFile(site, certs["a.pem"].PEM(), 0o600)
	web := startWeb(t, "w")
	addr := freeAddr(t)
	p := startTandem(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind %s ssl crt %s
    default_backend app
backend app
    server w %s
`, addr, site, web.addr), addr)
	var failures, served atomic.Int64
	seen := sync.Map{}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 60; i++ {
				c, err := tls.DialWithDialer(&net.Dialer{Timeout: 3 * time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
				if err != nil {
					failures.Add(1)
					continue
				}
				c.SetDeadline(time.Now().Add(3 * time.Second))
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
				b, _ := io.ReadAll(c)
				seen.Store(c.ConnectionState().PeerCertificates[0].Subject.CommonName, true)
				c.Close()
				if !bytes.HasPrefix(b, []byte("HTTP/1.1 200")) {
					failures.Add(1)
					continue
				}
				served.Add(1)
			}
		}()
	}
	for i, name := range []string{"b.pem", "a.pem", "b.pem"} {
		time.Sleep(50 * time.Millisecond) // spread the reloads over the traffic
		os.WriteFile(site, certs[name].PEM(), 0o600)
		p.signal(syscall.SIGHUP)
		deadline := time.Now().Add(5 * time.Second)
		for strings.Count(p.stderr.String(), "configuration reloaded") < i+1 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	wg.Wait()
	if failures.Load() != 0 || served.Load() != 240 {
		t.Errorf("%d failures, %d served of 240\n%s", failures.Load(), served.Load(), p.stderr)
	}
	if _, ok := seen.Load("b.test"); !ok {
		t.Errorf("no connection got the reloaded certificate")
	}
}
