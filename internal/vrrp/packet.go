// Package vrrp holds VRRP's wire format (versions 2 and 3, RFC 3768 and RFC 5798)
// and its state machine. Both are pure: no sockets, no clock, no goroutines. The
// state machine takes events with the current time and returns actions for the
// caller (package ha) to carry out.
package vrrp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Protocol constants shared by both versions.
const (
	IPProto       = 112 // IP protocol number of VRRP
	TypeAdvert    = 1   // the only VRRP message type
	TTL           = 255 // TTL / hop limit every advert is sent with
	AuthNone      = 0
	AuthPass      = 1 // v2 simple text password (RFC 2338), kept by keepalived
	AuthAH        = 2 // v2 IPsec AH; not supported
	headerLen     = 8
	v2AuthDataLen = 8
)

// Multicast groups adverts go to unless unicast peers are configured.
var (
	GroupV4 = netip.MustParseAddr("224.0.0.18")
	GroupV6 = netip.MustParseAddr("ff02::12")
)

// Errors returned by UnmarshalBinary; a receiver counts drops by these.
var (
	ErrShort    = errors.New("vrrp: packet too short")
	ErrVersion  = errors.New("vrrp: unsupported version")
	ErrType     = errors.New("vrrp: not an advertisement")
	ErrLength   = errors.New("vrrp: length does not match the address count")
	ErrInterval = errors.New("vrrp: advert interval out of range")
)

// Advert is one VRRP advertisement.
//
// Src and Dst are not part of the VRRP message: they are the IP addresses it
// travels between, which the version 3 checksum covers through a pseudo-header.
// MarshalBinary uses them for version 3; UnmarshalBinary leaves them unchanged,
// so a receiver sets them from the IP header and then calls ChecksumOK.
type Advert struct {
	Version  uint8 // 2 or 3
	VRID     uint8
	Priority uint8
	// Interval is whole seconds (1..255) in version 2, centiseconds (1..4095) in version 3.
	Interval time.Duration
	AuthType uint8   // version 2 only
	AuthData [8]byte // version 2 only: the password, zero padded
	IPv6     bool    // address family; version 3 only
	Addrs    []netip.Addr
	Checksum uint16 // as received, or as computed by MarshalBinary

	Src, Dst netip.Addr // pseudo-header for the version 3 checksum
}

// Len is the length of the encoded VRRP message.
func (a *Advert) Len() int {
	n := len(a.Addrs)
	switch {
	case a.Version == 2:
		return headerLen + 4*n + v2AuthDataLen
	case a.IPv6:
		return headerLen + 16*n
	default:
		return headerLen + 4*n
	}
}

// MarshalBinary encodes the advert with its checksum.
func (a *Advert) MarshalBinary() ([]byte, error) {
	return a.AppendBinary(nil)
}

// AppendBinary appends the encoded advert to b.
func (a *Advert) AppendBinary(b []byte) ([]byte, error) {
	if a.Version != 2 && a.Version != 3 {
		return nil, fmt.Errorf("%w: %d", ErrVersion, a.Version)
	}
	if a.Version == 2 && a.IPv6 {
		return nil, fmt.Errorf("%w: version 2 is IPv4 only", ErrVersion)
	}
	if len(a.Addrs) > 255 {
		return nil, fmt.Errorf("vrrp: %d addresses, at most 255", len(a.Addrs))
	}
	iv, err := a.wireInterval()
	if err != nil {
		return nil, err
	}
	start := len(b)
	b = append(b, a.Version<<4|TypeAdvert, a.VRID, a.Priority, uint8(len(a.Addrs)))
	if a.Version == 2 {
		b = append(b, a.AuthType, uint8(iv))
	} else {
		b = binary.BigEndian.AppendUint16(b, iv&0x0fff)
	}
	b = append(b, 0, 0) // checksum
	for _, ad := range a.Addrs {
		// An IPv6 advert carries 16-byte addresses, IPv4-mapped ones included (they
		// decode as such: the round trip must hold); an IPv4 advert carries 4-byte ones.
		if ad.Is6() != a.IPv6 {
			return nil, fmt.Errorf("vrrp: address %s is not of the advert's family", ad)
		}
		b = append(b, ad.AsSlice()...)
	}
	if a.Version == 2 {
		b = append(b, a.AuthData[:]...)
	}
	msg := b[start:]
	sum, err := checksum(msg, a.Version, a.Src, a.Dst)
	if err != nil {
		return nil, err
	}
	binary.BigEndian.PutUint16(msg[6:], sum)
	a.Checksum = sum
	return b, nil
}

