// Package proxyproto reads and writes the PROXY protocol header (HAProxy's
// proxy-protocol.txt, versions 1 and 2) that carries a client's addresses across a
// proxy: `bind … accept-proxy` reads it, `server … send-proxy[-v2[-ssl]]` writes it.
//
// The package is pure: it works on byte slices and does no I/O.
package proxyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
)

// Errors of Parse.
var (
	// ErrShort: the bytes so far are the start of a valid header; read more.
	ErrShort = errors.New("proxy protocol: incomplete header")
	// ErrInvalid: the bytes start as a PROXY protocol header but are not a valid one.
	ErrInvalid = errors.New("proxy protocol: invalid header")
	// ErrNotProxy: the bytes do not start as a PROXY protocol header at all.
	ErrNotProxy = errors.New("proxy protocol: not a header")
)

// v1Max is the longest v1 header, CRLF included (proxy-protocol.txt §2.1).
const v1Max = 107

// sigV2 starts every v2 header (§2.2).
var sigV2 = []byte("\r\n\r\n\x00\r\nQUIT\n")

var sigV1 = []byte("PROXY ")

// Header is a parsed PROXY header.
type Header struct {
	Version int
	// Local: the header carries no client address (v2 LOCAL, v1 UNKNOWN, or a family
	// other than TCP over IPv4/IPv6): the connection's own addresses stand.
	Local    bool
	Src, Dst netip.AddrPort
	TLVs     []byte // v2: the type-length-value records after the addresses (aliases the input)
}

// Parse reads the header at the start of b and returns it with its length. It returns
// ErrShort while b is a proper prefix of a possible header, ErrInvalid when b cannot
// start one (ErrNotProxy when it does not even start as one).
func Parse(b []byte) (h Header, n int, err error) {
	switch {
	case len(b) == 0:
		return h, 0, ErrShort
	case hasPrefix(b, sigV2):
		return parseV2(b)
	case hasPrefix(b, sigV1):
		return parseV1(b)
	}
	return h, 0, ErrNotProxy
}

// hasPrefix reports whether b and sig agree on their common length: ErrShort's test.
func hasPrefix(b, sig []byte) bool {
	n := min(len(b), len(sig))
	return n > 0 && bytes.Equal(b[:n], sig[:n])
}

func parseV1(b []byte) (h Header, n int, err error) {
	if len(b) < len(sigV1) {
		return h, 0, ErrShort
	}
	end := bytes.Index(b[:min(len(b), v1Max)], []byte("\r\n"))
	if end < 0 {
		if len(b) >= v1Max || bytes.IndexByte(b, '\n') >= 0 {
			return h, 0, ErrInvalid
		}
		return h, 0, ErrShort
	}
	h.Version, n = 1, end+2
	f := bytes.Split(b[len(sigV1):end], []byte(" "))
	switch string(f[0]) {
	case "UNKNOWN":
		h.Local = true // whatever follows is ignored (§2.1)
		return h, n, nil
	case "TCP4", "TCP6":
	default:
		return h, 0, ErrInvalid
	}
	if len(f) != 5 {
		return h, 0, ErrInvalid
	}
	v6 := f[0][3] == '6'
	src, ok1 := v1Addr(f[1], f[3], v6)
	dst, ok2 := v1Addr(f[2], f[4], v6)
	if !ok1 || !ok2 {
		return h, 0, ErrInvalid
	}
	h.Src, h.Dst = src, dst
	return h, n, nil
}

func v1Addr(ip, port []byte, v6 bool) (netip.AddrPort, bool) {
	a, err := netip.ParseAddr(string(ip))
	if err != nil || a.Zone() != "" || a.Is4() == v6 {
		return netip.AddrPort{}, false
	}
	if len(port) == 0 || len(port) > 5 || (len(port) > 1 && port[0] == '0') {
		return netip.AddrPort{}, false
	}
	p, err := strconv.ParseUint(string(port), 10, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a, uint16(p)), true
}

func parseV2(b []byte) (h Header, n int, err error) {
	if len(b) < 16 {
		return h, 0, ErrShort
	}
	verCmd, fam := b[12], b[13]
	if verCmd>>4 != 2 {
		return h, 0, ErrInvalid
	}
	cmd := verCmd & 0xf
	if cmd > 1 {
		return h, 0, ErrInvalid
	}
	l := int(binary.BigEndian.Uint16(b[14:16]))
	if len(b) < 16+l {
		return h, 0, ErrShort
	}
	h.Version, n = 2, 16+l
	body := b[16:n]
	var alen int
	switch fam >> 4 {
	case 1:
		alen = 12
	case 2:
		alen = 36
	case 3:
		alen = 216
	}
	if cmd == 0 || fam&0xf != 1 || alen != 12 && alen != 36 {
		// LOCAL, or not TCP over IP: no address of use to a TCP proxy; the connection's
		// own addresses stand (as HAProxy). TLVs are kept when they are whole.
		h.Local = true
		if len(body) >= alen && validTLVs(body[alen:]) {
			h.TLVs = body[alen:]
		}
		return h, n, nil
	}
	if len(body) < alen {
		return h, 0, ErrInvalid
	}
	if fam == 0x11 {
		h.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[0:4])), binary.BigEndian.Uint16(body[8:10]))
		h.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[4:8])), binary.BigEndian.Uint16(body[10:12]))
	} else {
		h.Src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[0:16])), binary.BigEndian.Uint16(body[32:34]))
		h.Dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[16:32])), binary.BigEndian.Uint16(body[34:36]))
	}
	h.TLVs = body[alen:]
	if !validTLVs(h.TLVs) {
		return Header{}, 0, ErrInvalid
	}
	return h, n, nil
}

