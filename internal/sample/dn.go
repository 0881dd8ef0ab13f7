package sample

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strings"
)

// dnShortNames are OpenSSL's short names of the attributes of a distinguished name;
// an attribute not listed is written as its dotted OID, as OpenSSL does.
var dnShortNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
	"2.5.4.5": "serialNumber", "2.5.4.9": "street", "2.5.4.17": "postalCode", "2.5.4.4": "SN", "2.5.4.42": "GN",
	"1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID",
	"2.5.4.12": "title", "2.5.4.46": "dnQualifier", "2.5.4.65": "pseudonym", "2.5.4.43": "initials",
}

// dnOIDs is dnShortNames by OID, to compare without allocating.
var dnOIDs = func() []dnOID {
	var out []dnOID
	for dotted, name := range dnShortNames {
		var oid asn1.ObjectIdentifier
		for _, p := range strings.Split(dotted, ".") {
			n := 0
			for _, c := range p {
				n = n*10 + int(c-'0')
			}
			oid = append(oid, n)
		}
		out = append(out, dnOID{oid, name})
	}
	return out
}()

type dnOID struct {
	oid  asn1.ObjectIdentifier
	name string
}

func dnName(oid asn1.ObjectIdentifier) string {
	for _, d := range dnOIDs {
		if d.oid.Equal(oid) {
			return d.name
		}
	}
	return oid.String()
}

// DNForm is how FormatDN writes a whole name.
type DNForm uint8

// Forms of a distinguished name.
const (
	DNOneline DNForm = iota // "/C=FR/O=Org/CN=name", in the certificate's order (HAProxy's default)
	DNRFC2253               // "CN=name,O=Org,C=FR": reversed, escaped (format "rfc2253")
)

// FormatDN appends to dst the DER distinguished name raw as HAProxy's ssl_c_s_dn and
// ssl_c_i_dn write it (see AppendDN). A name that does not parse reports false.
func FormatDN(dst, raw []byte, entry string, occ int, form DNForm) ([]byte, bool) {
	seq, ok := ParseDN(raw)
	if !ok {
		return dst, false
	}
	return AppendDN(dst, seq, entry, occ, form)
}

// ParseDN parses a DER distinguished name.
func ParseDN(raw []byte) (pkix.RDNSequence, bool) {
	var seq pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &seq); err != nil || len(rest) > 0 {
		return nil, false
	}
	return seq, true
}

// AppendDN appends the name seq as HAProxy's ssl_c_s_dn and ssl_c_i_dn write it. With
// entry set (a short name such as "CN", or a dotted OID), it appends only the value of
// that entry's occ-th occurrence (counted from the end when occ is negative) and
// reports false when there is none; otherwise the whole name in form. It allocates
// nothing when dst has room.
func AppendDN(dst []byte, seq pkix.RDNSequence, entry string, occ int, form DNForm) ([]byte, bool) {
	if entry != "" {
		if occ == 0 {
			return dst, false
		}
		n := 0
		for _, rdn := range seq {
			for _, atv := range rdn {
				if dnIs(atv.Type, entry) {
					n++
				}
			}
		}
		want := occ
		if occ < 0 {
			want = n + occ + 1
		}
		if want < 1 || want > n {
			return dst, false
		}
		for _, rdn := range seq {
			for _, atv := range rdn {
				if dnIs(atv.Type, entry) {
					if want--; want == 0 {
						return appendDNValue(dst, atv.Value, false), true
					}
				}
			}
		}
		return dst, false
	}
	if form == DNRFC2253 {
		for i := len(seq) - 1; i >= 0; i-- {
			if i != len(seq)-1 {
				dst = append(dst, ',')
			}
			for j, atv := range seq[i] {
				if j > 0 {
					dst = append(dst, '+')
				}
				dst = append(dst, dnName(atv.Type)...)
				dst = append(dst, '=')
				dst = appendDNValue(dst, atv.Value, true)
			}
		}
		return dst, true
	}
	for _, rdn := range seq {
		for _, atv := range rdn {
			dst = append(dst, '/')
			dst = append(dst, dnName(atv.Type)...)
			dst = append(dst, '=')
			dst = appendDNValue(dst, atv.Value, false)
		}
	}
	return dst, true
}

// dnIs reports whether oid is the entry named (short name or dotted OID).
func dnIs(oid asn1.ObjectIdentifier, entry string) bool {
	if entry != "" && entry[0] >= '0' && entry[0] <= '9' {
		return oid.String() == entry
	}
	for _, d := range dnOIDs {
		if d.name == entry {
			return d.oid.Equal(oid)
		}
	}
	return false
}

// appendDNValue appends an attribute's value, escaped as RFC 2253 §2.4 asks when
// rfc2253 is set.
func appendDNValue(dst []byte, v any, rfc2253 bool) []byte {
	s, ok := v.(string)
	if !ok {
		return fmt.Appendf(dst, "%v", v)
	}
	if !rfc2253 {
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case strings.IndexByte(`,+"\<>;`, c) >= 0,
			i == 0 && (c == '#' || c == ' '),
			i == len(s)-1 && c == ' ':
			dst = append(dst, '\\', c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
