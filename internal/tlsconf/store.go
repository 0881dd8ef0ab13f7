package tlsconf

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Bind is the resolved TLS side of one bind line: its certificates in load order (the
// first is the default), its settings and strict-sni.
type Bind struct {
	Entries    []*Entry
	Settings   *Settings
	StrictSNI  bool
	TicketKeys [][32]byte // tls-ticket-keys (nil: keys of this process, made at start)

	// What a crt-list line added at run time (`add ssl crt-list`) resolves its options
	// with: the global and bind options, and the ca-file and crl-file loader.
	Layers []*Options
	CAs    CAs
}

// filed is one name of the store's index.
type filed struct {
	e   *Entry
	neg bool
}

// Store picks the certificate of a handshake by SNI as HAProxy does: among the
// certificates filed under the exact name and those filed under the wildcard of its
// parent domain (first in load order of each key type), an ECDSA one when the client
// can verify ECDSA signatures, else an RSA one, else another; with no match, the
// default certificate, or a refused handshake with strict-sni. A Store is immutable.
type Store struct {
	bind  *Bind
	exact map[string][]filed
	wild  map[string][]filed // keyed by ".example.com" for *.example.com
	confs map[*Entry]*entryConf
}

type entryConf struct {
	conf, noALPN *tls.Config
}

// NewStore indexes b and builds the per-certificate TLS configurations; keys is the
// configuration whose session ticket keys seal sessions (nil: each its own).
func NewStore(b *Bind, keys *tls.Config) *Store {
	s := &Store{bind: b, exact: map[string][]filed{}, wild: map[string][]filed{}, confs: map[*Entry]*entryConf{}}
	for _, e := range b.Entries {
		pos, neg := e.names()
		for _, n := range pos {
			s.file(n, filed{e: e})
		}
		for _, n := range neg {
			s.file(n, filed{e: e, neg: true})
		}
		set := e.Settings
		if set == nil {
			set = b.Settings
		}
		c := set.Config(keys)
		c.Certificates = []tls.Certificate{*e.Cert.TLS}
		if len(e.Cert.TLS.SignedCertificateTimestamps) > 0 {
			// HAProxy (OpenSSL's custom extension) staples SCTs in TLS 1.2 handshakes only.
			with, without := e.Cert.TLS, *e.Cert.TLS
			without.SignedCertificateTimestamps = nil
			c.Certificates = nil
			c.GetCertificate = func(chi *tls.ClientHelloInfo) (*tls.Certificate, error) {
				if c.MaxVersion >= tls.VersionTLS13 && slices.Contains(chi.SupportedVersions, tls.VersionTLS13) {
					return &without, nil
				}
				return with, nil
			}
		}
		ec := &entryConf{conf: c, noALPN: c}
		if len(c.NextProtos) > 0 {
			ec.noALPN = c.Clone()
			ec.noALPN.NextProtos = nil
		}
		s.confs[e] = ec
	}
	return s
}

func (s *Store) file(name string, f filed) {
	if strings.HasPrefix(name, "*.") {
		s.wild[name[1:]] = append(s.wild[name[1:]], f)
		return
	}
	s.exact[name] = append(s.exact[name], f)
}

// Hello is what selection needs to know of a ClientHello.
type Hello struct {
	SNI         string // "" when none was sent
	ECDSA, RSA  bool   // signature algorithms the client accepts
	ALPN        []string
	CipherSuite []uint16
}

// Select returns the certificate for a hello, nil when the handshake must be refused
// (strict-sni). The SNI is compared without case.
func (s *Store) Select(h Hello) *Entry {
	if h.SNI == "" {
		if s.bind.StrictSNI {
			return nil
		}
		return s.defaultEntry()
	}
	name := strings.ToLower(h.SNI)
	var ecdsa, rsa, other *Entry
	consider := func(list []filed, wildcard bool) {
		for _, f := range list {
			if f.neg {
				continue
			}
			if wildcard && f.e.excludes(name) {
				continue
			}
			switch f.e.Cert.Key {
			case KeyECDSA:
				if ecdsa == nil {
					ecdsa = f.e
				}
			case KeyRSA:
				if rsa == nil {
					rsa = f.e
				}
			default:
				if other == nil {
					other = f.e
				}
			}
		}
	}
	consider(s.exact[name], false)
	if i := strings.IndexByte(name, '.'); i >= 0 {
		consider(s.wild[name[i:]], true)
	}
	switch {
	case h.ECDSA && ecdsa != nil:
		return ecdsa
	case h.RSA && rsa != nil:
		return rsa
	case other != nil:
		return other
	case ecdsa != nil:
		return ecdsa
	case rsa != nil:
		return rsa
	}
	if s.bind.StrictSNI {
		return nil
	}
	return s.defaultEntry()
}

// excludes reports whether a negative filter of e's crt-list line names name exactly.
func (e *Entry) excludes(name string) bool {
	_, neg := e.names()
	return slices.Contains(neg, name)
}

func (s *Store) defaultEntry() *Entry {
	if len(s.bind.Entries) == 0 {
		return nil
	}
	return s.bind.Entries[0]
}

// ErrNoCertificate refuses a handshake that strict-sni leaves without a certificate.
var ErrNoCertificate = errors.New("no certificate for this server name (strict-sni)")

// helloOf reads what selection needs from Go's ClientHelloInfo.
func helloOf(chi *tls.ClientHelloInfo) Hello {
	h := Hello{SNI: chi.ServerName, ALPN: chi.SupportedProtos, CipherSuite: chi.CipherSuites}
	for _, sch := range chi.SignatureSchemes {
		switch sch {
		case tls.ECDSAWithP256AndSHA256, tls.ECDSAWithP384AndSHA384, tls.ECDSAWithP521AndSHA512, tls.ECDSAWithSHA1:
			h.ECDSA = true
		case tls.PKCS1WithSHA256, tls.PKCS1WithSHA384, tls.PKCS1WithSHA512, tls.PKCS1WithSHA1,
			tls.PSSWithSHA256, tls.PSSWithSHA384, tls.PSSWithSHA512:
			h.RSA = true
		}
	}
	if len(chi.SignatureSchemes) == 0 { // before TLS 1.2: what the suites say
		h.RSA = true
		for _, id := range chi.CipherSuites {
			for _, su := range goSuites {
				if su.id == id && strings.Contains(su.attrs, "aECDSA") {
					h.ECDSA = true
				}
			}
		}
	}
	return h
}

// ConfigFor returns the TLS configuration of a handshake: the selected certificate
// with its settings.
func (s *Store) ConfigFor(chi *tls.ClientHelloInfo) (*tls.Config, error) {
	h := helloOf(chi)
	e := s.Select(h)
	if e == nil {
		return nil, ErrNoCertificate
	}
	ec := s.confs[e]
	if len(h.ALPN) > 0 && len(ec.conf.NextProtos) > 0 && !overlap(h.ALPN, ec.conf.NextProtos) {
		// OpenSSL goes on without ALPN when no protocol is shared; Go would fail.
		return ec.noALPN, nil
	}
	return ec.conf, nil
}

func overlap(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// Entries returns the store's certificates in load order.
func (s *Store) Entries() []*Entry { return s.bind.Entries }

// Config builds the crypto/tls configuration of settings (no certificate). Sessions
// are sealed with keys' ticket keys and resumed only within the lifetime.
func (set *Settings) Config(keys *tls.Config) *tls.Config {
	c := &tls.Config{
		MinVersion:             set.MinVersion,
		MaxVersion:             set.MaxVersion,
		CipherSuites:           set.Ciphers,
		CurvePreferences:       set.Curves,
		NextProtos:             set.ALPN,
		SessionTicketsDisabled: set.NoTickets,
		ClientAuth:             set.ClientAuth,
		ClientCAs:              set.ClientCAs,
	}
	if keys != nil {
		life := set.Lifetime
		if life <= 0 {
			life = DefaultLifetime
		}
		c.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
			ss.Extra = append(dropStamp(ss.Extra), stamp(now(keys)))
			return keys.EncryptTicket(cs, ss)
		}
		c.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
			ss, err := keys.DecryptTicket(identity, cs)
			if ss == nil || err != nil {
				return nil, nil // a full handshake
			}
			t, ok := stampOf(ss.Extra)
			if !ok || now(keys).Sub(t) > life || now(keys).Before(t.Add(-time.Minute)) {
				return nil, nil
			}
			ss.Extra = dropStamp(ss.Extra)
			return ss, nil
		}
	}
	if len(set.CRLs) > 0 {
		crls := set.CRLs
		c.VerifyPeerCertificate = func(_ [][]byte, chains [][]*x509.Certificate) error {
			return checkCRLs(crls, chains)
		}
	}
	return c
}