func (a *Advert) wireInterval() (uint16, error) {
	if a.Version == 2 {
		s := a.Interval / time.Second
		if a.Interval%time.Second != 0 || s < 1 || s > 255 {
			return 0, fmt.Errorf("%w: %v in version 2 (1s..255s, whole seconds)", ErrInterval, a.Interval)
		}
		return uint16(s), nil
	}
	cs := a.Interval / (10 * time.Millisecond)
	if a.Interval%(10*time.Millisecond) != 0 || cs < 1 || cs > 4095 {
		return 0, fmt.Errorf("%w: %v in version 3 (10ms..40.95s, whole centiseconds)", ErrInterval, a.Interval)
	}
	return uint16(cs), nil
}

// UnmarshalBinary decodes a VRRP message (without IP header). It checks the
// version, type and length; the checksum is left to ChecksumOK because version 3
// needs the IP addresses. In version 3 the address family follows from the
// length; with no addresses it keeps a.IPv6 as the caller set it.
func (a *Advert) UnmarshalBinary(b []byte) error {
	if len(b) < headerLen {
		return ErrShort
	}
	ver, typ := b[0]>>4, b[0]&0x0f
	if ver != 2 && ver != 3 {
		return fmt.Errorf("%w: %d", ErrVersion, ver)
	}
	if typ != TypeAdvert {
		return fmt.Errorf("%w: type %d", ErrType, typ)
	}
	n := int(b[3])
	out := Advert{Version: ver, VRID: b[1], Priority: b[2], Src: a.Src, Dst: a.Dst, IPv6: a.IPv6}
	out.Checksum = binary.BigEndian.Uint16(b[6:])
	alen := 4
	switch ver {
	case 2:
		if len(b) != headerLen+4*n+v2AuthDataLen {
			return fmt.Errorf("%w: %d bytes for %d addresses (version 2)", ErrLength, len(b), n)
		}
		out.IPv6 = false
		out.AuthType = b[4]
		out.Interval = time.Duration(b[5]) * time.Second
		copy(out.AuthData[:], b[headerLen+4*n:])
	case 3:
		switch {
		case n > 0 && len(b) == headerLen+4*n:
			out.IPv6 = false
		case n > 0 && len(b) == headerLen+16*n:
			out.IPv6 = true
		case n == 0 && len(b) == headerLen:
		default:
			return fmt.Errorf("%w: %d bytes for %d addresses (version 3)", ErrLength, len(b), n)
		}
		out.Interval = time.Duration(binary.BigEndian.Uint16(b[4:])&0x0fff) * 10 * time.Millisecond
	}
	if out.IPv6 {
		alen = 16
	}
	if n > 0 {
		out.Addrs = make([]netip.Addr, n)
	}
	for i := range n {
		raw := b[headerLen+alen*i : headerLen+alen*(i+1)]
		if alen == 4 {
			out.Addrs[i] = netip.AddrFrom4([4]byte(raw))
		} else {
			out.Addrs[i] = netip.AddrFrom16([16]byte(raw))
		}
	}
	*a = out
	return nil
}

// ChecksumOK reports whether the VRRP message b carries a valid checksum for
// version ver sent from src to dst (the pseudo-header, used by version 3).
func ChecksumOK(b []byte, ver uint8, src, dst netip.Addr) bool {
	if len(b) < headerLen {
		return false
	}
	sum, err := checksum(b, ver, src, dst)
	if err != nil {
		return false
	}
	// Summing over a message with its checksum in place gives zero, so recompute
	// with the field cleared and compare.
	return sum == binary.BigEndian.Uint16(b[6:])
}

// checksum is the Internet checksum of msg with its checksum field taken as
// zero. Version 2 covers the VRRP message only (RFC 3768 §5.3.8). Version 3
// prepends the IPv4 or IPv6 pseudo-header (RFC 5798 §5.2.8).
func checksum(msg []byte, ver uint8, src, dst netip.Addr) (uint16, error) {
	var s uint32
	if ver == 3 {
		if !src.IsValid() || !dst.IsValid() || src.Is6() != dst.Is6() {
			return 0, fmt.Errorf("vrrp: version 3 checksum needs source and destination of one family, got %v and %v", src, dst)
		}
		s = sum16(s, src.AsSlice())
		s = sum16(s, dst.AsSlice())
		if src.Is4() {
			s += IPProto + uint32(len(msg)) // zero byte, protocol, 16-bit length
		} else {
			s += uint32(len(msg)>>16) + uint32(len(msg)&0xffff) + IPProto // 32-bit length, 3 zero bytes, next header
		}
	}
	s = sum16(s, msg[:6])
	s = sum16(s, msg[8:])
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s), nil
}

func sum16(s uint32, b []byte) uint32 {
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}
