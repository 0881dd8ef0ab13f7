package vrrpnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Conn sends and receives VRRP messages on one interface for one address family.
type Conn struct {
	ifi   *net.Interface
	src   netip.Addr
	group netip.Addr
	v4    *ipv4.RawConn
	v6    *ipv6.PacketConn
	c     net.PacketConn
}

const tos = 0xc0

// Listen opens a raw VRRP socket on ifi for the family of src, sending from src
// (the interface's primary address when src is invalid). It joins the VRRP
// multicast group so multicast adverts arrive; unicast ones arrive anyway.
func Listen(ifi *net.Interface, src netip.Addr, v6 bool) (*Conn, error) {
	if !src.IsValid() {
		var err error
		if src, err = PrimaryAddr(ifi, v6); err != nil {
			return nil, err
		}
	}
	network, laddr := "ip4:112", "0.0.0.0"
	if v6 {
		network, laddr = "ip6:112", "::"
	}
	c, err := net.ListenPacket(network, laddr)
	if err != nil {
		if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			return nil, fmt.Errorf("%w: %v", ErrNotPermitted, err)
		}
		return nil, fmt.Errorf("vrrp socket on %s: %w", ifi.Name, err)
	}
	var conn *Conn
	if v6 {
		conn, err = NewIPv6(c, ifi, src)
	} else {
		conn, err = NewIPv4(c, ifi, src)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return conn, nil
}

// NewIPv4 wraps an IPv4 raw connection for protocol 112 made by the caller.
func NewIPv4(c net.PacketConn, ifi *net.Interface, src netip.Addr) (*Conn, error) {
	r, err := ipv4.NewRawConn(c)
	if err != nil {
		return nil, fmt.Errorf("vrrp raw socket on %s: %w", ifi.Name, err)
	}
	group := netip.MustParseAddr("224.0.0.18")
	steps := []struct {
		what string
		err  func() error
	}{
		{"join 224.0.0.18", func() error { return r.JoinGroup(ifi, &net.IPAddr{IP: group.AsSlice()}) }},
		{"multicast interface", func() error { return r.SetMulticastInterface(ifi) }},
		{"multicast loopback", func() error { return r.SetMulticastLoopback(false) }},
		{"control messages", func() error { return r.SetControlMessage(ipv4.FlagInterface|ipv4.FlagDst, true) }},
	}
	for _, s := range steps {
		if err := s.err(); err != nil {
			return nil, fmt.Errorf("vrrp socket on %s: %s: %w", ifi.Name, s.what, err)
		}
	}
	return &Conn{ifi: ifi, src: src, group: group, v4: r, c: c}, nil
}

// NewIPv6 wraps an IPv6 raw connection for protocol 112 made by the caller. The
// kernel computes and checks the checksum at offset 6, as keepalived has it.
func NewIPv6(c net.PacketConn, ifi *net.Interface, src netip.Addr) (*Conn, error) {
	p := ipv6.NewPacketConn(c)
	group := netip.MustParseAddr("ff02::12")
	steps := []struct {
		what string
		err  func() error
	}{
		{"join ff02::12", func() error { return p.JoinGroup(ifi, &net.IPAddr{IP: group.AsSlice()}) }},
		{"multicast interface", func() error { return p.SetMulticastInterface(ifi) }},
		{"multicast loopback", func() error { return p.SetMulticastLoopback(false) }},
		{"multicast hop limit", func() error { return p.SetMulticastHopLimit(255) }},
		{"hop limit", func() error { return p.SetHopLimit(255) }},
		{"traffic class", func() error { return p.SetTrafficClass(tos) }},
		{"checksum", func() error { return p.SetChecksum(true, 6) }},
		{"control messages", func() error {
			return p.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface|ipv6.FlagSrc, true)
		}},
	}
	for _, s := range steps {
		if err := s.err(); err != nil {
			return nil, fmt.Errorf("vrrp socket on %s: %s: %w", ifi.Name, s.what, err)
		}
	}
	return &Conn{ifi: ifi, src: src, group: group, v6: p, c: c}, nil
}

// Src is the address adverts are sent from.
func (c *Conn) Src() netip.Addr { return c.src }

// Group is the multicast group of the family.
func (c *Conn) Group() netip.Addr { return c.group }

// Interface is the interface the connection sends on.
func (c *Conn) Interface() *net.Interface { return c.ifi }

// Read waits for the next VRRP message that arrived on the connection's
// interface, until deadline (zero: no deadline). buf must be at least 1500 bytes.
func (c *Conn) Read(buf []byte, deadline time.Time) (Packet, error) {
	if err := c.c.SetReadDeadline(deadline); err != nil {
		return Packet{}, err
	}
	for {
		if c.v4 != nil {
			h, p, cm, err := c.v4.ReadFrom(buf)
			if err != nil {
				return Packet{}, err
			}
			if cm != nil && cm.IfIndex != 0 && cm.IfIndex != c.ifi.Index {
				continue
			}
			src, _ := netip.AddrFromSlice(h.Src.To4())
			dst, _ := netip.AddrFromSlice(h.Dst.To4())
			if h.Protocol != 112 || len(p) > len(buf) {
				continue
			}
			return Packet{Src: src, Dst: dst, TTL: h.TTL, IfIndex: c.ifi.Index, Data: p}, nil
		}
		n, cm, peer, err := c.v6.ReadFrom(buf)
		if err != nil {
			return Packet{}, err
		}
		if cm == nil || (cm.IfIndex != 0 && cm.IfIndex != c.ifi.Index) {
			continue
		}
		var src netip.Addr
		if ipa, ok := peer.(*net.IPAddr); ok {
			src, _ = netip.AddrFromSlice(ipa.IP)
		}
		dst, _ := netip.AddrFromSlice(cm.Dst)
		return Packet{Src: src, Dst: dst, TTL: cm.HopLimit, IfIndex: c.ifi.Index, Data: buf[:n]}, nil
	}
}

// Write sends one VRRP message to dst (the group or a unicast peer) from Src.
func (c *Conn) Write(msg []byte, dst netip.Addr) error {
	if c.v4 != nil {
		h := &ipv4.Header{
			Version: ipv4.Version, Len: ipv4.HeaderLen, TOS: tos, TotalLen: ipv4.HeaderLen + len(msg),
			TTL: 255, Protocol: 112, Src: c.src.AsSlice(), Dst: dst.AsSlice(),
		}
		cm := &ipv4.ControlMessage{IfIndex: c.ifi.Index}
		if err := c.v4.WriteTo(h, msg, cm); err != nil {
			return fmt.Errorf("send vrrp to %s on %s: %w", dst, c.ifi.Name, err)
		}
		return nil
	}
	cm := &ipv6.ControlMessage{Src: c.src.AsSlice(), IfIndex: c.ifi.Index, HopLimit: 255, TrafficClass: tos}
	to := &net.IPAddr{IP: dst.AsSlice()}
	if dst.IsLinkLocalUnicast() || dst.IsLinkLocalMulticast() {
		to.Zone = c.ifi.Name
	}
	if _, err := c.v6.WriteTo(msg, cm, to); err != nil {
		return fmt.Errorf("send vrrp to %s on %s: %w", dst, c.ifi.Name, err)
	}
	return nil
}

// Close closes the socket.
func (c *Conn) Close() error { return c.c.Close() }