// checkCRLs refuses a chain with a revoked certificate, or a certificate of the chain
// (the root aside) for which no CRL of its issuer is known, as OpenSSL's CRL_CHECK_ALL.
func checkCRLs(crls []*x509.RevocationList, chains [][]*x509.Certificate) error {
	for _, chain := range chains {
		for i := 0; i+1 < len(chain); i++ {
			cert, issuer := chain[i], chain[i+1]
			found := false
			for _, l := range crls {
				if l.CheckSignatureFrom(issuer) != nil {
					continue
				}
				found = true
				for _, r := range l.RevokedCertificateEntries {
					if r.SerialNumber.Cmp(cert.SerialNumber) == 0 {
						return fmt.Errorf("certificate %q is revoked", cert.Subject.String())
					}
				}
			}
			if !found {
				return fmt.Errorf("no CRL of issuer %q for certificate %q", issuer.Subject.String(), cert.Subject.String())
			}
		}
	}
	return nil
}

// Live is the running certificate store of a bind: Config's handshakes read the
// current store, and Swap replaces it (reload, `commit ssl cert`) for the handshakes
// that follow. Session tickets keep working across a swap: they are sealed with the
// keys of the one Config.
type Live struct {
	cur      atomic.Pointer[Store]
	base     *tls.Config
	fileKeys atomic.Bool // the ticket keys came from a tls-ticket-keys file
}

