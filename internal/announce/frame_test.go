package announce

import (
	"encoding/hex"
	"net"
	"net/netip"
	"testing"
)

var mac = net.HardwareAddr{0x02, 0x00, 0x5e, 0x00, 0x01, 0x33}

func TestGratuitousARPLayout(t *testing.T) {
	got := hex.EncodeToString(GratuitousARP(mac, netip.MustParseAddr("198.18.0.100")))
	want := "ffffffffffff" + "02005e000133" + "0806" + // Ethernet: broadcast, from us, ARP
		"0001" + "0800" + "06" + "04" + "0001" + // Ethernet/IPv4, request
		"02005e000133" + "c6120064" + // sender: our MAC, the VIP
		"ffffffffffff" + "c6120064" + // target: broadcast MAC, the VIP
		"000000000000000000000000000000000000" // padding to 60 bytes
	if got != want {
		t.Errorf("frame\n%s\nwant\n%s", got, want)
	}
}

func TestUnsolicitedNALayout(t *testing.T) {
	ip := netip.MustParseAddr("fe80::100")
	f := UnsolicitedNA(mac, ip)
	if len(f) != 14+40+32 {
		t.Fatalf("length %d", len(f))
	}
	got := hex.EncodeToString(f[:14+40+8])
	want := "333300000001" + "02005e000133" + "86dd" +
		"60000000" + "0020" + "3a" + "ff" + // payload 32, ICMPv6, hop limit 255
		"fe800000000000000000000000000100" + "ff020000000000000000000000000001" +
		"8800" + hex.EncodeToString(f[56:58]) + "20000000" // NA, code 0, checksum, Override
	if got != want {
		t.Errorf("frame\n%s\nwant\n%s", got, want)
	}
	if hex.EncodeToString(f[62:]) != "fe800000000000000000000000000100"+"0201"+"02005e000133" {
		t.Errorf("target and option: %x", f[62:])
	}
	// The checksum over pseudo-header and message, checksum included, is 0xffff.
	if icmpv6Checksum(ip, allNodes, f[54:]) != 0 {
		t.Errorf("checksum does not verify")
	}
}
