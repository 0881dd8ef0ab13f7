// Package tlsconf turns HAProxy's TLS settings into Go's crypto/tls: certificate files
// as HAProxy reads them (PEM bundles, `crt DIR`, `crt-list`), the certificate store a
// TLS bind selects from by SNI (swapped atomically on reload), OpenSSL cipher, curve
// and version names mapped to what crypto/tls can honour, and the resolved models of
// a TLS bind and a TLS server connection.
//
// The package reads no file itself: a Files (os-backed in the daemon and the config
// reader, in memory in tests) is passed in.
package tlsconf

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"strings"
)

// Files is the file access the package needs.
type Files interface {
	ReadFile(path string) ([]byte, error)
	// ReadDir returns the names of the entries of a directory, sorted, and whether
	// each is a directory; an error when path is not a directory.
	ReadDir(path string) ([]DirEntry, error)
}

// DirEntry is one entry of a directory.
type DirEntry struct {
	Name  string
	IsDir bool
}

// KeyType is the kind of key a certificate holds: what a client must support to be
// served it.
type KeyType uint8

// Key types, as HAProxy tells them apart when it picks a certificate.
const (
	KeyOther KeyType = iota // ed25519 and others ("anonymous" in HAProxy's choice)
	KeyECDSA
	KeyRSA
)

func (k KeyType) String() string {
	switch k {
	case KeyECDSA:
		return "ECDSA"
	case KeyRSA:
		return "RSA"
	}
	return "other"
}

// Cert is one loaded certificate file.
type Cert struct {
	Path  string
	TLS   *tls.Certificate // chain, key, leaf; OCSPStaple from a .ocsp sibling
	Names []string         // lowercased SAN DNS names, then CNs not already among them
	Key   KeyType
}

// Fingerprint is the SHA-256 of the leaf certificate (what `show ssl cert` prints).
func (c *Cert) Fingerprint() [32]byte { return sha256.Sum256(c.TLS.Certificate[0]) }

// ParsePEM reads one certificate file as HAProxy does: the certificate, its chain and
// the private key in one PEM file, in any order; when the file has no key, the key is
// read from PATH.key. A PATH.ocsp sibling, when present, is stapled. PEM blocks of
// other kinds (DH PARAMETERS, …) are skipped. files nil reads no sibling.
func ParsePEM(files Files, path string, data []byte) (*Cert, error) {
	if files == nil {
		files = noFiles{}
	}
	var chain [][]byte
	var key crypto.PrivateKey
	var keyErr error
	rest := data
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE", "TRUSTED CERTIFICATE":
			chain = append(chain, blk.Bytes)
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			if key != nil {
				continue // OpenSSL reads the first key
			}
			key, keyErr = parseKey(blk)
			if keyErr != nil {
				return nil, fmt.Errorf("%s: %v", path, keyErr)
			}
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("%s: the private key is encrypted (tandem reads unencrypted keys only, as HAProxy without a passphrase)", path)
		}
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("%s: no certificate found (expected a PEM \"CERTIFICATE\" block)", path)
	}
	if key == nil {
		kp := path + ".key"
		kd, err := files.ReadFile(kp)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%s: no private key in the file and no %s", path, kp)
			}
			return nil, fmt.Errorf("%s: %v", kp, err)
		}
		for {
			var blk *pem.Block
			blk, kd = pem.Decode(kd)
			if blk == nil {
				break
			}
			if strings.HasSuffix(blk.Type, "PRIVATE KEY") {
				if key, err = parseKey(blk); err != nil {
					return nil, fmt.Errorf("%s: %v", kp, err)
				}
				break
			}
		}
		if key == nil {
			return nil, fmt.Errorf("%s: no private key found", kp)
		}
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, fmt.Errorf("%s: first certificate: %v", path, err)
	}
	for i, der := range chain[1:] {
		if _, err := x509.ParseCertificate(der); err != nil {
			return nil, fmt.Errorf("%s: chain certificate %d: %v", path, i+2, err)
		}
	}
	if !keyMatches(leaf.PublicKey, key) {
		return nil, fmt.Errorf("%s: the private key does not match the certificate's public key", path)
	}
	c := newCert(path, chain, key, leaf)
	if ocsp, err := files.ReadFile(path + ".ocsp"); err == nil && len(ocsp) > 0 {
		c.TLS.OCSPStaple = ocsp
	}
	if sctl, err := files.ReadFile(path + ".sctl"); err == nil {
		scts, err := parseSCTList(sctl)
		if err != nil {
			return nil, fmt.Errorf("%s.sctl: %v", path, err)
		}
		c.TLS.SignedCertificateTimestamps = scts
	}
	return c, nil
}

// newCert makes the Cert of a chain whose key matches its leaf: the names it is filed
// under and the key type selection goes by.
func newCert(path string, chain [][]byte, key crypto.PrivateKey, leaf *x509.Certificate) *Cert {
	c := &Cert{Path: path, TLS: &tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, Names: certNames(leaf)}
	switch key.(type) {
	case *ecdsa.PrivateKey:
		c.Key = KeyECDSA
	case *rsa.PrivateKey:
		c.Key = KeyRSA
	}
	return c
}

