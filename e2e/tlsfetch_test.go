package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"tandem/internal/certgen"
)

// startHeaderEcho serves the X- headers of each request, sorted, one per line.
func startHeaderEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var lines []string
		for k, vs := range r.Header {
			if strings.HasPrefix(k, "X-") {
				for _, v := range vs {
					lines = append(lines, k+": "+v)
				}
			}
		}
		sort.Strings(lines)
		fmt.Fprintf(w, "%s\n%s\n", r.URL.Path, strings.Join(lines, "\n"))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// waitConn connects to addr, trying for up to 10s.
func waitConn(addr string) (net.Conn, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil || time.Now().After(deadline) {
			return c, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTLSFetchesMatchHAProxy sends the same requests to Debian's haproxy and to tandem
// with the same TLS and plain binds and rules on every TLS fetch of issue 11 (redirect
// scheme https unless ssl_fc, X-Forwarded-Proto if ssl_fc, use_backend by ssl_fc_sni,
// client certificates, resumed sessions), and compares what the server saw and what
// the client got.
func TestTLSFetchesMatchHAProxy(t *testing.T) {
	hap := needTool(t, "haproxy")
	needTool(t, "curl")
	dir := t.TempDir()
	ca, err := certgen.New(certgen.Spec{CN: "Test CA", IsCA: true, Serial: 7}, nil)
	if err != nil {
		t.Fatal(err)
	}
	site, err := certgen.New(certgen.Spec{CN: "site.test", DNSNames: []string{"site.test", "a.example", "*.wild.example"}}, ca)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := certgen.New(certgen.Spec{CN: "client one", Client: true, Serial: 0x1234abcd}, ca)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "site.pem"), append(site.PEM(), ca.CertPEM...), 0o600)
	os.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertPEM, 0o600)
	echo := startHeaderEcho(t)
	clientCert := tls.Certificate{Certificate: [][]byte{cl.DER}, PrivateKey: cl.Key}

	sinkA, sinkTLS, sinkDef := startNamedSink(t, "tcp-a"), startNamedSink(t, "tcp-tls"), startNamedSink(t, "tcp-default")
	run := func(start func(cfg, addr string)) []string {
		plain, tlsAddr, tcpTLS, tcpPlain, h2Addr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
		cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind %s
    bind %s ssl crt %s/site.pem alpn http/1.1 verify optional ca-file %s/ca.pem
    bind %s ssl crt %s/site.pem alpn h2,http/1.1
    tcp-request session reject if { ssl_fc_sni -i reject.example }
    http-request redirect scheme https unless { ssl_fc } || !{ path_beg /secure }
    http-request set-header X-Forwarded-Proto https if { ssl_fc }
    http-request set-header X-Fc %%[ssl_fc]
    http-request set-header X-Has-Sni %%[ssl_fc_has_sni]
    http-request set-header X-Sni %%[ssl_fc_sni]
    http-request set-header X-Proto %%[ssl_fc_protocol]
    http-request set-header X-Cipher %%[ssl_fc_cipher]
    http-request set-header X-Alpn %%[ssl_fc_alpn]
    http-request set-header X-Reused %%[ssl_fc_is_resumed]
    http-request set-header X-C-Used %%[ssl_c_used]
    http-request set-header X-C-Verify %%[ssl_c_verify]
    http-request set-header X-C-Sdn %%[ssl_c_s_dn]
    http-request set-header X-C-Idn %%[ssl_c_i_dn]
    http-request set-header X-C-Cn %%[ssl_c_s_dn(CN)]/%%[ssl_c_i_dn(CN,-1)]/%%[ssl_c_s_dn(OU)]
    http-request set-header X-C-2253 %%[ssl_c_s_dn(,0,rfc2253)]
    http-request set-header X-C-Serial %%[ssl_c_serial,hex]
    http-request set-header X-Is-A yes if { ssl_fc_sni -i a.example }
    http-request set-header X-Wild yes if { ssl_fc_sni_end .wild.example }
    use_backend b_a if { ssl_fc_sni -i a.example }
    use_backend b_tls if { ssl_fc }
    default_backend b_plain
backend b_a
    http-request set-header X-Backend a
    server s %s
backend b_tls
    http-request set-header X-Backend tls
    server s %s
backend b_plain
    http-request set-header X-Backend plain
    server s %s
frontend tcp
    mode tcp
    bind %s ssl crt %s/site.pem
    bind %s
    use_backend t_a if { ssl_fc_sni -i a.example }
    use_backend t_tls if { ssl_fc }
    default_backend t_def
backend t_a
    mode tcp
    server s %s
backend t_tls
    mode tcp
    server s %s
backend t_def
    mode tcp
    server s %s
`, plain, tlsAddr, dir, dir, h2Addr, dir, echo, echo, echo, tcpTLS, dir, tcpPlain, sinkA, sinkTLS, sinkDef)
		start(cfg, plain)
		var out []string
		get := func(label string, c *http.Client, url string) {
			req, _ := http.NewRequest("GET", url, nil)
			req.Host = "site.test"
			resp, err := c.Do(req)
			if err != nil {
				out = append(out, label+": "+err.Error())
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			out = append(out, fmt.Sprintf("%s: %d %s\n%s", label, resp.StatusCode, resp.Header.Get("Location"), b))
		}
		noFollow := func(tc *tls.Config) *http.Client {
			return &http.Client{Timeout: 5 * time.Second,
				Transport:     &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true, DialContext: (&net.Dialer{}).DialContext},
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		}
		_, tp, _ := net.SplitHostPort(tlsAddr)
		roots := x509.NewCertPool()
		roots.AddCert(ca.Leaf)
		tls12 := func(sni string) *tls.Config {
			return &tls.Config{ServerName: sni, RootCAs: roots, MaxVersion: tls.VersionTLS12,
				CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}
		}
		get("plain /", noFollow(nil), "http://"+plain+"/")
		get("plain /secure", noFollow(nil), "http://"+plain+"/secure/x")
		get("tls site", noFollow(tls12("site.test")), "https://"+tlsAddr+"/secure/1")
		get("tls a", noFollow(tls12("a.example")), "https://"+tlsAddr+"/secure/2")
		get("tls A.Example", noFollow(tls12("A.Example")), "https://"+tlsAddr+"/secure/case")
		get("tls wild", noFollow(tls12("x.wild.example")), "https://"+tlsAddr+"/3")
		noSNI := tls12("")
		noSNI.InsecureSkipVerify = true
		get("tls no sni", noFollow(noSNI), "https://"+tlsAddr+"/4")
		withCert := tls12("site.test")
		withCert.Certificates = []tls.Certificate{clientCert}
		get("tls client cert", noFollow(withCert), "https://"+tlsAddr+"/5")
		resumed := tls12("site.test")
		resumed.ClientSessionCache = tls.NewLRUClientSessionCache(4)
		get("tls first", noFollow(resumed), "https://"+tlsAddr+"/6")
		get("tls resumed", noFollow(resumed), "https://"+tlsAddr+"/7")
		// tcp-request session rules see the TLS facts
		rej := tls12("reject.example")
		rej.InsecureSkipVerify = true
		if resp, err := noFollow(rej).Get("https://" + tlsAddr + "/r"); err != nil {
			out = append(out, "session rule: refused")
		} else {
			resp.Body.Close()
			out = append(out, fmt.Sprintf("session rule: %d", resp.StatusCode))
		}
		// mode tcp (tcpproxy's connection rules) on a TLS bind and a plain one
		for _, tc := range []struct {
			label, addr, sni string
		}{{"tcp a", tcpTLS, "a.example"}, {"tcp site", tcpTLS, "site.test"}, {"tcp plain", tcpPlain, ""}} {
			var c net.Conn
			var err error
			if tc.sni != "" {
				c, err = tls.Dial("tcp", tc.addr, tls12(tc.sni))
			} else {
				c, err = net.Dial("tcp", tc.addr)
			}
			if err != nil {
				out = append(out, tc.label+": "+err.Error())
				continue
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "ping")
			if tcw, ok := c.(interface{ CloseWrite() error }); ok {
				tcw.CloseWrite()
			}
			b, _ := io.ReadAll(c)
			c.Close()
			out = append(out, tc.label+": "+string(b))
		}
		// TLS 1.3, one suite forced on both sides' clients (Go's client cannot choose).
		b, err := exec.Command("curl", "-sk", "--max-time", "5", "--tls13-ciphers", "TLS_AES_256_GCM_SHA384",
			"--resolve", "a.example:"+tp+":127.0.0.1", "https://a.example:"+tp+"/secure/13").CombinedOutput()
		out = append(out, fmt.Sprintf("curl tls1.3: %v\n%s", err, b))
		// HTTP/2: each stream sees its connection's TLS facts
		_, h2p, _ := net.SplitHostPort(h2Addr)
		b, err = exec.Command("curl", "-sk", "--http2", "--max-time", "5", "--tls13-ciphers", "TLS_AES_256_GCM_SHA384",
			"--resolve", "a.example:"+h2p+":127.0.0.1", "https://a.example:"+h2p+"/secure/h2", "https://a.example:"+h2p+"/secure/h2b").CombinedOutput()
		out = append(out, fmt.Sprintf("curl h2: %v\n%s", err, strings.ReplaceAll(string(b), h2p, "H2PORT")))
		for i := range out { // the addresses differ between the two runs
			out[i] = strings.NewReplacer(plain, "PLAIN", tlsAddr, "TLS", tp, "TLSPORT").Replace(out[i])
		}
		return out
	}
	want := run(func(cfg, addr string) {
		cmd := exec.Command(hap, "-db", "-f", writeConfig(t, cfg))
		var herr syncBuffer
		cmd.Stderr = &herr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		if c, err := waitConn(addr); err != nil {
			t.Fatalf("haproxy: %v\n%s", err, herr.String())
		} else {
			c.Close()
		}
	})
	got := run(func(cfg, addr string) { startTandem(t, cfg, addr) })
	all := strings.Join(want, "\n")
	for _, s := range []string{"X-Forwarded-Proto: https", "X-Backend: a", "X-Reused: 1", "X-C-Used: 1", "X-C-Sdn: /CN=client one", "X-Wild: yes", " 302 https://site.test/secure/x", "tcp a: tcp-a n=4", "tcp site: tcp-tls n=4", "tcp plain: tcp-default n=4", "X-Alpn: h2", "session rule: refused"} {
		if !strings.Contains(all, s) {
			t.Errorf("haproxy's answers lack %q: the test does not exercise it\n%s", s, all)
		}
	}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			g := ""
			if i < len(got) {
				g = got[i]
			}
			t.Errorf("differ\nhaproxy: %s\ntandem:  %s", want[i], g)
		}
	}
}

// startHAProxyCmd runs Debian's haproxy on cfg for the test's life.
func startHAProxyCmd(t *testing.T, hap, cfg string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(hap, "-db", "-f", writeConfig(t, cfg))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}
