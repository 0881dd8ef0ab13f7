package announce

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tandem/internal/netnstest"
)

// TestAnnounceOnTheWire sends a GARP and an unsolicited NA from one namespace
// and checks the peer receives the exact ARP frame and that its kernel accepts
// the NA (ICMPv6 checksum valid: only then does a raw ICMPv6 socket see it).
func TestAnnounceOnTheWire(t *testing.T) {
	netnstest.RequireRoot(t)
	a, b := netnstest.VethPair(t, "announce")
	var s *Sender
	var ifiA *net.Interface
	netnstest.InNetns(t, a, func() {
		var err error
		if ifiA, err = net.InterfaceByName("veth0"); err != nil {
			t.Fatal(err)
		}
		if s, err = Open(ifiA); err != nil {
			t.Fatal(err)
		}
	})
	defer s.Close()
	var arpFD int
	var icmp net.PacketConn
	netnstest.InNetns(t, b, func() {
		var err error
		arpFD, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(etherTypeARP)))
		if err != nil {
			t.Fatal(err)
		}
		if icmp, err = net.ListenPacket("ip6:ipv6-icmp", "::"); err != nil {
			t.Fatal(err)
		}
	})
	defer unix.Close(arpFD)
	defer icmp.Close()
	tv := unix.Timeval{Usec: 100000}
	if err := unix.SetsockoptTimeval(arpFD, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	v4, v6 := netip.MustParseAddr("198.18.0.100"), netip.MustParseAddr("fe80::100")
	want := GratuitousARP(ifiA.HardwareAddr, v4)
	gotARP, gotNA := false, false
	buf := make([]byte, 1500)
	for i := 0; i < 20 && !(gotARP && gotNA); i++ { // at most ~4s
		if err := s.Announce([]netip.Addr{v4, v6}); err != nil {
			t.Fatal(err)
		}
		for !gotARP {
			n, _, err := unix.Recvfrom(arpFD, buf, 0)
			if err != nil {
				break
			}
			if bytes.Equal(buf[:n], want) {
				gotARP = true
			}
		}
		_ = icmp.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		for !gotNA {
			n, from, err := icmp.ReadFrom(buf)
			if err != nil {
				break
			}
			if n == 32 && buf[0] == 136 && bytes.Equal(buf[8:24], v6.AsSlice()) && from.(*net.IPAddr).IP.Equal(v6.AsSlice()) {
				gotNA = true
			}
		}
	}
	if !gotARP {
		t.Errorf("peer did not receive the gratuitous ARP")
	}
	if !gotNA {
		t.Errorf("peer kernel did not accept the unsolicited NA")
	}
}
