package tlsconf

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Registry is what the runtime API sees of the certificates: those the running binds
// use, by file path (`show ssl cert`), and the one transaction `set ssl cert` opens
// and `commit ssl cert` applies to every bind that uses the file, for the handshakes
// that follow (`abort ssl cert` drops it). Outputs are HAProxy 2.6's.
type Registry struct {
	mu     sync.Mutex
	lives  []*Live
	txPath string
	tx     *pending
	extra  map[string]*Cert // `new ssl cert` stores no bind uses (nil: still empty)
}

// pending is a transaction's payload: a certificate chain and perhaps a key.
type pending struct {
	chain [][]byte
	leaf  *x509.Certificate
	key   crypto.PrivateKey
}

// Reset makes the registry follow the binds of a new configuration. A transaction on a
// file the new configuration still uses stays open.
func (r *Registry) Reset(lives []*Live) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lives = lives
	r.extra = nil // stores made at run time go with the configuration, as in HAProxy
	if r.txPath != "" && r.certLocked(r.txPath) == nil {
		r.txPath, r.tx = "", nil
	}
}

// known reports whether a certificate store of that name exists: used by a bind, or
// made by `new ssl cert` (perhaps still empty).
func (r *Registry) known(path string) bool {
	if r.certLocked(path) != nil {
		return true
	}
	_, ok := r.extra[path]
	return ok
}

func (r *Registry) certLocked(path string) *Cert {
	for _, l := range r.lives {
		for _, e := range l.Store().Entries() {
			if e.Cert.Path == path {
				return e.Cert
			}
		}
	}
	return nil
}

// Show is `show ssl cert [NAME]`.
func (r *Registry) Show(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if name == "" {
		var b strings.Builder
		if r.txPath != "" {
			b.WriteString("# transaction\n*" + r.txPath + "\n")
		}
		b.WriteString("# filename\n")
		var paths []string
		for _, l := range r.lives {
			for _, e := range l.Store().Entries() {
				paths = append(paths, e.Cert.Path)
			}
		}
		for p := range r.extra {
			paths = append(paths, p)
		}
		slices.Sort(paths)
		for _, p := range slices.Compact(paths) {
			b.WriteString(p + "\n")
		}
		return b.String()
	}
	if tx, ok := strings.CutPrefix(name, "*"); ok {
		if tx != r.txPath || r.tx == nil {
			return "Can't display the certificate: Not found or the certificate is a bundle!\n"
		}
		return describe(name, "Unused", r.tx.chain, r.tx.leaf, r.tx.key)
	}
	c := r.certLocked(name)
	if c == nil {
		ex, ok := r.extra[name]
		switch {
		case !ok:
			return "Can't display the certificate: Not found or the certificate is a bundle!\n"
		case ex == nil:
			return "Filename: " + name + "\nStatus: Empty\nOCSP Response Key: \n"
		}
		return describe(name, "Unused", ex.TLS.Certificate, ex.TLS.Leaf, ex.TLS.PrivateKey)
	}
	return describe(name, "Used", c.TLS.Certificate, c.TLS.Leaf, c.TLS.PrivateKey)
}

