package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
)

// Server is the resolved TLS side of a server line: how tandem speaks TLS to it.
type Server struct {
	Settings   *Settings // versions, ciphers, ALPN, tickets
	Traffic    bool      // ssl: traffic to the server speaks TLS (false: check-ssl alone)
	Verify     bool      // verify required: the chain must lead to RootCAs
	RootCAs    *x509.CertPool
	CRLs       []*x509.RevocationList
	VerifyHost string // the name checked when no SNI is sent ("" : none)
	SNI        string // a constant server name sent ("" : none)
	Cert       *tls.Certificate
	NoReuse    bool // no-ssl-reuse: no session resumption
	CheckSSL   bool // health checks speak TLS
	CheckSNI   string

	once         sync.Once
	conf, checks *tls.Config
}

// ClientConfig is the configuration of connections to the server (built once).
func (s *Server) ClientConfig() *tls.Config {
	s.build()
	return s.conf
}

// CheckConfig is the configuration of health checks over TLS: check-sni as the name,
// no session reuse.
func (s *Server) CheckConfig() *tls.Config {
	s.build()
	return s.checks
}

func (s *Server) build() {
	s.once.Do(func() {
		s.conf = s.config(s.SNI, s.VerifyHost)
		if !s.NoReuse {
			s.conf.ClientSessionCache = tls.NewLRUClientSessionCache(64)
		}
		s.checks = s.config(s.CheckSNI, s.VerifyHost)
	})
}

func (s *Server) config(sni, verifyHost string) *tls.Config {
	set := s.Settings
	c := &tls.Config{
		ServerName:             sni,
		MinVersion:             set.MinVersion,
		MaxVersion:             set.MaxVersion,
		CipherSuites:           set.Ciphers,
		CurvePreferences:       set.Curves,
		NextProtos:             set.ALPN,
		SessionTicketsDisabled: set.NoTickets,
		InsecureSkipVerify:     true, // verification below, as HAProxy: the name only when one is known
	}
	if s.Cert != nil {
		c.Certificates = []tls.Certificate{*s.Cert}
	}
	if s.Verify {
		name := sni
		if name == "" {
			name = verifyHost
		}
		roots, crls := s.RootCAs, s.CRLs
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyServer(cs, roots, crls, name)
		}
	}
	return c
}

// ErrUnverified wraps every failed server certificate verification.
var ErrUnverified = errors.New("server certificate verification failed")

func verifyServer(cs tls.ConnectionState, roots *x509.CertPool, crls []*x509.RevocationList, name string) error {
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("%w: no certificate", ErrUnverified)
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	chains, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnverified, err)
	}
	if len(crls) > 0 {
		if err := checkCRLs(crls, chains); err != nil {
			return fmt.Errorf("%w: %v", ErrUnverified, err)
		}
	}
	return nil
}
