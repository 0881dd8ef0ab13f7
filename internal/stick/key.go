package stick

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// Key is an entry's key in the form its table stores it: 4 bytes for ip, 16 for ipv6, a
// 32-bit integer, a string cut to the table's length, or a block of exactly the table's
// length. A Key is a comparable value; building one for an address or an integer does
// not allocate.
type Key struct {
	fixed [16]byte // ip (4 bytes), ipv6 (16), integer (4, little-endian as HAProxy's tree)
	s     string   // string and binary keys
}

// ErrInvalidKey is a key the table's type cannot hold.
var ErrInvalidKey = errors.New("invalid key")

// KeyAddr returns the key of address a: an ip table takes IPv4 addresses (and IPv4
// addresses mapped in IPv6), an ipv6 table takes both (IPv4 mapped). Other tables, and
// IPv6 addresses in an ip table, report false.
func (t *Table) KeyAddr(a netip.Addr) (Key, bool) {
	var k Key
	switch t.def.Type {
	case KeyIP:
		a = a.Unmap()
		if !a.Is4() {
			return k, false
		}
		b := a.As4()
		copy(k.fixed[:], b[:])
	case KeyIPv6:
		if !a.IsValid() {
			return k, false
		}
		k.fixed = a.As16()
	default:
		return k, false
	}
	return k, true
}

// KeyInt returns the key of integer n in an integer table. HAProxy keeps 32 bits.
func (t *Table) KeyInt(n int64) (Key, bool) {
	var k Key
	if t.def.Type != KeyInteger {
		return k, false
	}
	binary.LittleEndian.PutUint32(k.fixed[:4], uint32(n))
	return k, true
}

// KeyString returns the key of s in a string table (cut to the table's length) or a
// binary table (cut or padded with zeros to it).
func (t *Table) KeyString(s string) (Key, bool) {
	var k Key
	switch t.def.Type {
	case KeyString:
		if i := strings.IndexByte(s, 0); i >= 0 {
			s = s[:i] // HAProxy's string keys end at a NUL
		}
		if len(s) > t.def.KeyLen {
			s = s[:t.def.KeyLen]
		}
		k.s = s
	case KeyBinary:
		if len(s) > t.def.KeyLen {
			s = s[:t.def.KeyLen]
		} else if len(s) < t.def.KeyLen {
			s += strings.Repeat("\x00", t.def.KeyLen-len(s))
		}
		k.s = s
	default:
		return k, false
	}
	return k, true
}

// ParseKey reads a key as the runtime API does (`show|set|clear table … key KEY`): an
// ip key with HAProxy's lenient reading (each dot-separated part keeps its last three
// digits; what follows a non-digit is ignored), an ipv6 address, a 32-bit unsigned
// integer (an optional sign, digits, anything after them ignored), or a string.
// Binary tables take no key from the runtime API.
func (t *Table) ParseKey(s string) (Key, error) {
	var k Key
	switch t.def.Type {
	case KeyIP:
		binary.BigEndian.PutUint32(k.fixed[:4], lenientIPv4(s))
		return k, nil
	case KeyIPv6:
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return k, ErrInvalidKey
		}
		k.fixed = a.As16()
		return k, nil
	case KeyInteger:
		n, ok := cliUint32(s)
		if !ok {
			return k, ErrInvalidKey
		}
		binary.LittleEndian.PutUint32(k.fixed[:4], n)
		return k, nil
	case KeyString:
		k, _ = t.KeyString(s)
		return k, nil
	}
	return k, errBinaryKey
}

var errBinaryKey = errors.New("binary keys cannot be given on the runtime API")

// lenientIPv4 reads an IPv4 address as HAProxy's runtime API does: up to four parts
// separated by dots; each part is the value of its last three digits (more than 255
// carries into the part before, and the first part's carry is lost); a part that does
// not start with a digit is zero and ends the reading.
func lenientIPv4(s string) uint32 {
	var v uint32
	shift := 24
	for {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		part := uint32(0)
		start := max(i-3, 0)
		for _, c := range s[start:i] {
			part = part*10 + uint32(c-'0')
		}
		v += part << shift
		if shift == 0 || i >= len(s) || s[i] != '.' {
			return v
		}
		shift -= 8
		s = s[i+1:]
	}
}

// cliUint32 reads an integer key as HAProxy's runtime API: an optional sign then at
// least one digit; reading stops at the first non-digit. A negative number other than
// zero, or more than 32 bits, is refused.
func cliUint32(s string) (uint32, bool) {
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(s[:i], 10, 64)
	if err != nil || n > 0xffffffff || neg && n != 0 {
		return 0, false
	}
	return uint32(n), true
}

// FormatKey writes k as `show table` prints it: dotted or IPv6 notation, a decimal
// integer, a string with HAProxy's escapes (space, '=', '\' and non-printable bytes),
// or binary bytes in upper-case hexadecimal.
func (t *Table) FormatKey(k Key) string {
	switch t.def.Type {
	case KeyIP:
		return netip.AddrFrom4([4]byte(k.fixed[:4])).String()
	case KeyIPv6:
		return netip.AddrFrom16(k.fixed).String()
	case KeyInteger:
		return strconv.FormatUint(uint64(binary.LittleEndian.Uint32(k.fixed[:4])), 10)
	case KeyString:
		return escapeText(k.s)
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, 2*len(k.s))
	for i := 0; i < len(k.s); i++ {
		b = append(b, hex[k.s[i]>>4], hex[k.s[i]&15])
	}
	return string(b)
}

func escapeText(s string) string {
	var b strings.Builder
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0:
			return b.String()
		case c == ' ' || c == '=' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == 0x1b:
			b.WriteString(`\e`)
		case c < 0x20 || c >= 0x7f:
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// compareKeys orders keys as HAProxy's trees do: by bytes (integers by their
// little-endian bytes), then strings.
func compareKeys(a, b *Key) int {
	if c := bytes.Compare(a.fixed[:], b.fixed[:]); c != 0 {
		return c
	}
	return strings.Compare(a.s, b.s)
}