// validTLVs reports whether b is a sequence of whole type-length-value records.
func validTLVs(b []byte) bool {
	for len(b) > 0 {
		if len(b) < 3 {
			return false
		}
		l := 3 + int(binary.BigEndian.Uint16(b[1:3]))
		if l > len(b) {
			return false
		}
		b = b[l:]
	}
	return true
}

// AppendV1 appends a v1 header for a connection from src to dst (HAProxy's
// send-proxy): "PROXY TCP4 …" or "PROXY TCP6 …", or "PROXY UNKNOWN" when the two are
// not both valid and of one family.
func AppendV1(b []byte, src, dst netip.AddrPort) []byte {
	s, d, fam := family(src, dst)
	if fam == 0 {
		return append(b, "PROXY UNKNOWN\r\n"...)
	}
	if fam == 4 {
		b = append(b, "PROXY TCP4 "...)
	} else {
		b = append(b, "PROXY TCP6 "...)
	}
	b = s.AppendTo(b)
	b = append(b, ' ')
	b = d.AppendTo(b)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(src.Port()), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(dst.Port()), 10)
	return append(b, "\r\n"...)
}

// family returns the addresses to write and their family: 4 when both are IPv4 (or
// IPv4-mapped), 6 when both are IPv6, 0 when they cannot share a header.
func family(src, dst netip.AddrPort) (s, d netip.Addr, fam int) {
	s, d = src.Addr(), dst.Addr()
	switch {
	case !src.IsValid() || !dst.IsValid():
		return s, d, 0
	case s.Unmap().Is4() && d.Unmap().Is4():
		return s.Unmap(), d.Unmap(), 4
	case s.Is6() && d.Is6():
		return s, d, 6
	}
	return s, d, 0
}

// AppendV2 appends a v2 PROXY header for a connection from src to dst with the given
// TLV records (HAProxy's send-proxy-v2), or a LOCAL header when the addresses are not
// both valid and of one family.
func AppendV2(b []byte, src, dst netip.AddrPort, tlvs []byte) []byte {
	b = append(b, sigV2...)
	s, d, fam := family(src, dst)
	if fam == 0 {
		b = append(b, 0x20, 0x00)
		b = binary.BigEndian.AppendUint16(b, uint16(len(tlvs)))
		return append(b, tlvs...)
	}
	if fam == 4 {
		b = append(b, 0x21, 0x11)
		b = binary.BigEndian.AppendUint16(b, uint16(12+len(tlvs)))
		a4, d4 := s.As4(), d.As4()
		b = append(append(b, a4[:]...), d4[:]...)
	} else {
		b = append(b, 0x21, 0x21)
		b = binary.BigEndian.AppendUint16(b, uint16(36+len(tlvs)))
		a16, d16 := s.As16(), d.As16()
		b = append(append(b, a16[:]...), d16[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, src.Port())
	b = binary.BigEndian.AppendUint16(b, dst.Port())
	return append(b, tlvs...)
}

// TLV types (§2.2.7).
const (
	TypeSSL        = 0x20
	SubtypeVersion = 0x21
)

// SSL client flags of a TypeSSL record.
const (
	ClientSSL      = 0x01
	ClientCertConn = 0x02
	ClientCertSess = 0x04
)

// AppendSSLTLV appends the TypeSSL record HAProxy's send-proxy-v2-ssl sends: client
// flags, the verify result, and the TLS version (a sub-record) when the client's
// connection is TLS (version not "").
func AppendSSLTLV(b []byte, client byte, verify uint32, version string) []byte {
	l := 5
	if version != "" {
		l += 3 + len(version)
	}
	b = append(b, TypeSSL)
	b = binary.BigEndian.AppendUint16(b, uint16(l))
	b = append(b, client)
	b = binary.BigEndian.AppendUint32(b, verify)
	if version != "" {
		b = append(b, SubtypeVersion)
		b = binary.BigEndian.AppendUint16(b, uint16(len(version)))
		b = append(b, version...)
	}
	return b
}

// Client is what a server's PROXY header says of the client connection.
type Client struct {
	Src, Dst netip.AddrPort // the client's address and the one it connected to
	// For send-proxy-v2-ssl: the TLS version of the client's connection ("" when
	// plain), whether it sent a certificate, and whether on this very connection (not
	// carried by a resumed session).
	TLSVersion         string
	CertSess, CertConn bool
}

// AppendServer appends the header a server line asks for: version 1 (send-proxy) or 2
// (send-proxy-v2), with the SSL record when ssl is set (send-proxy-v2-ssl).
func AppendServer(b []byte, version int, ssl bool, c Client) []byte {
	if version == 1 {
		return AppendV1(b, c.Src, c.Dst)
	}
	var tlv []byte
	if ssl {
		var flags byte
		if c.TLSVersion != "" {
			flags |= ClientSSL
			if c.CertSess {
				flags |= ClientCertSess
			}
			if c.CertConn {
				flags |= ClientCertConn
			}
		}
		tlv = AppendSSLTLV(make([]byte, 0, 16), flags, 0, c.TLSVersion)
	}
	return AppendV2(b, c.Src, c.Dst, tlv)
}