// certNames are the names HAProxy files a certificate under when no SNI filter is
// given: its DNS subject alternative names and its common names.
func certNames(leaf *x509.Certificate) []string {
	var names []string
	add := func(n string) {
		n = strings.ToLower(n)
		if n == "" {
			return
		}
		for _, have := range names {
			if have == n {
				return
			}
		}
		names = append(names, n)
	}
	for _, n := range leaf.DNSNames {
		add(n)
	}
	for _, atv := range leaf.Subject.Names {
		if atv.Type.Equal([]int{2, 5, 4, 3}) { // commonName
			if s, ok := atv.Value.(string); ok {
				add(s)
			}
		}
	}
	return names
}

func parseKey(blk *pem.Block) (crypto.PrivateKey, error) {
	switch blk.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(blk.Bytes)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	switch k.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("private key of type %T is not supported", k)
}

func keyMatches(pub any, key crypto.PrivateKey) bool {
	type publicKeyer interface{ Public() crypto.PublicKey }
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pk, ok := key.(publicKeyer)
	if !ok {
		return false
	}
	eq, ok := pk.Public().(equaler)
	return ok && eq.Equal(pub)
}

// reservedExt are the extensions a `crt DIR` skips: HAProxy's companions of a PEM file.
var reservedExt = []string{".key", ".issuer", ".ocsp", ".sctl"}

// LoadCrt loads what `crt PATH` names: one PEM file, or every file of a directory in
// alphabetical order except dot files, subdirectories and the companions (.key,
// .issuer, .ocsp, .sctl). A missing PATH that has bundle companions (PATH.ecdsa,
// PATH.rsa, PATH.dsa) loads them as separate certificates, as HAProxy does.
func LoadCrt(files Files, path string) ([]*Cert, error) {
	if ents, err := files.ReadDir(path); err == nil {
		var out []*Cert
		for _, e := range ents {
			if e.IsDir || strings.HasPrefix(e.Name, ".") || hasReservedExt(e.Name) {
				continue
			}
			p := strings.TrimSuffix(path, "/") + "/" + e.Name
			data, err := files.ReadFile(p)
			if err != nil {
				return nil, err
			}
			c, err := ParsePEM(files, p, data)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%s: no certificate file in the directory", path)
		}
		return out, nil
	}
	data, err := files.ReadFile(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		var out []*Cert
		for _, ext := range []string{".dsa", ".ecdsa", ".rsa"} {
			bd, berr := files.ReadFile(path + ext)
			if berr != nil {
				continue
			}
			c, perr := ParsePEM(files, path+ext, bd)
			if perr != nil {
				return nil, perr
			}
			out = append(out, c)
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%s: no such file or directory", path)
		}
		return out, nil
	}
	c, err := ParsePEM(files, path, data)
	if err != nil {
		return nil, err
	}
	return []*Cert{c}, nil
}

func hasReservedExt(name string) bool {
	for _, ext := range reservedExt {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// PEMCerts returns the certificates of a PEM file (a ca-file), or an error naming the
// file when there is none.
func PEMCerts(path string, data []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for rest := bytes.TrimSpace(data); ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %v", path, n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: no certificate found", path)
	}
	return pool, nil
}

func pemDecode(b []byte) (*pem.Block, []byte) { return pem.Decode(b) }

// parseSCTList reads a .sctl file: a SignedCertificateTimestampList (RFC 6962 §3.3),
// a 2-byte length and 2-byte-length-prefixed SCTs. Their signatures are not checked
// (nor are they by HAProxy).
func parseSCTList(b []byte) ([][]byte, error) {
	if len(b) < 2 || int(b[0])<<8|int(b[1]) != len(b)-2 {
		return nil, fmt.Errorf("not a signed certificate timestamp list")
	}
	var out [][]byte
	for rest := b[2:]; len(rest) > 0; {
		if len(rest) < 2 {
			return nil, fmt.Errorf("truncated signed certificate timestamp")
		}
		n := int(rest[0])<<8 | int(rest[1])
		if n == 0 || len(rest) < 2+n {
			return nil, fmt.Errorf("truncated signed certificate timestamp")
		}
		out = append(out, rest[2:2+n])
		rest = rest[2+n:]
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty signed certificate timestamp list")
	}
	return out, nil
}

// noFiles has no file: ParsePEM without siblings.
type noFiles struct{}

func (noFiles) ReadFile(string) ([]byte, error)    { return nil, fs.ErrNotExist }
func (noFiles) ReadDir(string) ([]DirEntry, error) { return nil, fs.ErrNotExist }

// CheckDHParams checks a file of DH parameters (ssl-dh-param-file) as OpenSSL reads it:
// a PEM "DH PARAMETERS" block holding a prime and a generator. tandem uses none (Go has
// no DHE suites), but a file HAProxy would refuse is refused too.
func CheckDHParams(data []byte) error {
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return fmt.Errorf("no PEM \"DH PARAMETERS\" block")
		}
		if blk.Type != "DH PARAMETERS" {
			continue
		}
		var params struct {
			P, G *big.Int
			Rest asn1.RawValue `asn1:"optional"`
		}
		if _, err := asn1.Unmarshal(blk.Bytes, &params); err != nil || params.P == nil || params.P.Sign() <= 0 || params.G == nil || params.G.Sign() <= 0 {
			return fmt.Errorf("malformed DH parameters")
		}
		return nil
	}
}
