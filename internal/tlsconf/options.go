package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Options are TLS settings as written on a bind line, in ssl-default-bind-*, or in
// the brackets of a crt-list line. Zero fields are unset.
type Options struct {
	ALPN         []string // nil: unset
	MinVer       uint16
	MaxVer       uint16
	Force        uint16 // force-tlsv1x
	No           []uint16
	Ciphers      []uint16 // nil: unset
	CipherSuites string   // as written, checked
	Curves       []tls.CurveID
	NoTickets    bool
	Verify       string // "", none, optional, required
	CAFile       string // as written (relative to ca-base)
	CRLFile      string
	PreferClient bool // prefer-client-ciphers: Go never prefers server order for TLS 1.2 either
	NoSSLv3      bool // no-sslv3: nothing to disable, but it counts as a no-* option
	StrictSNI    bool
}

// ErrNotTLSOption: the word is not a TLS option ParseOption knows.
var ErrNotTLSOption = errors.New("not a TLS option")

// Where an option is written, for what it may say.
const (
	InBind = iota
	InCrtList
	InDefaultOptions // ssl-default-bind-options, ssl-default-server-options
)

// optionArgs are the TLS options of a bind and how many arguments each takes.
var optionArgs = map[string]int{
	"alpn": 1, "ssl-min-ver": 1, "ssl-max-ver": 1, "ciphers": 1, "ciphersuites": 1, "curves": 1, "ecdhe": 1,
	"verify": 1, "ca-file": 1, "crl-file": 1,
	"no-sslv3": 0, "no-tlsv10": 0, "no-tlsv11": 0, "no-tlsv12": 0, "no-tlsv13": 0,
	"force-sslv3": 0, "force-tlsv10": 0, "force-tlsv11": 0, "force-tlsv12": 0, "force-tlsv13": 0,
	"no-tls-tickets": 0, "strict-sni": 0, "prefer-client-ciphers": 0,
}

// crtListOptions are those a crt-list line may carry out (HAProxy's list, less what
// tandem refuses: npn, no-ca-names, allow-0rtt, ca-verify-file). HAProxy 2.6 refuses
// no-tls-tickets there ("unknown ssl keyword"), and so does tandem.
var crtListOptions = []string{"alpn", "ssl-min-ver", "ssl-max-ver", "ciphers", "ciphersuites", "curves", "ecdhe", "verify", "ca-file", "crl-file"}

// defaultOptions are what ssl-default-bind-options may hold.
var defaultOptions = []string{"ssl-min-ver", "ssl-max-ver", "no-sslv3", "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13",
	"force-sslv3", "force-tlsv10", "force-tlsv11", "force-tlsv12", "force-tlsv13", "no-tls-tickets", "prefer-client-ciphers"}

// TakesArg reports whether a TLS option word takes an argument and whether it is one.
func TakesArg(name string) (takes, known bool) {
	n, ok := optionArgs[name]
	return n == 1, ok
}

