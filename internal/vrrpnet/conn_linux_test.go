package vrrpnet

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"tandem/internal/netnstest"
	"tandem/internal/vrrp"
)

func listenIn(t *testing.T, ns, ifname string, v6 bool) *Conn {
	t.Helper()
	var c *Conn
	netnstest.InNetns(t, ns, func() {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			t.Fatal(err)
		}
		c, err = Listen(ifi, netip.Addr{}, v6)
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// TestMulticastAndUnicastIPv4 sends adverts between two namespaces and checks
// what the receiver sees: source, destination, TTL 255 and the exact bytes,
// with a valid version 3 checksum over the pseudo-header.
func TestMulticastAndUnicastIPv4(t *testing.T) {
	netnstest.RequireRoot(t)
	a, b := netnstest.VethPair(t, "vrrpnet")
	ca := listenIn(t, a, "veth0", false)
	cb := listenIn(t, b, "veth1", false)
	if ca.Src() != netip.MustParseAddr("198.18.0.1") {
		t.Fatalf("primary address = %v", ca.Src())
	}
	for _, dst := range []netip.Addr{vrrp.GroupV4, cb.Src()} {
		adv := vrrp.Advert{Version: 3, VRID: 51, Priority: 101, Interval: time.Second,
			Addrs: []netip.Addr{netip.MustParseAddr("198.18.0.100")}, Src: ca.Src(), Dst: dst}
		msg, err := adv.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1500)
		var p Packet
		for i := 0; ; i++ { // bounded resend, as in TestMulticastIPv6
			if err := ca.Write(msg, dst); err != nil {
				t.Fatal(err)
			}
			p, err = cb.Read(buf, time.Now().Add(100*time.Millisecond))
			if err == nil && p.Dst == dst { // skip resends of the previous round
				break
			}
			if i == 20 {
				t.Fatalf("read (dst %v): %v", dst, err)
			}
		}
		if p.Src != ca.Src() || p.Dst != dst || p.TTL != 255 || !bytes.Equal(p.Data, msg) {
			t.Errorf("got %+v, want src %v dst %v ttl 255 data %x", p, ca.Src(), dst, msg)
		}
		if !vrrp.ChecksumOK(p.Data, 3, p.Src, p.Dst) {
			t.Errorf("checksum invalid on receipt")
		}
	}
	// Our own multicast adverts do not come back to us.
	if p, err := ca.Read(make([]byte, 1500), time.Now().Add(200*time.Millisecond)); err == nil {
		t.Errorf("sender read its own advert: %+v", p)
	}
}

// TestMulticastIPv6 sends a version 3 advert over IPv6 from the link-local
// address to ff02::12 with hop limit 255; the kernel fills the checksum.
func TestMulticastIPv6(t *testing.T) {
	netnstest.RequireRoot(t)
	a, b := netnstest.VethPair(t, "vrrpnet")
	ca := listenIn(t, a, "veth0", true)
	cb := listenIn(t, b, "veth1", true)
	if !ca.Src().IsLinkLocalUnicast() {
		t.Fatalf("source %v is not link-local", ca.Src())
	}
	adv := vrrp.Advert{Version: 3, VRID: 54, Priority: 100, Interval: time.Second, IPv6: true,
		Addrs: []netip.Addr{netip.MustParseAddr("fe80::54")}, Src: ca.Src(), Dst: vrrp.GroupV6}
	msg, err := adv.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// A link just brought up may drop the first frames: send like a master
	// does, every 100ms, for at most 2s, until one arrives.
	var p Packet
	for i := 0; ; i++ {
		if err := ca.Write(msg, vrrp.GroupV6); err != nil {
			t.Fatal(err)
		}
		p, err = cb.Read(make([]byte, 1500), time.Now().Add(100*time.Millisecond))
		if err == nil {
			break
		}
		if i == 20 {
			t.Fatalf("no advert received in 2s: %v", err)
		}
	}
	if p.Src != ca.Src() || p.Dst != vrrp.GroupV6 || p.TTL != 255 || !bytes.Equal(p.Data, msg) {
		t.Errorf("got %+v, want src %v data %x", p, ca.Src(), msg)
	}
}