// NewLive starts a live store with b.
func NewLive(b *Bind) *Live {
	l := &Live{}
	l.base = &tls.Config{
		MinVersion: tls.VersionTLS10,
		GetConfigForClient: func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
			return l.cur.Load().ConfigFor(chi)
		},
	}
	l.setKeys(b)
	l.cur.Store(NewStore(b, l.base))
	return l
}

// Swap makes b serve the next handshakes.
func (l *Live) Swap(b *Bind) {
	l.setKeys(b)
	l.cur.Store(NewStore(b, l.base))
}

// setKeys installs the bind's tls-ticket-keys; a bind that stops naming a file gets
// keys of its own again (sessions sealed with the file's keys no longer resume).
func (l *Live) setKeys(b *Bind) {
	switch {
	case b.TicketKeys != nil:
		l.base.SetSessionTicketKeys(b.TicketKeys)
		l.fileKeys.Store(true)
	case l.fileKeys.Swap(false):
		var k [32]byte
		rand.Read(k[:])
		l.base.SetSessionTicketKeys([][32]byte{k})
	}
}

// DefaultLifetime is HAProxy's tune.ssl.lifetime default: a session resumes for 300 s.
const DefaultLifetime = 300 * time.Second

// stampTag marks the Extra entry that holds when a session was made.
const stampTag = "tandem-t:"

func stamp(t time.Time) []byte {
	return binary.BigEndian.AppendUint64([]byte(stampTag), uint64(t.Unix()))
}

func stampOf(extra [][]byte) (time.Time, bool) {
	for _, e := range extra {
		if len(e) == len(stampTag)+8 && string(e[:len(stampTag)]) == stampTag {
			return time.Unix(int64(binary.BigEndian.Uint64(e[len(stampTag):])), 0), true
		}
	}
	return time.Time{}, false
}

func dropStamp(extra [][]byte) [][]byte {
	return slices.DeleteFunc(slices.Clone(extra), func(e []byte) bool {
		return len(e) == len(stampTag)+8 && string(e[:len(stampTag)]) == stampTag
	})
}

func now(c *tls.Config) time.Time {
	if c.Time != nil {
		return c.Time()
	}
	return time.Now()
}

// Store returns the current store.
func (l *Live) Store() *Store { return l.cur.Load() }

// Config is the configuration to give tls.Server.
func (l *Live) Config() *tls.Config { return l.base }
