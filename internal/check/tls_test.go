package check

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"testing"
	"time"

	"tandem/internal/certgen"
	"tandem/internal/config"
	"tandem/internal/tlsconf"
)

// tlsHTTPServer answers every request 200 over TLS with a certificate for name.
func tlsHTTPServer(t *testing.T, cert *certgen.Cert) string {
	t.Helper()
	kp, err := tls.X509KeyPair(cert.CertPEM, cert.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{kp}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				r := bufio.NewReader(c)
				for {
					l, err := r.ReadString('\n')
					if err != nil || l == "\r\n" {
						break
					}
				}
				io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
			}()
		}
	}()
	return ln.Addr().String()
}

func TestChecksOverTLS(t *testing.T) {
	ca, err := certgen.New(certgen.Spec{CN: "ca", IsCA: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := certgen.New(certgen.Spec{CN: "app.test", DNSNames: []string{"app.test"}}, ca)
	if err != nil {
		t.Fatal(err)
	}
	other, err := certgen.New(certgen.Spec{CN: "other-ca", IsCA: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := tlsHTTPServer(t, leaf)
	plain, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never speaks TLS
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	go func() {
		for {
			c, err := plain.Accept()
			if err != nil {
				return
			}
			go func() { time.Sleep(200 * time.Millisecond); c.Close() }()
		}
	}()
	pool := func(c *certgen.Cert) *x509.CertPool { p := x509.NewCertPool(); p.AddCert(c.Leaf); return p }
	set := &tlsconf.Settings{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13}
	trusted := (&tlsconf.Server{Settings: set, Verify: true, RootCAs: pool(ca), CheckSNI: "app.test"}).CheckConfig()
	untrusted := (&tlsconf.Server{Settings: set, Verify: true, RootCAs: pool(other)}).CheckConfig()
	noVerify := (&tlsconf.Server{Settings: set}).CheckConfig()
	httpCheck := func(a string, c *tls.Config) Checker {
		h, err := NewHTTP(a, config.HealthCheck{HTTP: true, Method: "GET", URI: "/"})
		if err != nil {
			t.Fatal(err)
		}
		h.TLS = c
		return h
	}
	tests := []struct {
		name string
		c    Checker
		want Status
	}{
		{"https check, trusted", httpCheck(addr, trusted), L7OK},
		{"tcp check over TLS", &TCP{Addr: addr, TLS: noVerify}, L6OK},
		{"tcp check over TLS, untrusted certificate", &TCP{Addr: addr, TLS: untrusted}, L6RSP},
		{"https check, untrusted certificate", httpCheck(addr, untrusted), L6RSP},
		{"TLS check of a plain server", &TCP{Addr: plain.Addr().String(), TLS: noVerify}, L6RSP},
		{"plain tcp check of the TLS server", &TCP{Addr: addr}, L4OK},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		r := tt.c.Check(ctx)
		cancel()
		if r.Status != tt.want {
			t.Errorf("%s: %v (%s), want %v", tt.name, r.Status, r.Info, tt.want)
		}
	}
}
