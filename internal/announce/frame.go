// Package announce tells a link that this host now holds addresses: gratuitous
// ARP for IPv4 (an ARP request with sender = target = the address, target MAC
// broadcast, as keepalived sends) and unsolicited neighbour advertisements with
// the override flag for IPv6 (RFC 4861 §7.2.6). Frames are built here and sent
// whole on a packet socket.
package announce

import (
	"encoding/binary"
	"net"
	"net/netip"
)

var broadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// allNodes is ff02::1 and its Ethernet multicast address.
var (
	allNodes    = netip.MustParseAddr("ff02::1")
	allNodesMAC = net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}
)

const (
	etherTypeARP  = 0x0806
	etherTypeIPv6 = 0x86dd
	minFrame      = 60 // Ethernet minimum without FCS
)

// GratuitousARP is the Ethernet frame announcing that ip is at mac.
func GratuitousARP(mac net.HardwareAddr, ip netip.Addr) []byte {
	b := make([]byte, 0, minFrame)
	b = append(b, broadcast...)
	b = append(b, mac...)
	b = binary.BigEndian.AppendUint16(b, etherTypeARP)
	b = binary.BigEndian.AppendUint16(b, 1)      // hardware: Ethernet
	b = binary.BigEndian.AppendUint16(b, 0x0800) // protocol: IPv4
	b = append(b, 6, 4)
	b = binary.BigEndian.AppendUint16(b, 1) // request
	b = append(b, mac...)
	b = append(b, ip.AsSlice()...)
	b = append(b, broadcast...)
	b = append(b, ip.AsSlice()...)
	for len(b) < minFrame {
		b = append(b, 0)
	}
	return b
}

// UnsolicitedNA is the Ethernet frame of an unsolicited neighbour advertisement
// for ip (also its source) to all nodes, with the override flag and mac as the
// target link-layer address.
func UnsolicitedNA(mac net.HardwareAddr, ip netip.Addr) []byte {
	icmp := make([]byte, 0, 32)
	icmp = append(icmp, 136, 0, 0, 0)  // type NA, code, checksum
	icmp = append(icmp, 0x20, 0, 0, 0) // flags: Override
	icmp = append(icmp, ip.AsSlice()...)
	icmp = append(icmp, 2, 1) // option: target link-layer address, 8 bytes
	icmp = append(icmp, mac...)
	binary.BigEndian.PutUint16(icmp[2:], icmpv6Checksum(ip, allNodes, icmp))

	b := make([]byte, 0, 14+40+len(icmp))
	b = append(b, allNodesMAC...)
	b = append(b, mac...)
	b = binary.BigEndian.AppendUint16(b, etherTypeIPv6)
	b = append(b, 0x60, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(icmp)))
	b = append(b, 58, 255) // next header ICMPv6, hop limit 255
	b = append(b, ip.AsSlice()...)
	b = append(b, allNodes.AsSlice()...)
	return append(b, icmp...)
}

func icmpv6Checksum(src, dst netip.Addr, msg []byte) uint16 {
	var s uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			s += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			s += uint32(b[len(b)-1]) << 8
		}
	}
	add(src.AsSlice())
	add(dst.AsSlice())
	s += uint32(len(msg)) + 58
	add(msg)
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
