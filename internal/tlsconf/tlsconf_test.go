package tlsconf

import (
	"crypto/tls"
	"errors"
	"io/fs"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"tandem/internal/certgen"
)

// memFiles is an in-memory Files: paths to contents; a directory is any prefix "d/".
type memFiles map[string][]byte

func (m memFiles) ReadFile(p string) ([]byte, error) {
	if b, ok := m[p]; ok {
		return b, nil
	}
	return nil, fs.ErrNotExist
}

func (m memFiles) ReadDir(p string) ([]DirEntry, error) {
	prefix := strings.TrimSuffix(p, "/") + "/"
	seen := map[string]bool{}
	var out []DirEntry
	for k := range m {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			name, sub, isDir := strings.Cut(rest, "/")
			_ = sub
			if !seen[name] {
				seen[name] = true
				out = append(out, DirEntry{Name: name, IsDir: isDir})
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("not a directory")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

var (
	genMu    sync.Mutex
	genCache = map[string]*certgen.Cert{}
)

// gen makes (once per test binary) a certificate named key: CN cn, SANs sans.
func gen(t testing.TB, id, kt, cn string, sans ...string) *certgen.Cert {
	t.Helper()
	genMu.Lock()
	defer genMu.Unlock()
	if c := genCache[id]; c != nil {
		return c
	}
	c, err := certgen.New(certgen.Spec{CN: cn, DNSNames: sans, Key: kt}, nil)
	if err != nil {
		t.Fatal(err)
	}
	genCache[id] = c
	return c
}

func TestParsePEM(t *testing.T) {
	ec := gen(t, "ec", certgen.ECDSA, "www.example.com", "www.example.com", "Example.com")
	rsa := gen(t, "rsa", certgen.RSA, "rsa.example.com")
	ca := gen(t, "ca", certgen.ECDSA, "ca")
	tests := []struct {
		name    string
		files   memFiles
		key     KeyType
		names   []string
		chain   int
		ocsp    bool
		wantErr string
	}{
		{"cert then key", memFiles{"a.pem": ec.PEM()}, KeyECDSA, []string{"www.example.com", "example.com"}, 1, false, ""},
		{"key then cert then chain", memFiles{"a.pem": slices.Concat(rsa.KeyPEM, rsa.CertPEM, ca.CertPEM)}, KeyRSA, []string{"rsa.example.com"}, 2, false, ""},
		{"key in a .key sibling", memFiles{"a.pem": ec.CertPEM, "a.pem.key": ec.KeyPEM}, KeyECDSA, nil, 1, false, ""},
		{"ocsp sibling stapled", memFiles{"a.pem": ec.PEM(), "a.pem.ocsp": []byte{0x30, 0}}, KeyECDSA, nil, 1, true, ""},
		{"sctl sibling", memFiles{"a.pem": ec.PEM(), "a.pem.sctl": {0, 6, 0, 4, 1, 2, 3, 4}}, KeyECDSA, nil, 1, false, ""},
		{"bad sctl sibling", memFiles{"a.pem": ec.PEM(), "a.pem.sctl": []byte("junk")}, 0, nil, 0, false, "a.pem.sctl: not a signed certificate timestamp list"},
		{"dh params skipped", memFiles{"a.pem": slices.Concat(ec.PEM(), []byte("-----BEGIN DH PARAMETERS-----\nMAA=\n-----END DH PARAMETERS-----\n"))}, KeyECDSA, nil, 1, false, ""},
		{"no key anywhere", memFiles{"a.pem": ec.CertPEM}, 0, nil, 0, false, "no private key in the file and no a.pem.key"},
		{"key of another certificate", memFiles{"a.pem": slices.Concat(ec.CertPEM, rsa.KeyPEM)}, 0, nil, 0, false, "does not match"},
		{"no certificate", memFiles{"a.pem": ec.KeyPEM}, 0, nil, 0, false, "no certificate found"},
		{"encrypted key", memFiles{"a.pem": slices.Concat(ec.CertPEM, []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n"))}, 0, nil, 0, false, "encrypted"},
		{"garbage", memFiles{"a.pem": []byte("hello")}, 0, nil, 0, false, "no certificate found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParsePEM(tt.files, "a.pem", tt.files["a.pem"])
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Key != tt.key || len(c.TLS.Certificate) != tt.chain || (c.TLS.OCSPStaple != nil) != tt.ocsp {
				t.Errorf("key %v chain %d ocsp %v", c.Key, len(c.TLS.Certificate), c.TLS.OCSPStaple != nil)
			}
			if tt.names != nil && !slices.Equal(c.Names, tt.names) {
				t.Errorf("names %q, want %q", c.Names, tt.names)
			}
		})
	}
}

func TestLoadCrtDirectory(t *testing.T) {
	a := gen(t, "a", certgen.ECDSA, "a.test")
	b := gen(t, "b", certgen.RSA, "b.test")
	files := memFiles{
		"d/b.pem": b.PEM(), "d/a.pem": a.CertPEM, "d/a.pem.key": a.KeyPEM, "d/a.pem.ocsp": {0x30, 0},
		"d/a.pem.issuer": []byte("x"), "d/a.pem.sctl": {0, 3, 0, 1, 9}, "d/.hidden": []byte("x"), "d/sub/c.pem": []byte("x"),
		"single.pem":     a.PEM(),
		"bundle.pem.rsa": b.PEM(), "bundle.pem.ecdsa": a.PEM(),
		"empty/.x": []byte("x"),
	}
	tests := []struct {
		path    string
		want    []string // CNs in order
		wantErr string
	}{
		{"d", []string{"a.test", "b.test"}, ""},
		{"d/", []string{"a.test", "b.test"}, ""},
		{"single.pem", []string{"a.test"}, ""},
		{"bundle.pem", []string{"a.test", "b.test"}, ""}, // .ecdsa before .rsa
		{"missing.pem", nil, "no such file"},
		{"empty", nil, "no certificate file"},
	}
	for _, tt := range tests {
		certs, err := LoadCrt(files, tt.path)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err %v, want %q", tt.path, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		var got []string
		for _, c := range certs {
			got = append(got, c.TLS.Leaf.Subject.CommonName)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: loaded %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestParseCrtList(t *testing.T) {
	in := "# comment\n\ncert1.pem !*\r\ncert2.pem [alpn h2,http/1.1]\n  certW.pem   *.Domain.tld !secure.domain.tld\ncertS.pem [curves X25519:P-256 ciphers ECDHE-ECDSA-AES256-GCM-SHA384] secure.domain.tld\n"
	got, err := ParseCrtList("l.txt", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []CrtListLine{
		{Line: 3, Path: "cert1.pem", Filters: []string{"!*"}},
		{Line: 4, Path: "cert2.pem", Options: []string{"alpn", "h2,http/1.1"}},
		{Line: 5, Path: "certW.pem", Filters: []string{"*.domain.tld", "!secure.domain.tld"}},
		{Line: 6, Path: "certS.pem", Options: []string{"curves", "X25519:P-256", "ciphers", "ECDHE-ECDSA-AES256-GCM-SHA384"}, Filters: []string{"secure.domain.tld"}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines", len(got))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Line != w.Line || g.Path != w.Path || !slices.Equal(g.Options, w.Options) || !slices.Equal(g.Filters, w.Filters) {
			t.Errorf("line %d: got %+v, want %+v", i, g, w)
		}
	}
	bad := []struct{ in, msg string }{
		{"a.pem [alpn h2\n", "l.txt:1: missing ']'"},
		{"ok.pem\n[alpn h2] a.pem\n", "l.txt:2: certificate path"},
		{"a.pem x [alpn h2]\n", "l.txt:1: options in brackets"},
		{"a.pem !\n", "l.txt:1: empty negative"},
	}
	for _, b := range bad {
		if _, err := ParseCrtList("l.txt", []byte(b.in)); err == nil || !strings.Contains(err.Error(), b.msg) {
			t.Errorf("%q: err %v, want %q", b.in, err, b.msg)
		}
	}
}

func TestParseLineOptions(t *testing.T) {
	tests := []struct {
		words   string
		wantErr string
	}{
		{"alpn h2,http/1.1 ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.3", ""},
		{"no-tls-tickets", `"no-tls-tickets" is not allowed in a crt-list line`}, // HAProxy 2.6: unknown ssl keyword
		{"verify required ca-file ca.pem ciphers ECDHE-RSA-AES128-GCM-SHA256 curves P-256 ecdhe X25519", ""},
		{"ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", ""},
		{"npn h2", `option "npn" is not supported by tandem`},
		{"strict-sni", `not allowed in a crt-list line`},
		{"bogus 1", `unknown option "bogus"`},
		{"alpn", `needs an argument`},
		{"ssl-min-ver SSLv4", `unknown version "SSLv4"`},
		{"verify sometimes", "expected none, optional or required"},
	}
	for _, tt := range tests {
		_, err := ParseLineOptions(strings.Fields(tt.words))
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%q: err %v, want %q", tt.words, err, tt.wantErr)
		}
	}
}

func TestParseCiphers(t *testing.T) {
	tests := []struct {
		list    string
		want    []uint16
		wantErr string
	}{
		{"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256", []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, ""},
		{"ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256:!SHA1", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, ""},
		{"ECDHE-RSA-AES128-GCM-SHA256:!aNULL:!MD5:!DSS:@STRENGTH", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, ""},
		{"!kRSA:AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384}, ""},
		{"ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256", nil, "finite-field Diffie-Hellman"},
		{"ECDHE-RSA-CAMELLIA128-SHA256", nil, "not implemented by Go"},
		{"ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:!DHE", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, ""},
		{"!kDHE:DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, ""},
		{"DHE-RSA-AES128-GCM-SHA256:-DHE:ECDHE-RSA-AES128-GCM-SHA256", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, ""},
		{"HIGH:!aNULL:!MD5", nil, `cipher class "HIGH"`},
		{"ECDHE+AESGCM", nil, `cipher class "ECDHE+AESGCM"`},
		{"ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=2", nil, "@SECLEVEL=2 is not supported"},
		{"ECDHE-RSA-AES128-GCM-SHA25", nil, `unknown cipher "ECDHE-RSA-AES128-GCM-SHA25"`},
		{"!aNULL", nil, "selects no cipher suite"},
		{"ECDHE-RSA-AES128-GCM-SHA256:!BOGUS", nil, `unknown cipher or class "BOGUS"`},
	}
	for _, tt := range tests {
		got, err := ParseCiphers(tt.list)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: err %v, want %q", tt.list, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%q: got %x, %v; want %x", tt.list, got, err, tt.want)
		}
	}
	// Every suite tandem maps is one crypto/tls knows under that id.
	known := map[uint16]bool{}
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		known[s.ID] = true
	}
	for _, s := range goSuites {
		if !known[s.id] {
			t.Errorf("%s: id %#x is not a crypto/tls suite", s.name, s.id)
		}
	}
}

func TestCipherSuitesAndCurves(t *testing.T) {
	if err := CheckCipherSuites("TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256"); err != nil {
		t.Errorf("Go's three suites in another order: %v", err)
	}
	for _, bad := range []string{"TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256", "TLS_FOO"} {
		if err := CheckCipherSuites(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	c, err := ParseCurves("X25519:prime256v1:secp384r1")
	if err != nil || !slices.Equal(c, []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384}) {
		t.Errorf("curves %v, %v", c, err)
	}
	for _, bad := range []string{"X448", "ffdhe2048", "P-999", ""} {
		if _, err := ParseCurves(bad); err == nil {
			t.Errorf("curve %q accepted", bad)
		}
	}
}

func opts(t *testing.T, where int, words string) *Options {
	t.Helper()
	o := &Options{}
	w := strings.Fields(words)
	for i := 0; i < len(w); {
		n, err := o.ParseOption(w[i:], where)
		if err != nil {
			t.Fatalf("%q: %v", words, err)
		}
		i += n
	}
	return o
}

func TestResolveVersions(t *testing.T) {
	tests := []struct {
		global, bind string
		min, max     uint16
		wantErr      string
	}{
		{"", "", tls.VersionTLS12, tls.VersionTLS13, ""},
		{"no-tlsv13", "", tls.VersionTLS12, tls.VersionTLS12, ""},
		{"ssl-min-ver TLSv1.3", "", tls.VersionTLS13, tls.VersionTLS13, ""},
		{"ssl-min-ver TLSv1.0", "ssl-max-ver TLSv1.2", tls.VersionTLS10, tls.VersionTLS12, ""},
		{"", "force-tlsv12", tls.VersionTLS12, tls.VersionTLS12, ""},
		{"no-sslv3 no-tlsv10 no-tlsv11", "", tls.VersionTLS12, tls.VersionTLS13, ""},
		{"", "no-tlsv12", tls.VersionTLS13, tls.VersionTLS13, ""},
		{"ssl-min-ver TLSv1.1", "no-tlsv12", tls.VersionTLS11, tls.VersionTLS13, ""}, // no-* ignored, as HAProxy
		{"ssl-min-ver SSLv3", "", tls.VersionTLS10, tls.VersionTLS13, ""},            // the lowest there is
		{"", "ssl-max-ver SSLv3", 0, 0, "no TLS version left"},
		{"", "no-tlsv12 no-tlsv13", 0, 0, "no TLS version left"},
		{"ssl-min-ver TLSv1.3", "ssl-max-ver TLSv1.2", 0, 0, "no TLS version left"},
	}
	for _, tt := range tests {
		s, err := Resolve(CAs{}, opts(t, InDefaultOptions, tt.global), opts(t, InBind, tt.bind))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q/%q: err %v, want %q", tt.global, tt.bind, err, tt.wantErr)
			}
			continue
		}
		if err != nil || s.MinVersion != tt.min || s.MaxVersion != tt.max {
			t.Errorf("%q/%q: %v; got %x-%x want %x-%x", tt.global, tt.bind, err, s.MinVersion, s.MaxVersion, tt.min, tt.max)
		}
	}
	if s, _ := Resolve(CAs{}, opts(t, InDefaultOptions, "ssl-min-ver TLSv1.2"), opts(t, InBind, "no-tlsv13")); s.Ignored == "" || s.MaxVersion != tls.VersionTLS13 {
		t.Errorf("no-tlsv13 with ssl-min-ver: not ignored: %+v", s)
	}
	if s, _ := Resolve(CAs{}, opts(t, InBind, "no-tlsv13 no-sslv3")); s.Ignored != "" || s.MaxVersion != tls.VersionTLS12 {
		t.Errorf("no-tlsv13 alone: %+v", s)
	}
	if _, err := Resolve(CAs{}, opts(t, InBind, "verify required")); err == nil || !strings.Contains(err.Error(), "needs a ca-file") {
		t.Errorf("verify required without ca-file: %v", err)
	}
	s, _ := Resolve(CAs{})
	if !slices.Equal(s.Ciphers, DefaultCiphers) {
		t.Errorf("default ciphers %x", s.Ciphers)
	}
	for _, id := range s.Ciphers {
		name := CipherName(id)
		if !strings.HasPrefix(name, "ECDHE-") || strings.HasSuffix(name, "-SHA") {
			t.Errorf("default suite %s: RSA key exchange or CBC-SHA1", name)
		}
	}
}

// entry makes a store entry of c with crt-list filters.
func entry(t testing.TB, c *certgen.Cert, filters ...string) *Entry {
	t.Helper()
	files := memFiles{"x.pem": c.PEM()}
	pc, err := ParsePEM(files, "x.pem", files["x.pem"])
	if err != nil {
		t.Fatal(err)
	}
	return &Entry{Cert: pc, Filters: filters}
}

func TestStoreSelect(t *testing.T) {
	def := entry(t, gen(t, "def", certgen.ECDSA, "default.test"))
	wwwEC := entry(t, gen(t, "wwwEC", certgen.ECDSA, "www.example.com"))
	wwwRSA := entry(t, gen(t, "wwwRSA", certgen.RSA, "www.example.com"))
	wildEC := entry(t, gen(t, "wildEC", certgen.ECDSA, "*.example.com"))
	wildRSA := entry(t, gen(t, "wildRSA", certgen.RSA, "wild-rsa", "*.example.com"))
	onlyRSA := entry(t, gen(t, "onlyRSA", certgen.RSA, "old.test"))
	wildFilter := entry(t, gen(t, "wf", certgen.ECDSA, "ignored.test"), "*.domain.tld", "!secure.domain.tld")
	secure := entry(t, gen(t, "sec", certgen.RSA, "secure.domain.tld"), "secure.domain.tld")
	second := entry(t, gen(t, "dup", certgen.ECDSA, "www.example.com"))
	b := &Bind{Entries: []*Entry{def, wwwEC, wwwRSA, wildEC, wildRSA, onlyRSA, wildFilter, secure, second}, Settings: &Settings{}}
	st := NewStore(b, nil)
	bothSig, rsaSig := Hello{ECDSA: true, RSA: true}, Hello{RSA: true}
	tests := []struct {
		name  string
		sni   string
		hello Hello
		want  *Entry
	}{
		{"exact, client takes ECDSA", "www.example.com", bothSig, wwwEC},
		{"exact, client takes RSA only", "www.example.com", rsaSig, wwwRSA},
		{"case does not matter", "WWW.Example.COM", bothSig, wwwEC},
		{"wildcard ECDSA", "api.example.com", bothSig, wildEC},
		{"wildcard RSA", "api.example.com", rsaSig, wildRSA},
		{"wildcard is one label only", "a.b.example.com", bothSig, def},
		{"wildcard does not match the apex", "example.com", bothSig, def},
		{"no SNI: default", "", bothSig, def},
		{"unknown name: default", "nothing.test", bothSig, def},
		{"RSA only name, ECDSA client", "old.test", bothSig, onlyRSA},
		{"crt-list wildcard filter", "x.domain.tld", bothSig, wildFilter},
		{"negative filter excludes from the wildcard", "secure.domain.tld", bothSig, secure},
		{"filters replace the certificate's own names", "ignored.test", bothSig, def},
		{"default reached by its name", "default.test", bothSig, def},
	}
	for _, tt := range tests {
		h := tt.hello
		h.SNI = tt.sni
		if got := st.Select(h); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got.Cert.Names, tt.want.Cert.Names)
		}
	}
	// Selection runs in every handshake: a wildcard match through a crt-list line's
	// negative filters allocates nothing (not counted under the race detector).
	if n := testing.AllocsPerRun(100, func() { st.Select(Hello{SNI: "x.domain.tld", ECDSA: true, RSA: true}) }); n != 0 && !raceEnabled {
		t.Errorf("Select allocates %v times per handshake, want 0", n)
	}
	b.StrictSNI = true
	st = NewStore(b, nil)
	for _, sni := range []string{"", "nothing.test", "a.b.example.com"} {
		if got := st.Select(Hello{SNI: sni, ECDSA: true, RSA: true}); got != nil {
			t.Errorf("strict-sni %q: got %v, want a refusal", sni, got.Cert.Names)
		}
	}
	if got := st.Select(Hello{SNI: "www.example.com", ECDSA: true}); got != wwwEC {
		t.Errorf("strict-sni with a match: %v", got)
	}
}

// TestLiveHandshake runs real handshakes through Live.Config and swaps the store.
func TestLiveHandshake(t *testing.T) {
	a := entry(t, gen(t, "la", certgen.ECDSA, "a.test"))
	b := entry(t, gen(t, "lb", certgen.RSA, "b.test"))
	set, err := Resolve(CAs{}, opts(t, InBind, "alpn http/1.1"))
	if err != nil {
		t.Fatal(err)
	}
	live := NewLive(&Bind{Entries: []*Entry{a, b}, Settings: set, StrictSNI: true})
	shake := func(sni string, alpn []string) (tls.ConnectionState, error) {
		c1, c2 := net.Pipe()
		defer c1.Close()
		defer c2.Close()
		go func() {
			s := tls.Server(c2, live.Config())
			s.SetDeadline(time.Now().Add(5 * time.Second))
			s.Handshake()
		}()
		cl := tls.Client(c1, &tls.Config{ServerName: sni, InsecureSkipVerify: true, NextProtos: alpn})
		cl.SetDeadline(time.Now().Add(5 * time.Second))
		err := cl.Handshake()
		return cl.ConnectionState(), err
	}
	cs, err := shake("b.test", []string{"h2"})
	if err != nil {
		t.Fatal(err)
	}
	if cs.PeerCertificates[0].Subject.CommonName != "b.test" || cs.NegotiatedProtocol != "" {
		t.Errorf("got %s alpn %q", cs.PeerCertificates[0].Subject.CommonName, cs.NegotiatedProtocol)
	}
	if cs, _ = shake("a.test", []string{"h2", "http/1.1"}); cs.NegotiatedProtocol != "http/1.1" {
		t.Errorf("alpn %q", cs.NegotiatedProtocol)
	}
	if _, err := shake("c.test", nil); err == nil {
		t.Error("strict-sni: unknown name accepted")
	}
	live.Swap(&Bind{Entries: []*Entry{b}, Settings: set})
	if cs, err = shake("a.test", nil); err != nil || cs.PeerCertificates[0].Subject.CommonName != "b.test" {
		t.Errorf("after swap: %v", err)
	}
}

func FuzzParseCrtList(f *testing.F) {
	f.Add([]byte("cert1.pem !*\ncert2.pem [alpn h2,http/1.1 verify none] *.a.b !x.a.b\n# c\n"))
	f.Add([]byte("a [b"))
	f.Fuzz(func(t *testing.T, b []byte) {
		lines, err := ParseCrtList("f", b)
		if err != nil {
			return
		}
		for _, l := range lines {
			if l.Path == "" || strings.ContainsAny(l.Path, " \t[]") {
				t.Fatalf("bad path %q", l.Path)
			}
			ParseLineOptions(l.Options)
		}
	})
}

func FuzzParsePEM(f *testing.F) {
	c := gen(f, "fz", certgen.ECDSA, "f.test")
	f.Add(c.PEM())
	f.Add(c.CertPEM)
	f.Fuzz(func(t *testing.T, b []byte) {
		files := memFiles{"a.pem": b, "a.pem.key": c.KeyPEM}
		if pc, err := ParsePEM(files, "a.pem", b); err == nil && pc.TLS.Leaf == nil {
			t.Fatal("no leaf")
		}
	})
}

func FuzzParseCiphers(f *testing.F) {
	f.Add("ECDHE-RSA-AES128-GCM-SHA256:!aNULL:+RSA:@STRENGTH")
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := ParseCiphers(s)
		if err == nil && len(ids) == 0 {
			t.Fatal("no suites and no error")
		}
	})
}
