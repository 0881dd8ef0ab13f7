package tlsconf

import (
	"crypto/tls"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"tandem/internal/certgen"
)

func served(t *testing.T, live *Live, sni string) string {
	t.Helper()
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	go func() {
		s := tls.Server(c2, live.Config())
		s.SetDeadline(time.Now().Add(5 * time.Second))
		s.Handshake()
	}()
	cl := tls.Client(c1, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
	cl.SetDeadline(time.Now().Add(5 * time.Second))
	if err := cl.Handshake(); err != nil {
		return "refused"
	}
	return cl.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// TestRegistryTransaction runs `set ssl cert`, `show ssl cert`, `commit ssl cert` and
// `abort ssl cert` with HAProxy 2.6's outputs (taken from Debian's haproxy over its
// stats socket), and checks that a commit changes the certificate of the next
// handshake on every bind using the file.
func TestRegistryTransaction(t *testing.T) {
	a := entry(t, gen(t, "ra", certgen.ECDSA, "a.test"))
	a.Cert.Path = "/certs/a.pem"
	other := entry(t, gen(t, "rother", certgen.RSA, "other.test"))
	other.Cert.Path = "/certs/other.pem"
	set, _ := Resolve(CAs{})
	live1 := NewLive(&Bind{Entries: []*Entry{a}, Settings: set})
	live2 := NewLive(&Bind{Entries: []*Entry{other, a}, Settings: set})
	reg := &Registry{}
	reg.Reset([]*Live{live1, live2})
	repl, err := certgen.New(certgen.Spec{CN: "new.test", DNSNames: []string{"new.test", "*.new.test"}, Serial: 0x1234}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wrongKey := gen(t, "rwrong", certgen.ECDSA, "x")
	steps := []struct{ do, want string }{
		{"show", "# filename\n/certs/a.pem\n/certs/other.pem\n"},
		{"show /nope.pem", "Can't display the certificate: Not found or the certificate is a bundle!\n"},
		{"set /nope.pem full", "Can't replace a certificate which is not referenced by the configuration!\nCan't update /nope.pem!\n"},
		{"set /certs/a.pem garbage", "unable to load certificate from file '/certs/a.pem'.\nCan't load the payload\nCan't update /certs/a.pem!\n"},
		{"commit /certs/a.pem", "No ongoing transaction! !\nCan't commit /certs/a.pem!\n"},
		{"abort /certs/a.pem", "No ongoing transaction!\n"},
		{"set /certs/a.pem certonly", "Transaction created for certificate /certs/a.pem!\n"},
		{"commit /certs/a.pem", "The transaction must contain at least a certificate and a private key!\nCan't commit /certs/a.pem!\n"},
		{"set /certs/a.pem wrongkey", "Transaction updated for certificate /certs/a.pem!\n"},
		{"commit /certs/a.pem", "inconsistencies between private key and certificate loaded '/certs/a.pem'.\nCan't commit /certs/a.pem!\n"},
		{"set /certs/other.pem full", "Transaction updated for certificate /certs/a.pem!\n"},
		{"show", "# transaction\n*/certs/a.pem\n# filename\n/certs/a.pem\n/certs/other.pem\n"},
		{"commit /certs/other.pem", "The ongoing transaction is about '/certs/a.pem' but you are trying to set '/certs/other.pem'\nCan't commit /certs/other.pem!\n"},
		{"abort /certs/other.pem", "The ongoing transaction is about '/certs/a.pem' but you are trying to abort a transaction for '/certs/other.pem'\n"},
		{"commit /certs/a.pem", "Committing /certs/a.pem..\nSuccess!\n"},
		{"show", "# filename\n/certs/a.pem\n/certs/other.pem\n"},
		{"set /certs/a.pem full", "Transaction created for certificate /certs/a.pem!\n"},
		{"abort /certs/a.pem", "Transaction aborted for certificate '/certs/a.pem'!\n"},
		{"set ", "'set ssl cert expects a filename and a certificate as a payload\n"},
		{"commit ", "'commit ssl cert expects a filename\n"},
		{"abort ", "'abort ssl cert' expects a filename\n"},
	}
	payloads := map[string][]byte{"full": repl.PEM(), "certonly": repl.CertPEM, "wrongkey": slices.Concat(repl.CertPEM, wrongKey.KeyPEM), "garbage": []byte("hello\n")}
	if got := served(t, live1, "a.test"); got != "a.test" {
		t.Fatalf("before: %s", got)
	}
	for i, s := range steps {
		verb, rest, _ := strings.Cut(s.do, " ")
		name, pl, _ := strings.Cut(rest, " ")
		var got string
		switch verb {
		case "show":
			got = reg.Show(name)
		case "set":
			got = reg.Set(name, payloads[pl])
		case "commit":
			got = reg.Commit(name)
		case "abort":
			got = reg.Abort(name)
		}
		if got != s.want {
			t.Errorf("step %d %q:\n got %q\nwant %q", i, s.do, got, s.want)
		}
	}
	for _, l := range []*Live{live1, live2} {
		if got := served(t, l, "new.test"); got != "new.test" {
			t.Errorf("after commit: %s served", got)
		}
	}
	if got := served(t, live2, "other.test"); got != "other.test" {
		t.Errorf("the other certificate changed: %s", got)
	}
	desc := reg.Show("/certs/a.pem")
	want := regexp.MustCompile(`^Filename: /certs/a.pem
Status: Used
Serial: 1234
notBefore: [A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d \d{4} GMT
notAfter: [A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d \d{4} GMT
Subject Alternative Name: DNS:new.test, DNS:\*.new.test
Algorithm: EC256
SHA1 FingerPrint: [0-9A-F]{40}
Subject: /CN=new.test
Issuer: /CN=new.test
OCSP Response Key: 
$`)
	if !want.MatchString(desc) {
		t.Errorf("show ssl cert:\n%s", desc)
	}
	rsaDesc := reg.Show("/certs/other.pem")
	if !strings.Contains(rsaDesc, "Algorithm: RSA2048\n") || !strings.Contains(rsaDesc, "Subject Alternative Name: \n") {
		t.Errorf("rsa: %s", rsaDesc)
	}
}

func TestFactsOf(t *testing.T) {
	if f := FactsOf(plainStream{}); f != nil {
		t.Errorf("an HTTP/2 stream of an h2c connection has TLS facts: %+v", f)
	}
	if f := FactsOf(struct{}{}); f != nil {
		t.Error("a plain connection is TLS")
	}
	a := entry(t, gen(t, "fa", certgen.ECDSA, "facts.test"))
	set, _ := Resolve(CAs{}, opts(t, InBind, "alpn http/1.1"))
	live := NewLive(&Bind{Entries: []*Entry{a}, Settings: set})
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	srv := tls.Server(c2, live.Config())
	go func() {
		cl := tls.Client(c1, &tls.Config{ServerName: "Facts.test", InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		cl.Handshake()
	}()
	srv.SetDeadline(time.Now().Add(5 * time.Second))
	if err := srv.Handshake(); err != nil {
		t.Fatal(err)
	}
	f := FactsOf(srv)
	if f == nil || string(f.SNI) != "Facts.test" || string(f.ALPN) != "http/1.1" || string(f.Protocol) != "TLSv1.3" || len(f.Cipher) == 0 || f.Resumed || f.CertUsed {
		t.Errorf("%+v", f)
	}
	if got := DN(a.Cert.TLS.Leaf.RawSubject); got != "/CN=facts.test" {
		t.Errorf("DN %q", got)
	}
}

// A bind line with several addresses is one certificate instance: one dot.
func TestCommitCountsBindLines(t *testing.T) {
	a := entry(t, gen(t, "ca1", certgen.ECDSA, "a.test"))
	a.Cert.Path = "/a.pem"
	set, _ := Resolve(CAs{})
	b := &Bind{Entries: []*Entry{a}, Settings: set}
	l1, l2 := NewLive(b), NewLive(b) // bind A,B ssl crt /a.pem
	reg := &Registry{}
	reg.Reset([]*Live{l1, l2})
	repl := gen(t, "ca2", certgen.ECDSA, "b.test")
	reg.Set("/a.pem", repl.PEM())
	if got := reg.Commit("/a.pem"); got != "Committing /a.pem.\nSuccess!\n" {
		t.Errorf("commit: %q", got)
	}
	for _, l := range []*Live{l1, l2} {
		if got := served(t, l, "b.test"); got != "b.test" {
			t.Errorf("served %s", got)
		}
	}
}

// TestCrtListEdits: new ssl cert, set + commit, add ssl crt-list with options and
// filters, then del ssl crt-list and del ssl cert, each changing what the next
// handshake is served.
func TestCrtListEdits(t *testing.T) {
	def := entry(t, gen(t, "cl-def", certgen.ECDSA, "def.test"))
	def.Cert.Path, def.List, def.Line = "/def.pem", "/list", 1
	set, _ := Resolve(CAs{})
	b := &Bind{Entries: []*Entry{def}, Settings: set, Layers: []*Options{{}, {}}}
	live := NewLive(b)
	reg := &Registry{}
	reg.Reset([]*Live{live})
	add := gen(t, "cl-add", certgen.ECDSA, "added.test")
	steps := []struct{ do, want string }{
		{"new /add.pem", "New empty certificate store '/add.pem'!\n"},
		{"set /add.pem", "Transaction created for certificate /add.pem!\n"},
		{"commit /add.pem", "Committing /add.pem\nSuccess!\n"},
		{"addline /list /add.pem [ssl-min-ver TLSv1.3] Added.test", "Inserting certificate '/add.pem' in crt-list '/list'.\nSuccess!\n"},
		{"serve added.test", "added.test"},
		{"show -n /list", "# /list\n/def.pem:1\n/add.pem:2 [ssl-min-ver TLSv1.3] Added.test\n"},
		{"delcert /add.pem", "Can't remove the certificate: certificate '/add.pem' in use, can't be deleted!\n\n"},
		{"del /list /def.pem", "Can't delete the entry: certificate '/def.pem' cannot be deleted, it is used as default certificate by a bind!\n"},
		{"del /list /add.pem", "Entry '/add.pem' deleted in crtlist '/list'!\n"},
		{"serve added.test", "def.test"},
		{"delcert /add.pem", "Certificate '/add.pem' deleted!\n"},
	}
	for i, s := range steps {
		verb, rest, _ := strings.Cut(s.do, " ")
		var got string
		switch verb {
		case "new":
			got = reg.NewCert(rest)
		case "set":
			got = reg.Set(rest, add.PEM())
		case "commit":
			got = reg.Commit(rest)
		case "addline":
			list, line, _ := strings.Cut(rest, " ")
			got = reg.AddCrtList([]string{list}, []byte(line+"\n"))
		case "serve":
			got = served(t, live, rest)
		case "show":
			got = reg.ShowCrtList(strings.Fields(rest))
		case "delcert":
			got = reg.DelCert(rest)
		case "del":
			got = reg.DelCrtList(strings.Fields(rest))
		}
		if got != s.want {
			t.Errorf("step %d %q:\n got %q\nwant %q", i, s.do, got, s.want)
		}
	}
}

// plainStream reports a connection state without a handshake, as an HTTP/2 stream of
// an h2c connection does.
type plainStream struct{}

func (plainStream) ConnectionState() tls.ConnectionState { return tls.ConnectionState{} }

// FuzzSetSSLCert feeds `set ssl cert` payloads (runtime API input) through the whole
// transaction: set, show of the transaction, commit and abort never panic, and a commit
// that succeeds leaves a certificate with its leaf in the store.
func FuzzSetSSLCert(f *testing.F) {
	a := entry(f, gen(f, "fa", certgen.ECDSA, "a.test"))
	a.Cert.Path = "/certs/a.pem"
	r := &Registry{}
	live := NewLive(&Bind{Entries: []*Entry{a}, Settings: &Settings{}})
	r.Reset([]*Live{live})
	c := gen(f, "fb", certgen.ECDSA, "b.test")
	f.Add(c.PEM())
	f.Add(c.CertPEM)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, payload []byte) {
		r.Set("/certs/a.pem", payload)
		r.Show("*/certs/a.pem")
		if strings.HasSuffix(r.Commit("/certs/a.pem"), "Success!\n") {
			if e := live.Store().Entries()[0]; e.Cert.TLS.Leaf == nil || len(e.Cert.TLS.Certificate) == 0 {
				t.Fatal("a committed certificate without its leaf")
			}
		}
		r.Abort("/certs/a.pem")
		r.Show("/certs/a.pem")
	})
}
