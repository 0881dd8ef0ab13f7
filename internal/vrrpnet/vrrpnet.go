// Package vrrpnet sends and receives VRRP messages (IP protocol 112) on one
// interface: multicast to 224.0.0.18 / ff02::12 or unicast to peers, always with
// TTL / hop limit 255 and TOS / traffic class 0xc0, from a pinned source address
// (the version 3 checksum covers it).
//
// A Conn wraps an IPv4 raw connection (ipv4.RawConn, header included) or an IPv6
// packet connection; Listen opens the real sockets (root: CAP_NET_RAW), and
// NewIPv4 / NewIPv6 accept connections the caller made.
package vrrpnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// Packet is one received VRRP message with what the IP header said.
type Packet struct {
	Src, Dst netip.Addr
	TTL      int // TTL or hop limit
	IfIndex  int
	Data     []byte // the VRRP message, IP header removed
}

// ErrNotPermitted is returned when raw sockets need privileges this process lacks.
var ErrNotPermitted = errors.New("vrrpnet: raw IP sockets need root or CAP_NET_RAW (and CAP_NET_ADMIN for the VIPs)")

// PrimaryAddr returns the address VRRP sends from on ifi: the first IPv4 address,
// or for IPv6 the first link-local address (RFC 5798 §5.1.2.1).
func PrimaryAddr(ifi *net.Interface, v6 bool) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("addresses of %s: %w", ifi.Name, err)
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if !v6 && ip.Is4() {
			return ip, nil
		}
		if v6 && ip.Is6() && ip.IsLinkLocalUnicast() {
			return ip.WithZone(""), nil
		}
	}
	fam := "IPv4"
	if v6 {
		fam = "IPv6 link-local"
	}
	return netip.Addr{}, fmt.Errorf("interface %s has no %s address", ifi.Name, fam)
}