// ParseOption reads one TLS option, words[0], with its argument words[1] if it takes
// one, into o. It returns how many words it took; ErrNotTLSOption when words[0] is
// not one (the caller tries its other options).
func (o *Options) ParseOption(words []string, where int) (int, error) {
	name := words[0]
	nargs, ok := optionArgs[name]
	if !ok {
		return 0, ErrNotTLSOption
	}
	switch where {
	case InCrtList:
		if !slices.Contains(crtListOptions, name) {
			return 0, fmt.Errorf("option %q is not allowed in a crt-list line (as in HAProxy 2.6: it belongs on the bind line)", name)
		}
	case InDefaultOptions:
		if !slices.Contains(defaultOptions, name) {
			return 0, fmt.Errorf("unknown option %q", name)
		}
	}
	if len(words) < 1+nargs {
		return 0, fmt.Errorf("%q needs an argument", name)
	}
	arg := ""
	if nargs == 1 {
		arg = words[1]
	}
	var err error
	switch name {
	case "alpn":
		o.ALPN = nil
		for _, p := range strings.Split(arg, ",") {
			if p == "" || len(p) > 255 {
				return 0, fmt.Errorf("alpn %q: empty or too long protocol name", arg)
			}
			o.ALPN = append(o.ALPN, p)
		}
	case "ssl-min-ver":
		o.MinVer, err = ParseVersion(arg)
	case "ssl-max-ver":
		o.MaxVer, err = ParseVersion(arg)
	case "ciphers":
		o.Ciphers, err = ParseCiphers(arg)
	case "ciphersuites":
		o.CipherSuites = arg
		err = CheckCipherSuites(arg)
	case "curves":
		o.Curves, err = ParseCurves(arg)
	case "ecdhe":
		var c []tls.CurveID
		if c, err = ParseCurves(arg); err == nil && len(c) != 1 {
			err = fmt.Errorf("ecdhe %q: one curve expected", arg)
		}
		o.Curves = c
	case "verify":
		if arg != "none" && arg != "optional" && arg != "required" {
			return 0, fmt.Errorf("verify %q (expected none, optional or required)", arg)
		}
		o.Verify = arg
	case "ca-file":
		o.CAFile = arg
	case "crl-file":
		o.CRLFile = arg
	case "no-sslv3":
		o.NoSSLv3 = true
	case "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13":
		v := versionNames["TLSv1."+name[len(name)-1:]]
		if !slices.Contains(o.No, v) {
			o.No = append(slices.Clip(o.No), v) // o may be a copy of default-server's
		}
	case "force-sslv3":
		return 0, fmt.Errorf("force-sslv3: SSLv3 is not implemented by Go's crypto/tls (and is insecure)")
	case "force-tlsv10", "force-tlsv11", "force-tlsv12", "force-tlsv13":
		o.Force = versionNames["TLSv1."+name[len(name)-1:]]
	case "no-tls-tickets":
		o.NoTickets = true
	case "strict-sni":
		o.StrictSNI = true
	case "prefer-client-ciphers":
		o.PreferClient = true
	}
	if err != nil {
		return 0, err
	}
	return 1 + nargs, nil
}

// Settings are the resolved TLS settings of a bind, or of one crt-list line.
type Settings struct {
	MinVersion, MaxVersion uint16
	Ciphers                []uint16
	Curves                 []tls.CurveID // nil: Go's default (X25519MLKEM768, X25519, P-256, P-384, P-521)
	ALPN                   []string
	NoTickets              bool
	ClientAuth             tls.ClientAuthType
	ClientCAs              *x509.CertPool
	CRLs                   []*x509.RevocationList
	Lifetime               time.Duration // tune.ssl.lifetime: sessions resume within it (0: DefaultLifetime)
	// Ignored says what of the options was ignored, as HAProxy ignores it (with a
	// warning): no-sslv3/no-tlsv1x when a minimum or maximum version is set.
	Ignored string
}

// CAs loads ca-file and crl-file contents: the caller maps paths to loaded values.
type CAs struct {
	Pool func(path string) (*x509.CertPool, error)
	CRL  func(path string) ([]*x509.RevocationList, error)
}

