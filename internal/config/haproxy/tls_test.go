package haproxy

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"tandem/internal/certgen"
	"tandem/internal/tlsconf"
)

// tlsDir writes certificates to a temp dir: a.pem (ECDSA a.test), b.pem (RSA b.test),
// ca.pem (a CA), list.txt (a crt-list). It returns the dir.
func tlsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a, err := certgen.New(certgen.Spec{CN: "a.test", DNSNames: []string{"a.test"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := certgen.New(certgen.Spec{CN: "b.test", Key: certgen.RSA}, nil)
	if err != nil {
		t.Fatal(err)
	}
	write("a.pem", a.PEM())
	write("b.pem", b.PEM())
	write("ca.pem", a.CertPEM)
	os.Mkdir(filepath.Join(dir, "certs"), 0o700)
	write("certs/1-b.pem", b.PEM())
	write("certs/2-a.pem", a.CertPEM)
	write("certs/2-a.pem.key", a.KeyPEM)
	write("list.txt", []byte("a.pem [alpn http/1.1 ssl-min-ver TLSv1.3] *.a.test !x.a.test\nb.pem\n"))
	write("badlist.txt", []byte("a.pem\nb.pem [npn h2]\n"))
	var keys []string
	for i := 0; i < 3; i++ {
		keys = append(keys, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{byte(i)}, 80)))
	}
	write("ticket.keys", []byte(strings.Join(keys, "\n")+"\n"))
	return dir
}

func tlsParse(t *testing.T, dir, text string) (*tlsConfigResult, error) {
	t.Helper()
	text = strings.ReplaceAll(text, "DIR", dir)
	cfg, err := Parse("t.cfg", []byte(text), Options{ReadFile: os.ReadFile, Resolve: fakeResolver(nil)})
	if err != nil {
		return nil, err
	}
	return &tlsConfigResult{cfg.Frontends[0].Binds[0].TLS, cfg.Backends[len(cfg.Backends)-1].Servers, warnings(cfg)}, nil
}

type tlsConfigResult struct {
	bind     *tlsconf.Bind
	servers  any
	warnings []string
}

const tlsHead = "defaults\n    mode http\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\n"

func TestBindTLS(t *testing.T) {
	dir := tlsDir(t)
	tests := []struct {
		name  string
		cfg   string
		check func(t *testing.T, r *tlsConfigResult)
	}{
		{"crt file and dir in order", "frontend f\n    bind :443 ssl crt DIR/a.pem crt DIR/certs\n    default_backend b\nbackend b\n", func(t *testing.T, r *tlsConfigResult) {
			var got []string
			for _, e := range r.bind.Entries {
				got = append(got, e.Cert.TLS.Leaf.Subject.CommonName)
			}
			if !slices.Equal(got, []string{"a.test", "b.test", "a.test"}) {
				t.Errorf("entries %q", got)
			}
			s := r.bind.Settings
			if s.MinVersion != tls.VersionTLS12 || s.MaxVersion != tls.VersionTLS13 || !slices.Equal(s.Ciphers, tlsconf.DefaultCiphers) || r.bind.StrictSNI {
				t.Errorf("settings %+v", s)
			}
		}},
		{"crt-base and options", "global\n    crt-base DIR\n    ssl-default-bind-options no-tlsv13 no-tls-tickets\n    ssl-default-bind-ciphers ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:!DHE\n" +
			"frontend f\n    bind :443 ssl crt a.pem strict-sni alpn http/1.1 curves X25519:P-256\n    default_backend b\nbackend b\n", func(t *testing.T, r *tlsConfigResult) {
			s := r.bind.Settings
			if s.MaxVersion != tls.VersionTLS12 || !s.NoTickets || !r.bind.StrictSNI || !slices.Equal(s.ALPN, []string{"http/1.1"}) ||
				!slices.Equal(s.Ciphers, []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}) || len(s.Curves) != 2 {
				t.Errorf("settings %+v", s)
			}
		}},
		{"crt-list with line options and filters", "global\n    crt-base DIR\nfrontend f\n    bind :443 ssl crt-list DIR/list.txt\n    default_backend b\nbackend b\n", func(t *testing.T, r *tlsConfigResult) {
			if len(r.bind.Entries) != 2 || r.bind.Entries[0].Settings == nil || r.bind.Entries[0].Settings.MinVersion != tls.VersionTLS13 ||
				r.bind.Entries[1].Settings != nil || !slices.Equal(r.bind.Entries[0].Filters, []string{"*.a.test", "!x.a.test"}) {
				t.Errorf("entries %+v", r.bind.Entries)
			}
		}},
		{"client certificates", "frontend f\n    bind :443 ssl crt DIR/a.pem verify optional ca-file DIR/ca.pem\n    default_backend b\nbackend b\n", func(t *testing.T, r *tlsConfigResult) {
			if r.bind.Settings.ClientAuth != tls.VerifyClientCertIfGiven || r.bind.Settings.ClientCAs == nil {
				t.Errorf("settings %+v", r.bind.Settings)
			}
		}},
		{"crt without ssl is plain, as HAProxy", "frontend f\n    bind :443 crt DIR/a.pem\n    default_backend b\nbackend b\n", func(t *testing.T, r *tlsConfigResult) {
			if r.bind != nil || len(r.warnings) != 1 || !strings.Contains(r.warnings[0], `"crt" without "ssl"`) {
				t.Errorf("bind %v warnings %q", r.bind, r.warnings)
			}
		}},
		{"tls-ticket-keys", "frontend f\n    bind :443 ssl crt DIR/a.pem tls-ticket-keys DIR/ticket.keys\n    default_backend b\nbackend b\n", func(t *testing.T, r *tlsConfigResult) {
			if len(r.bind.TicketKeys) != 3 {
				t.Errorf("ticket keys %d", len(r.bind.TicketKeys))
			}
		}},
		{"alpn h2 in mode http (internal/h2 serves it)", "frontend f\n    bind :443 ssl crt DIR/a.pem alpn h2,http/1.1\n    default_backend b\nbackend b\n", func(t *testing.T, r *tlsConfigResult) {
			if !slices.Equal(r.bind.Settings.ALPN, []string{"h2", "http/1.1"}) {
				t.Errorf("alpn %q", r.bind.Settings.ALPN)
			}
		}},
		{"alpn h2 in mode tcp", "frontend f\n    mode tcp\n    bind :443 ssl crt DIR/a.pem alpn h2,http/1.1\n    default_backend b\nbackend b\n    mode tcp\n", func(t *testing.T, r *tlsConfigResult) {
			if !slices.Equal(r.bind.Settings.ALPN, []string{"h2", "http/1.1"}) {
				t.Errorf("alpn %q", r.bind.Settings.ALPN)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tlsParse(t, dir, tlsHead+tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r)
		})
	}
}

