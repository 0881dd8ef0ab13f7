package tlsconf

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
)

// suite is a TLS 1.0–1.2 cipher suite crypto/tls implements, with the OpenSSL name and
// the attributes OpenSSL cipher classes select on.
type suite struct {
	name  string // OpenSSL's
	id    uint16
	attrs string // space separated OpenSSL class names the suite belongs to
}

var goSuites = []suite{
	{"ECDHE-ECDSA-AES128-GCM-SHA256", tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE EECDH kECDHE kEECDH ECDSA aECDSA AESGCM AES AES128 SHA256 HIGH TLSv1.2"},
	{"ECDHE-RSA-AES128-GCM-SHA256", tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE EECDH kECDHE kEECDH aRSA AESGCM AES AES128 SHA256 HIGH TLSv1.2"},
	{"ECDHE-ECDSA-AES256-GCM-SHA384", tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE EECDH kECDHE kEECDH ECDSA aECDSA AESGCM AES AES256 SHA384 HIGH TLSv1.2"},
	{"ECDHE-RSA-AES256-GCM-SHA384", tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE EECDH kECDHE kEECDH aRSA AESGCM AES AES256 SHA384 HIGH TLSv1.2"},
	{"ECDHE-ECDSA-CHACHA20-POLY1305", tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE EECDH kECDHE kEECDH ECDSA aECDSA CHACHA20 HIGH TLSv1.2"},
	{"ECDHE-RSA-CHACHA20-POLY1305", tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE EECDH kECDHE kEECDH aRSA CHACHA20 HIGH TLSv1.2"},
	{"ECDHE-ECDSA-AES128-SHA256", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, "ECDHE EECDH kECDHE kEECDH ECDSA aECDSA AES AES128 SHA256 HIGH TLSv1.2"},
	{"ECDHE-RSA-AES128-SHA256", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, "ECDHE EECDH kECDHE kEECDH aRSA AES AES128 SHA256 HIGH TLSv1.2"},
	{"ECDHE-ECDSA-AES128-SHA", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "ECDHE EECDH kECDHE kEECDH ECDSA aECDSA AES AES128 SHA1 SHA HIGH SSLv3"},
	{"ECDHE-RSA-AES128-SHA", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "ECDHE EECDH kECDHE kEECDH aRSA AES AES128 SHA1 SHA HIGH SSLv3"},
	{"ECDHE-ECDSA-AES256-SHA", tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "ECDHE EECDH kECDHE kEECDH ECDSA aECDSA AES AES256 SHA1 SHA HIGH SSLv3"},
	{"ECDHE-RSA-AES256-SHA", tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "ECDHE EECDH kECDHE kEECDH aRSA AES AES256 SHA1 SHA HIGH SSLv3"},
	{"AES128-GCM-SHA256", tls.TLS_RSA_WITH_AES_128_GCM_SHA256, "RSA kRSA aRSA AESGCM AES AES128 SHA256 HIGH TLSv1.2"},
	{"AES256-GCM-SHA384", tls.TLS_RSA_WITH_AES_256_GCM_SHA384, "RSA kRSA aRSA AESGCM AES AES256 SHA384 HIGH TLSv1.2"},
	{"AES128-SHA256", tls.TLS_RSA_WITH_AES_128_CBC_SHA256, "RSA kRSA aRSA AES AES128 SHA256 HIGH TLSv1.2"},
	{"AES128-SHA", tls.TLS_RSA_WITH_AES_128_CBC_SHA, "RSA kRSA aRSA AES AES128 SHA1 SHA HIGH SSLv3"},
	{"AES256-SHA", tls.TLS_RSA_WITH_AES_256_CBC_SHA, "RSA kRSA aRSA AES AES256 SHA1 SHA HIGH SSLv3"},
	{"ECDHE-RSA-DES-CBC3-SHA", tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, "ECDHE EECDH kECDHE kEECDH aRSA 3DES DES SHA1 SHA MEDIUM SSLv3"},
	{"DES-CBC3-SHA", tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, "RSA kRSA aRSA 3DES DES SHA1 SHA MEDIUM SSLv3"},
	{"ECDHE-ECDSA-RC4-SHA", tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA, "ECDHE EECDH kECDHE kEECDH ECDSA aECDSA RC4 SHA1 SHA LOW SSLv3"},
	{"ECDHE-RSA-RC4-SHA", tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA, "ECDHE EECDH kECDHE kEECDH aRSA RC4 SHA1 SHA LOW SSLv3"},
	{"RC4-SHA", tls.TLS_RSA_WITH_RC4_128_SHA, "RSA kRSA aRSA RC4 SHA1 SHA LOW SSLv3"},
}

// exclusionClasses are the OpenSSL classes a "!X" or "-X" may name. Those no suite of
// goSuites belongs to remove nothing, exactly as in OpenSSL (Go has none of their
// suites to offer in the first place).
var exclusionClasses = strings.Fields(`aNULL eNULL NULL COMPLEMENTOFALL EXP EXPORT EXPORT40 EXPORT56 ADH AECDH
	DSS aDSS DH DHE EDH kDHE kEDH kDHr kDHd aDH PSK kPSK aPSK kECDHEPSK kDHEPSK kRSAPSK SRP kSRP aSRP
	CAMELLIA CAMELLIA128 CAMELLIA256 ARIA ARIA128 ARIA256 ARIAGCM SEED IDEA RC2 MD5 CCM CCM8 AESCCM AESCCM8
	GOST94 GOST89MAC kGOST aGOST aGOST01 aGOST12 kECDH aECDH ECDH`)

// DefaultCiphers is tandem's TLS ≤1.2 default when no `ciphers` is set: ECDHE key
// exchange with AEAD encryption only (no RSA key exchange, no CBC, no SHA-1).
var DefaultCiphers = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// ParseCiphers maps an OpenSSL cipher list (`ciphers`, `ssl-default-bind-ciphers`) to
// crypto/tls suites. It accepts suites named one by one, separated by ':' (or ',' or
// spaces), and exclusions "!CLASS" / "-CLASS". It refuses, saying why, what crypto/tls
// cannot carry out: suites it does not implement (finite-field DHE, CAMELLIA, ARIA,
// CCM, …), cipher classes used to add suites (HIGH, ECDHE+AESGCM, DEFAULT: OpenSSL
// would add suites Go lacks), and @SECLEVEL. Go picks among the suites in its own
// order (hardware-aware), not in the list's: "+X" and @STRENGTH change nothing and are
// accepted.
func ParseCiphers(list string) ([]uint16, error) {
	words := strings.FieldsFunc(list, func(r rune) bool { return r == ':' || r == ',' || r == ' ' })
	// "!X" removes for good, even what later words add (OpenSSL's rule).
	var never []string
	for _, w := range words {
		if w[0] == '!' {
			never = append(never, w[1:])
		}
	}
	matches := func(name, attrs, class string) bool {
		return name == class || inClasses(attrs, class) || missingInClass(name, class)
	}
	var out []uint16
	var missing []string // named suites Go lacks, unless a later exclusion removes them
	for _, w := range words {
		switch {
		case w == "@STRENGTH":
			continue
		case strings.HasPrefix(w, "@"):
			return nil, fmt.Errorf("cipher list %q: %s is not supported by tandem", list, w)
		case w[0] == '!' || w[0] == '-':
			class := w[1:]
			known := slices.Contains(exclusionClasses, class) || isKnownMissing(class)
			for _, s := range goSuites {
				if matches(s.name, s.attrs, class) {
					known = true
					out = slices.DeleteFunc(out, func(id uint16) bool { return id == s.id })
				}
			}
			missing = slices.DeleteFunc(missing, func(n string) bool { return matches(n, "", class) })
			if !known {
				return nil, fmt.Errorf("cipher list %q: unknown cipher or class %q in %q", list, class, w)
			}
		case w[0] == '+':
			continue // moves suites to the end: Go does not follow the list's order anyway
		default:
			excluded := func(name, attrs string) bool {
				return slices.ContainsFunc(never, func(c string) bool { return matches(name, attrs, c) })
			}
			s, ok := suiteByName(w)
			if !ok {
				if isKnownMissing(w) && excluded(w, "") {
					continue
				}
				if !isKnownMissing(w) {
					return nil, fmt.Errorf("cipher list %q: %s", list, whyMissing(w))
				}
				missing = append(missing, w)
				continue
			}
			if !excluded(s.name, s.attrs) && !slices.Contains(out, s.id) {
				out = append(out, s.id)
			}
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("cipher list %q: %s", list, whyMissing(missing[0]))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("cipher list %q selects no cipher suite", list)
	}
	return out, nil
}

// missingInClass tells whether a suite Go lacks, by its OpenSSL name, is in class.
func missingInClass(name, class string) bool {
	if !isKnownMissing(name) {
		return false
	}
	dhe := strings.HasPrefix(name, "DHE-") || strings.HasPrefix(name, "EDH-")
	switch class {
	case "DHE", "EDH", "kDHE", "kEDH", "DH", "kDH":
		return dhe
	case "NULL", "eNULL":
		return strings.Contains(name, "NULL")
	case "aNULL", "ADH", "AECDH":
		return strings.HasPrefix(name, "ADH-") || strings.HasPrefix(name, "AECDH-")
	case "CAMELLIA", "ARIA", "CCM", "PSK", "SRP", "SEED", "IDEA", "GOST":
		return strings.Contains(name, class)
	case "SHA384":
		return strings.HasSuffix(name, "SHA384")
	}
	return false
}

func inClasses(attrs, class string) bool {
	for _, part := range strings.Split(class, "+") { // "ECDHE+AESGCM": in every class
		if !slices.Contains(strings.Fields(attrs), part) {
			return false
		}
	}
	return true
}

func suiteByName(name string) (suite, bool) {
	for _, s := range goSuites {
		if s.name == name {
			return s, true
		}
	}
	return suite{}, false
}

// isKnownMissing tells names of real OpenSSL suites crypto/tls does not implement.
func isKnownMissing(name string) bool {
	for _, p := range []string{"DHE-", "EDH-", "ADH-", "AECDH-"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	for _, p := range []string{"CAMELLIA", "ARIA", "CCM", "PSK", "SRP", "SEED", "IDEA", "NULL", "GOST"} {
		if strings.Contains(name, p) && strings.Contains(name, "-") {
			return true
		}
	}
	switch name {
	case "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384", "AES256-SHA256", "RC4-MD5", "DES-CBC-SHA":
		return true
	}
	return false
}

func whyMissing(name string) string {
	isClass := name == strings.ToUpper(name) && !strings.Contains(name, "-") || strings.Contains(name, "+") ||
		slices.Contains([]string{"aRSA", "kRSA", "aECDSA", "kECDHE", "kEECDH", "TLSv1.2", "SSLv3"}, name)
	switch {
	case strings.HasPrefix(name, "DHE-") || strings.HasPrefix(name, "EDH-") || strings.Contains(name, "-DHE-"):
		return fmt.Sprintf("%s uses finite-field Diffie-Hellman (DHE), which Go's crypto/tls does not implement: remove it (clients with ECDHE, every current one, are not affected)", name)
	case isKnownMissing(name):
		return fmt.Sprintf("%s is not implemented by Go's crypto/tls: remove it", name)
	case isClass:
		return fmt.Sprintf("cipher class %q is not supported by tandem: OpenSSL would add suites Go's crypto/tls lacks; name the suites one by one (for example ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305)", name)
	}
	return fmt.Sprintf("unknown cipher %q", name)
}

// TLS13Suites are the TLS 1.3 suites of crypto/tls: always all three, chosen in Go's
// own order.
var TLS13Suites = []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}

// CheckCipherSuites accepts a TLS 1.3 `ciphersuites` list only when it is what Go
// does: exactly its three suites, in any order.
func CheckCipherSuites(list string) error {
	names := strings.FieldsFunc(list, func(r rune) bool { return r == ':' })
	got := slices.Clone(names)
	slices.Sort(got)
	got = slices.Compact(got)
	want := slices.Clone(TLS13Suites)
	slices.Sort(want)
	if slices.Equal(got, want) {
		return nil
	}
	for _, n := range names {
		if !slices.Contains(TLS13Suites, n) && !strings.HasPrefix(n, "TLS_AES_128_CCM") {
			return fmt.Errorf("ciphersuites %q: unknown TLS 1.3 suite %q", list, n)
		}
	}
	return fmt.Errorf("ciphersuites %q: Go's crypto/tls always offers exactly %s for TLS 1.3 and cannot offer a different set; write that list, or disable TLS 1.3 (ssl-max-ver TLSv1.2)", list, strings.Join(TLS13Suites, ":"))
}

var curveNames = map[string]tls.CurveID{
	"X25519": tls.X25519, "x25519": tls.X25519,
	"P-256": tls.CurveP256, "prime256v1": tls.CurveP256, "secp256r1": tls.CurveP256,
	"P-384": tls.CurveP384, "secp384r1": tls.CurveP384,
	"P-521": tls.CurveP521, "secp521r1": tls.CurveP521,
	"X25519MLKEM768": tls.X25519MLKEM768,
}

// ParseCurves maps an OpenSSL group list ("X25519:P-256") to crypto/tls curves.
func ParseCurves(list string) ([]tls.CurveID, error) {
	var out []tls.CurveID
	for _, n := range strings.Split(list, ":") {
		id, ok := curveNames[n]
		if !ok {
			switch {
			case n == "X448" || n == "x448" || strings.HasPrefix(n, "ffdhe") || strings.HasPrefix(n, "brainpool"):
				return nil, fmt.Errorf("curve %q is not implemented by Go's crypto/tls (it has X25519, P-256, P-384, P-521, X25519MLKEM768)", n)
			}
			return nil, fmt.Errorf("unknown curve %q (expected X25519, P-256, P-384, P-521 or X25519MLKEM768)", n)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// Versions are HAProxy's protocol version names.
var versionNames = map[string]uint16{
	"TLSv1.0": tls.VersionTLS10, "TLSv1.1": tls.VersionTLS11, "TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13,
}

// VersionSSL30 is SSLv3, which neither crypto/tls nor Debian's OpenSSL 3 implements:
// as a minimum it means the lowest version there is (TLS 1.0, as HAProxy on Debian);
// as a maximum it leaves no version.
const VersionSSL30 = 0x0300

// ParseVersion maps SSLv3, TLSv1.0 … TLSv1.3 to crypto/tls versions.
func ParseVersion(s string) (uint16, error) {
	if v, ok := versionNames[s]; ok {
		return v, nil
	}
	if s == "SSLv3" {
		return VersionSSL30, nil
	}
	return 0, fmt.Errorf("unknown version %q (expected TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3)", s)
}

// VersionName is HAProxy's name of a version (%sslv, ssl_fc_protocol).
func VersionName(v uint16) string {
	for n, id := range versionNames {
		if id == v {
			return n
		}
	}
	return ""
}

// CipherName is OpenSSL's name of a negotiated suite (%sslc, ssl_fc_cipher).
func CipherName(id uint16) string {
	switch id {
	case tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256:
		return tls.CipherSuiteName(id)
	}
	for _, s := range goSuites {
		if s.id == id {
			return s.name
		}
	}
	return tls.CipherSuiteName(id)
}