// Resolve merges layers of options, later ones overriding earlier ones (the global
// defaults, the bind line, a crt-list line), into final settings. tandem's defaults
// where nothing is written: TLS 1.2 and 1.3, DefaultCiphers, no client certificate.
func Resolve(cas CAs, layers ...*Options) (*Settings, error) {
	s := &Settings{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13, Ciphers: DefaultCiphers}
	var no []uint16
	rangeSet := false
	verify, caFile, crlFile := "", "", ""
	for _, o := range layers {
		if o == nil {
			continue
		}
		if o.MinVer != 0 {
			s.MinVersion, rangeSet = o.MinVer, true
		}
		if o.MaxVer != 0 {
			s.MaxVersion, rangeSet = o.MaxVer, true
		}
		if o.Force != 0 {
			s.MinVersion, s.MaxVersion, rangeSet = o.Force, o.Force, true
		}
		no = append(no, o.No...)
		if o.NoSSLv3 {
			no = append(no, VersionSSL30)
		}
		if o.Ciphers != nil {
			s.Ciphers = o.Ciphers
		}
		if o.Curves != nil {
			s.Curves = o.Curves
		}
		if o.ALPN != nil {
			s.ALPN = o.ALPN
		}
		if o.NoTickets {
			s.NoTickets = true
		}
		if o.Verify != "" {
			verify = o.Verify
		}
		if o.CAFile != "" {
			caFile = o.CAFile
		}
		if o.CRLFile != "" {
			crlFile = o.CRLFile
		}
	}
	if rangeSet && len(no) > 0 {
		// HAProxy: "no-sslv3/no-tlsv1x are ignored […] Use only 'ssl-min-ver' and
		// 'ssl-max-ver' to fix."
		s.Ignored = "no-sslv3/no-tlsv1x are ignored when ssl-min-ver, ssl-max-ver or force-* is set, as HAProxy does: use only ssl-min-ver and ssl-max-ver"
		no = nil
	}
	if s.MinVersion < tls.VersionTLS10 { // SSLv3: the lowest there is
		s.MinVersion = tls.VersionTLS10
	}
	if s.MaxVersion < tls.VersionTLS10 {
		return nil, fmt.Errorf("no TLS version left: SSLv3 is implemented neither by Go's crypto/tls nor by Debian's OpenSSL (HAProxy: all SSL/TLS versions are disabled)")
	}
	// no-tlsv1x trims the ends of the range; a hole in the middle cannot be made.
	for changed := true; changed; {
		changed = false
		if slices.Contains(no, s.MinVersion) && s.MinVersion < s.MaxVersion+1 {
			s.MinVersion++
			changed = true
		}
		if slices.Contains(no, s.MaxVersion) && s.MaxVersion >= s.MinVersion {
			s.MaxVersion--
			changed = true
		}
		if s.MinVersion > s.MaxVersion {
			break
		}
	}
	if s.MinVersion > s.MaxVersion {
		return nil, fmt.Errorf("no TLS version left: ssl-min-ver %s is above ssl-max-ver %s (or no-tlsv1x options disable every version)", VersionName(s.MinVersion), VersionName(s.MaxVersion))
	}
	for _, v := range no {
		if v > s.MinVersion && v < s.MaxVersion {
			return nil, fmt.Errorf("no-%s leaves a hole between %s and %s: Go's crypto/tls enables a range of versions; use ssl-min-ver and ssl-max-ver", strings.ToLower(strings.ReplaceAll(VersionName(v), ".", "")), VersionName(s.MinVersion), VersionName(s.MaxVersion))
		}
	}
	switch verify {
	case "", "none":
		s.ClientAuth = tls.NoClientCert
	case "optional":
		s.ClientAuth = tls.VerifyClientCertIfGiven
	case "required":
		s.ClientAuth = tls.RequireAndVerifyClientCert
	}
	if s.ClientAuth != tls.NoClientCert && caFile == "" {
		return nil, fmt.Errorf("verify %s needs a ca-file to verify client certificates with", verify)
	}
	// The files are read even when nothing asks for a client certificate, as HAProxy
	// does: a missing one is an error either way.
	if (caFile != "" && cas.Pool == nil) || (crlFile != "" && cas.CRL == nil) {
		return nil, fmt.Errorf("ca-file and crl-file cannot be read here")
	}
	if caFile != "" {
		pool, err := cas.Pool(caFile)
		if err != nil {
			return nil, err
		}
		if s.ClientAuth != tls.NoClientCert {
			s.ClientCAs = pool
		}
	}
	if crlFile != "" {
		crls, err := cas.CRL(crlFile)
		if err != nil {
			return nil, err
		}
		if s.ClientAuth != tls.NoClientCert {
			s.CRLs = crls
		}
	}
	return s, nil
}

// ParseCRLs reads the certificate revocation lists of a PEM (or DER) crl-file.
func ParseCRLs(path string, data []byte) ([]*x509.RevocationList, error) {
	var out []*x509.RevocationList
	rest := data
	for {
		blk, r := pemDecode(rest)
		if blk == nil {
			break
		}
		rest = r
		if blk.Type != "X509 CRL" {
			continue
		}
		l, err := x509.ParseRevocationList(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		if l, err := x509.ParseRevocationList(data); err == nil {
			return []*x509.RevocationList{l}, nil
		}
		return nil, fmt.Errorf("%s: no certificate revocation list found", path)
	}
	return out, nil
}