func TestTLSErrors(t *testing.T) {
	dir := tlsDir(t)
	tests := []struct {
		name, cfg, want string
	}{
		{"ssl without crt", "frontend f\n    bind :443 ssl\n    default_backend b\nbackend b\n", `t.cfg:7: frontend "f": bind: "ssl" needs a certificate`},
		{"verify without ca-file", "frontend f\n    bind :443 ssl crt DIR/a.pem verify required\n    default_backend b\nbackend b\n", `t.cfg:7: frontend "f": bind: verify required needs a ca-file`},
		{"DHE in the bind's ciphers", "frontend f\n    bind :443 ssl crt DIR/a.pem ciphers ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256\n    default_backend b\nbackend b\n", "DHE-RSA-AES128-GCM-SHA256 uses finite-field Diffie-Hellman (DHE), which Go's crypto/tls does not implement"},
		{"DHE in the global ciphers a bind uses", "global\n    ssl-default-bind-ciphers DHE-RSA-AES128-GCM-SHA256\n" + "frontend f\n    bind :443 ssl crt DIR/a.pem\n    default_backend b\nbackend b\n", `t.cfg:9: frontend "f": bind uses ssl-default-bind-ciphers (t.cfg:7): cipher list`},
		{"TLS 1.3 suites Go cannot choose", "frontend f\n    bind :443 ssl crt DIR/a.pem ciphersuites TLS_AES_256_GCM_SHA384\n    default_backend b\nbackend b\n", "always offers exactly TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"},
		{"SSLv3 as the maximum", "frontend f\n    bind :443 ssl crt DIR/a.pem ssl-max-ver SSLv3\n    default_backend b\nbackend b\n", "no TLS version left"},
		{"crt-list line option refused with file:line", "global\n    crt-base DIR\nfrontend f\n    bind :443 ssl crt-list DIR/badlist.txt\n    default_backend b\nbackend b\n", `badlist.txt:2: option "npn" is not supported by tandem`},
		{"missing key", "frontend f\n    bind :443 ssl crt DIR/ca.pem\n    default_backend b\nbackend b\n", "no private key in the file and no"},
		{"unsupported bind option", "frontend f\n    bind :443 ssl crt DIR/a.pem npn h2\n    default_backend b\nbackend b\n", `bind option "npn" is not supported by tandem`},
		{"missing ticket keys", "frontend f\n    bind :443 ssl crt DIR/a.pem tls-ticket-keys DIR/nokeys\n    default_backend b\nbackend b\n", `bind: tls-ticket-keys: open`},
		{"too few ticket keys", "frontend f\n    bind :443 ssl crt DIR/a.pem tls-ticket-keys DIR/ca.pem\n    default_backend b\nbackend b\n", `unable to decode base64 key on line 1`},
		{"server ssl without ca-file", "backend b\n    server s 127.0.0.1:443 ssl\n", `verify is enabled by default but no CA file specified`},
		{"server alpn h2 in mode http", "backend b\n    server s 127.0.0.1:443 ssl verify none alpn h2\n", `server "s": alpn "h2": tandem speaks HTTP/1 to servers for now`},
		{"server sni expression", "backend b\n    server s 127.0.0.1:443 ssl verify none sni req.hdr(host)\n", `sni "req.hdr(host)": tandem takes a constant str(NAME) only; a sample expression worked out per connection is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.cfg", []byte(strings.ReplaceAll(tlsHead+tt.cfg, "DIR", dir)), Options{ReadFile: os.ReadFile, Resolve: fakeResolver(nil)})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v\nwant %q", err, tt.want)
			}
		})
	}
}

func TestServerTLS(t *testing.T) {
	dir := tlsDir(t)
	tests := []struct {
		name  string
		cfg   string
		check func(t *testing.T, s *tlsconf.Server)
	}{
		{"verify none", "backend b\n    server s 127.0.0.1:443 ssl verify none sni str(app.test) alpn http/1.1 no-ssl-reuse check\n", func(t *testing.T, s *tlsconf.Server) {
			if s.Verify || s.SNI != "app.test" || !s.NoReuse || !s.CheckSSL || !s.Traffic || !slices.Equal(s.Settings.ALPN, []string{"http/1.1"}) {
				t.Errorf("%+v", s)
			}
		}},
		{"ssl-server-verify none", "global\n    ssl-server-verify none\nbackend b\n    server s 127.0.0.1:443 ssl\n", func(t *testing.T, s *tlsconf.Server) {
			if s.Verify {
				t.Errorf("%+v", s)
			}
		}},
		{"verify with ca-file and crt", "global\n    ca-base DIR\nbackend b\n    server s 127.0.0.1:443 ssl ca-file ca.pem crt DIR/b.pem verifyhost b.test\n", func(t *testing.T, s *tlsconf.Server) {
			if !s.Verify || s.RootCAs == nil || s.Cert == nil || s.VerifyHost != "b.test" {
				t.Errorf("%+v", s)
			}
		}},
		{"check on another port stays plain", "backend b\n    server s 127.0.0.1:443 ssl verify none check port 80\n", func(t *testing.T, s *tlsconf.Server) {
			if s.CheckSSL {
				t.Errorf("%+v", s)
			}
		}},
		{"check-ssl alone", "backend b\n    server s 127.0.0.1:80 check check-ssl verify none\n", func(t *testing.T, s *tlsconf.Server) {
			if s.Traffic || !s.CheckSSL {
				t.Errorf("%+v", s)
			}
		}},
		{"default-server carries ssl", "backend b\n    default-server ssl verify none\n    server s 127.0.0.1:443\n", func(t *testing.T, s *tlsconf.Server) {
			if !s.Traffic {
				t.Errorf("%+v", s)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("t.cfg", []byte(strings.ReplaceAll(tlsHead+tt.cfg, "DIR", dir)), Options{ReadFile: os.ReadFile, Resolve: fakeResolver(nil)})
			if err != nil {
				t.Fatal(err)
			}
			s := cfg.Backends[0].Servers[0].TLS
			if s == nil {
				t.Fatal("no TLS")
			}
			tt.check(t, s)
		})
	}
}

// TestCertificateFilesReadOnce: a certificate file that several binds, crt-list lines
// and server lines name is read once per load, companions included, as HAProxy keeps
// one certificate store per file; every use gets that one certificate.
func TestCertificateFilesReadOnce(t *testing.T) {
	dir := tlsDir(t)
	if err := os.WriteFile(filepath.Join(dir, "twice.txt"), []byte("a.pem a.test\na.pem [alpn h2] x.test\nb.pem\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "b.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c.pem"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	reads := map[string]int{}
	read := func(path string) ([]byte, error) {
		reads[strings.TrimPrefix(path, dir+"/")]++
		return os.ReadFile(path)
	}
	// c.pem is a server's client certificate first, then a bind's.
	text := strings.ReplaceAll(tlsHead+"global\n    crt-base DIR\n"+
		"backend early\n    server c 127.0.0.1:446 ssl verify none crt c.pem\n"+
		"frontend f\n    bind :443 ssl crt a.pem crt-list DIR/twice.txt\n    bind :8443 ssl crt DIR/a.pem crt DIR/certs\n    bind :9443 ssl crt DIR/certs crt DIR/c.pem\n    default_backend b\n"+
		"backend b\n    default-server ssl verify none crt b.pem\n    server s1 127.0.0.1:443\n    server s2 127.0.0.1:444\n    server s3 127.0.0.1:445 crt DIR/b.pem\n",
		"DIR", dir)
	cfg, err := Parse("t.cfg", []byte(text), Options{ReadFile: read, Resolve: fakeResolver(nil)})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"a.pem", "a.pem.ocsp", "a.pem.sctl", "b.pem", "b.pem.ocsp", "c.pem", "c.pem.sctl", "certs/1-b.pem", "certs/2-a.pem", "certs/2-a.pem.key", "twice.txt"} {
		if reads[f] != 1 {
			t.Errorf("%s read %d times, want once (all reads: %v)", f, reads[f], reads)
		}
	}
	binds := cfg.Frontends[0].Binds
	first := binds[0].TLS.Entries
	if len(first) != 4 || first[0].Cert != first[1].Cert || first[1].Cert != first[2].Cert || binds[1].TLS.Entries[0].Cert != first[0].Cert {
		t.Errorf("a.pem is not one certificate across its uses")
	}
	if binds[1].TLS.Entries[1].Cert != binds[2].TLS.Entries[0].Cert {
		t.Errorf("crt DIR/certs is not one load across its binds")
	}
	srv := cfg.Backends[1].Servers
	if srv[0].TLS.Cert == nil || srv[0].TLS.Cert != srv[1].TLS.Cert || srv[1].TLS.Cert != srv[2].TLS.Cert || srv[0].TLS.Cert != binds[0].TLS.Entries[3].Cert.TLS {
		t.Errorf("b.pem is not one certificate across the servers and the crt-list")
	}
	if c := binds[2].TLS.Entries[2].Cert; c.Path != dir+"/c.pem" || c.TLS != cfg.Backends[0].Servers[0].TLS.Cert {
		t.Errorf("c.pem, a server's crt then a bind's, is not one certificate")
	}
}

// TestCAFilesReadOnce: the ca-file and crl-file that many server lines name are read
// once per load; those of crt-list lines added at run time are read at each use (the
// files as they are then), and their errors say which file kind failed, as at load.
func TestCAFilesReadOnce(t *testing.T) {
	dir := tlsDir(t)
	ca, err := certgen.New(certgen.Spec{CN: "ca", IsCA: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := certgen.CRL(ca, 7)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "crl.pem"), crl, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "root.pem"), ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	reads := map[string]int{}
	read := func(path string) ([]byte, error) {
		reads[strings.TrimPrefix(path, dir+"/")]++
		return os.ReadFile(path)
	}
	text := strings.ReplaceAll(tlsHead+"global\n    ca-base DIR\n"+
		"frontend f\n    bind :443 ssl crt DIR/a.pem verify optional ca-file root.pem crl-file crl.pem\n    default_backend b\n"+
		"backend b\n    default-server ssl ca-file root.pem crl-file crl.pem\n    server s1 127.0.0.1:443\n    server s2 127.0.0.1:444\n    server s3 127.0.0.1:445 ca-file DIR/root.pem\n",
		"DIR", dir)
	cfg, err := Parse("t.cfg", []byte(text), Options{ReadFile: read, Resolve: fakeResolver(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if reads["root.pem"] != 1 || reads["crl.pem"] != 1 {
		t.Errorf("reads %v, want root.pem and crl.pem once each", reads)
	}
	srv := cfg.Backends[0].Servers
	if len(srv[0].TLS.CRLs) != 1 || srv[0].TLS.RootCAs != srv[2].TLS.RootCAs {
		t.Errorf("servers do not share the one ca-file and crl-file load")
	}
	run := cfg.Frontends[0].Binds[0].TLS.CAs
	for i := 1; i <= 2; i++ {
		if _, err := run.CRL("crl.pem"); err != nil {
			t.Fatal(err)
		}
		if reads["crl.pem"] != 1+i {
			t.Errorf("run-time crl-file read %d times after %d uses, want %d", reads["crl.pem"], i, 1+i)
		}
	}
	if _, err := run.Pool("crl.pem"); err == nil || !strings.HasPrefix(err.Error(), "ca-file: ") {
		t.Errorf("run-time ca-file without a certificate: %v, want a ca-file: error", err)
	}
}