// Set is `set ssl cert NAME <<PAYLOAD`.
func (r *Registry) Set(name string, payload []byte) string {
	if name == "" || len(payload) == 0 {
		return "'set ssl cert expects a filename and a certificate as a payload\n"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.txPath == "" && !r.known(name) {
		return fmt.Sprintf("Can't replace a certificate which is not referenced by the configuration!\nCan't update %s!\n", name)
	}
	p, err := parsePayload(payload)
	if err != nil {
		return fmt.Sprintf("unable to load certificate from file '%s'.\nCan't load the payload\nCan't update %s!\n", name, name)
	}
	if r.txPath != "" {
		// HAProxy 2.6 updates the ongoing transaction whatever the name given.
		r.tx = p
		return fmt.Sprintf("Transaction updated for certificate %s!\n", r.txPath)
	}
	r.txPath, r.tx = name, p
	return fmt.Sprintf("Transaction created for certificate %s!\n", name)
}

// Commit is `commit ssl cert NAME`.
func (r *Registry) Commit(name string) string {
	if name == "" {
		return "'commit ssl cert expects a filename\n"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.txPath == "":
		return fmt.Sprintf("No ongoing transaction! !\nCan't commit %s!\n", name)
	case r.txPath != name:
		return fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to set '%s'\nCan't commit %s!\n", r.txPath, name, name)
	case r.tx.key == nil:
		return fmt.Sprintf("The transaction must contain at least a certificate and a private key!\nCan't commit %s!\n", name)
	case !keyMatches(r.tx.leaf.PublicKey, r.tx.key):
		return fmt.Sprintf("inconsistencies between private key and certificate loaded '%s'.\nCan't commit %s!\n", name, name)
	}
	nc := newCert(name, r.tx.chain, r.tx.key, r.tx.leaf)
	var b strings.Builder
	b.WriteString("Committing " + name)
	// One dot per certificate instance: a bind line (its addresses share one Bind) and
	// its entries of the file, as HAProxy counts.
	done := map[*Bind]*Bind{}
	for _, l := range r.lives {
		old := l.Store().bind
		if nb, ok := done[old]; ok {
			l.Swap(nb)
			continue
		}
		nb := *old
		nb.Entries = slices.Clone(old.Entries)
		changed := false
		for i, e := range nb.Entries {
			if e.Cert.Path == name {
				ne := *e
				ne.Cert = nc
				nb.Entries[i] = &ne
				changed = true
				b.WriteByte('.')
			}
		}
		done[old] = &nb
		if changed {
			l.Swap(&nb)
		}
	}
	if _, ok := r.extra[name]; ok {
		r.extra[name] = nc
	}
	b.WriteString("\nSuccess!\n")
	r.txPath, r.tx = "", nil
	return b.String()
}

// Abort is `abort ssl cert NAME`.
func (r *Registry) Abort(name string) string {
	if name == "" {
		return "'abort ssl cert' expects a filename\n"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.txPath == "":
		return "No ongoing transaction!\n"
	case r.txPath != name:
		return fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to abort a transaction for '%s'\n", r.txPath, name)
	}
	r.txPath, r.tx = "", nil
	return fmt.Sprintf("Transaction aborted for certificate '%s'!\n", name)
}

// parsePayload reads a `set ssl cert` payload: a certificate, its chain, perhaps a key.
func parsePayload(data []byte) (*pending, error) {
	p := &pending{}
	for rest := data; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch {
		case blk.Type == "CERTIFICATE":
			p.chain = append(p.chain, blk.Bytes)
		case strings.HasSuffix(blk.Type, "PRIVATE KEY") && p.key == nil:
			k, err := parseKey(blk)
			if err != nil {
				return nil, err
			}
			p.key = k
		}
	}
	if len(p.chain) == 0 {
		return nil, fmt.Errorf("no certificate")
	}
	leaf, err := x509.ParseCertificate(p.chain[0])
	if err != nil {
		return nil, err
	}
	p.leaf = leaf
	return p, nil
}

// describe writes `show ssl cert NAME` as HAProxy 2.6 does.
func describe(name, status string, chain [][]byte, leaf *x509.Certificate, key crypto.PrivateKey) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Filename: %s\nStatus: %s\n", name, status)
	fmt.Fprintf(&b, "Serial: %X\n", leaf.SerialNumber.Bytes())
	fmt.Fprintf(&b, "notBefore: %s\n", leaf.NotBefore.UTC().Format("Jan _2 15:04:05 2006 GMT"))
	fmt.Fprintf(&b, "notAfter: %s\n", leaf.NotAfter.UTC().Format("Jan _2 15:04:05 2006 GMT"))
	var sans []string
	for _, n := range leaf.DNSNames {
		sans = append(sans, "DNS:"+n)
	}
	fmt.Fprintf(&b, "Subject Alternative Name: %s\n", strings.Join(sans, ", "))
	fmt.Fprintf(&b, "Algorithm: %s\n", algorithm(leaf))
	fmt.Fprintf(&b, "SHA1 FingerPrint: %X\n", sha1.Sum(leaf.Raw))
	fmt.Fprintf(&b, "Subject: %s\n", DN(leaf.RawSubject))
	fmt.Fprintf(&b, "Issuer: %s\n", DN(leaf.RawIssuer))
	for _, der := range chain[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			fmt.Fprintf(&b, "Chain Subject: %s\nChain Issuer: %s\n", DN(c.RawSubject), DN(c.RawIssuer))
		}
	}
	b.WriteString("OCSP Response Key: \n")
	_ = key
	return b.String()
}

func algorithm(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *ecdsa.PublicKey:
		return fmt.Sprintf("EC%d", k.Curve.Params().BitSize)
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA%d", k.N.BitLen())
	}
	return "Unknown"
}
