// Package certgen makes X.509 certificates and keys in memory: self-signed or signed by
// a CA it also makes, ECDSA P-256 or RSA. Tests use it (no private key is ever
// committed), and so can the demo, which serves HTTPS with a certificate made at start.
package certgen

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"time"
)

// Key types.
const (
	ECDSA = "ecdsa"
	RSA   = "rsa"
)

// Spec says what certificate to make.
type Spec struct {
	CN       string
	DNSNames []string
	Key      string // ECDSA (default) or RSA
	IsCA     bool
	Serial   int64         // 0: random
	Validity time.Duration // 0: a day
	Client   bool          // usable as a client certificate too
}

// Cert is a made certificate.
type Cert struct {
	Leaf    *x509.Certificate
	DER     []byte
	Key     crypto.Signer
	CertPEM []byte
	KeyPEM  []byte
}

// PEM returns the certificate followed by the key, as HAProxy's `crt` files hold them.
func (c *Cert) PEM() []byte { return append(append([]byte{}, c.CertPEM...), c.KeyPEM...) }

// Fingerprint is the SHA-256 of the certificate's DER.
func (c *Cert) Fingerprint() [32]byte { return sha256.Sum256(c.DER) }

// New makes a certificate; signer nil makes it self-signed.
func New(s Spec, signer *Cert) (*Cert, error) {
	var key crypto.Signer
	var err error
	if s.Key == RSA {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return nil, err
	}
	serial := big.NewInt(s.Serial)
	if s.Serial == 0 {
		serial, _ = rand.Int(rand.Reader, big.NewInt(1<<62))
	}
	v := s.Validity
	if v == 0 {
		v = 24 * time.Hour
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: s.CN},
		DNSNames:     s.DNSNames,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(v),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if s.Client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	if s.Key == RSA {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	if s.IsCA { // a CA without extended key usage may sign server and client certificates
		tmpl.ExtKeyUsage = nil
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	parent, pkey := tmpl, key
	if signer != nil {
		parent, pkey = signer.Leaf, signer.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), pkey)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &Cert{
		Leaf: leaf, DER: der, Key: key,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
	}, nil
}

// CRL makes a PEM certificate revocation list signed by ca revoking serials.
func CRL(ca *Cert, serials ...int64) ([]byte, error) {
	var revoked []x509.RevocationListEntry
	for _, s := range serials {
		revoked = append(revoked, x509.RevocationListEntry{SerialNumber: big.NewInt(s), RevocationTime: time.Now().Add(-time.Minute)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(24 * time.Hour),
		RevokedCertificateEntries: revoked,
	}, ca.Leaf, ca.Key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), nil
}
