package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"sync"
	"testing"
	"time"

	"tandem/internal/certgen"
)

// handshake runs one handshake of client against live's config and reports whether it
// resumed, or the error.
func handshake(live *Live, client *tls.Config) (resumed bool, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return false, err
	}
	defer ln.Close()
	var wg sync.WaitGroup
	var serr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		s := tls.Server(c, live.Config())
		s.SetDeadline(time.Now().Add(5 * time.Second))
		if serr = s.Handshake(); serr == nil {
			s.Write([]byte("x")) // after TLS 1.3 tickets: the client reads them on the way
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return false, err
	}
	defer c.Close()
	cl := tls.Client(c, client)
	cl.SetDeadline(time.Now().Add(5 * time.Second))
	err = cl.Handshake()
	if err == nil {
		var b [1]byte
		_, err = cl.Read(b[:])
	}
	wg.Wait()
	if serr != nil {
		return false, serr
	}
	if err != nil {
		return false, err
	}
	return cl.ConnectionState().DidResume, nil
}

// TestSessionLifetime: tickets resume within tune.ssl.lifetime (HAProxy's default 300s)
// and not after, on a clock the test moves; and across a Swap (a reload).
func TestSessionLifetime(t *testing.T) {
	for _, tt := range []struct {
		name     string
		lifetime time.Duration
		version  uint16
	}{{"default lifetime, TLS 1.3", 0, tls.VersionTLS13}, {"60s, TLS 1.2", time.Minute, tls.VersionTLS12}} {
		t.Run(tt.name, func(t *testing.T) {
			a := entry(t, gen(t, "sess", certgen.ECDSA, "s.test"))
			set, _ := Resolve(CAs{})
			set.Lifetime = tt.lifetime
			now := time.Now()
			live := NewLive(&Bind{Entries: []*Entry{a}, Settings: set})
			live.base.Time = func() time.Time { return now }
			client := &tls.Config{ServerName: "s.test", InsecureSkipVerify: true, MaxVersion: tt.version,
				ClientSessionCache: tls.NewLRUClientSessionCache(4)}
			life := tt.lifetime
			if life == 0 {
				life = DefaultLifetime
			}
			steps := []struct {
				advance time.Duration
				swap    bool
				resumed bool
			}{
				{0, false, false},
				{time.Second, false, true},
				{life - 2*time.Second, true, true}, // within the lifetime of the last session, after a reload
				{life + time.Second, false, false},
				{time.Second, false, true},
			}
			for i, s := range steps {
				now = now.Add(s.advance)
				if s.swap {
					live.Swap(&Bind{Entries: []*Entry{a}, Settings: set})
				}
				got, err := handshake(live, client)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if got != s.resumed {
					t.Errorf("step %d: resumed %v, want %v", i, got, s.resumed)
				}
			}
		})
	}
}

// TestClientCertificates: verify required with a ca-file and a crl-file, as HAProxy's
// CRL_CHECK_ALL: a revoked client certificate, one from another CA and none at all are
// refused; a valid one is accepted.
func TestClientCertificates(t *testing.T) {
	ca, _ := certgen.New(certgen.Spec{CN: "client ca", IsCA: true}, nil)
	good, _ := certgen.New(certgen.Spec{CN: "good", Client: true, Serial: 10}, ca)
	revoked, _ := certgen.New(certgen.Spec{CN: "revoked", Client: true, Serial: 11}, ca)
	otherCA, _ := certgen.New(certgen.Spec{CN: "other ca", IsCA: true}, nil)
	stranger, _ := certgen.New(certgen.Spec{CN: "stranger", Client: true}, otherCA)
	crlPEM, err := certgen.CRL(ca, 11)
	if err != nil {
		t.Fatal(err)
	}
	crls, err := ParseCRLs("crl.pem", crlPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Leaf)
	cas := CAs{Pool: func(string) (*x509.CertPool, error) { return pool, nil }, CRL: func(string) ([]*x509.RevocationList, error) { return crls, nil }}
	a := entry(t, gen(t, "mtls", certgen.ECDSA, "m.test"))
	keyPair := func(c *certgen.Cert) []tls.Certificate {
		kp, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{kp}
	}
	tests := []struct {
		verify string
		crl    bool
		client []tls.Certificate
		ok     bool
	}{
		{"verify required", true, keyPair(good), true},
		{"verify required", true, keyPair(revoked), false},
		{"verify required", true, keyPair(stranger), false},
		{"verify required", true, nil, false},
		{"verify optional", true, nil, true},
		{"verify optional", true, keyPair(revoked), false},
		{"verify required", false, keyPair(revoked), true},
	}
	for i, tt := range tests {
		words := tt.verify + " ca-file ca.pem"
		if tt.crl {
			words += " crl-file crl.pem"
		}
		set, err := Resolve(cas, opts(t, InBind, words))
		if err != nil {
			t.Fatal(err)
		}
		live := NewLive(&Bind{Entries: []*Entry{a}, Settings: set})
		_, err = handshake(live, &tls.Config{ServerName: "m.test", InsecureSkipVerify: true, Certificates: tt.client, MaxVersion: tls.VersionTLS12})
		if (err == nil) != tt.ok {
			t.Errorf("case %d (%s, crl %v): err %v, want ok %v", i, tt.verify, tt.crl, err, tt.ok)
		}
	}
}
