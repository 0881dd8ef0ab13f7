package vrrp

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// golden is one packet keepalived sent, IP header split off.
type golden struct {
	line     int
	src, dst netip.Addr
	ttl      uint8
	tos      uint8
	msg      []byte
}

func loadGolden(t testing.TB) []golden {
	t.Helper()
	f, err := os.Open("testdata/golden.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []golden
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ip, err := hex.DecodeString(line)
		if err != nil {
			t.Fatalf("golden.txt:%d: %v", n, err)
		}
		g := golden{line: n}
		switch ip[0] >> 4 {
		case 4:
			ihl := int(ip[0]&0x0f) * 4
			g.tos, g.ttl = ip[1], ip[8]
			g.src, g.dst = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
			g.msg = ip[ihl:]
		case 6:
			g.tos = ip[0]<<4 | ip[1]>>4
			g.ttl = ip[7]
			g.src, g.dst = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
			g.msg = ip[40:]
		}
		out = append(out, g)
	}
	if len(out) < 10 {
		t.Fatalf("only %d golden packets", len(out))
	}
	return out
}

// TestGoldenKeepalived decodes every advert keepalived 2.2.7 sent, checks its
// checksum the way keepalived computes it, and re-encodes it byte for byte.
func TestGoldenKeepalived(t *testing.T) {
	for _, g := range loadGolden(t) {
		var a Advert
		if err := a.UnmarshalBinary(g.msg); err != nil {
			t.Errorf("line %d: %v", g.line, err)
			continue
		}
		if !ChecksumOK(g.msg, a.Version, g.src, g.dst) {
			t.Errorf("line %d: checksum %#04x rejected", g.line, a.Checksum)
		}
		if g.ttl != TTL || g.tos != 0xc0 {
			t.Errorf("line %d: ttl %d tos %#x, want 255 0xc0", g.line, g.ttl, g.tos)
		}
		a.Src, a.Dst = g.src, g.dst
		b, err := a.MarshalBinary()
		if err != nil {
			t.Errorf("line %d: marshal: %v", g.line, err)
			continue
		}
		if !bytes.Equal(b, g.msg) {
			t.Errorf("line %d: re-encoded\n%x\nwant\n%x", g.line, b, g.msg)
		}
	}
}

func TestGoldenDecodedFields(t *testing.T) {
	gs := loadGolden(t)
	pass := [8]byte{'1', '1', '1', '1'}
	tests := []struct {
		name string
		want Advert
		has  bool
	}{
		{"v2 PASS (the seeds' instance)", Advert{Version: 2, VRID: 51, Priority: 101, Interval: time.Second,
			AuthType: AuthPass, AuthData: pass, Addrs: []netip.Addr{netip.MustParseAddr("198.18.0.100")}}, false},
		{"v2 no auth, two VIPs, advert_int 2", Advert{Version: 2, VRID: 55, Priority: 200, Interval: 2 * time.Second,
			Addrs: []netip.Addr{netip.MustParseAddr("198.18.0.110"), netip.MustParseAddr("198.18.0.111")}}, false},
		{"v3 multicast advert_int 0.5", Advert{Version: 3, VRID: 52, Priority: 150, Interval: 500 * time.Millisecond,
			Addrs: []netip.Addr{netip.MustParseAddr("198.18.0.101"), netip.MustParseAddr("198.18.0.102")}}, false},
		{"v3 unicast", Advert{Version: 3, VRID: 53, Priority: 120, Interval: time.Second,
			Addrs: []netip.Addr{netip.MustParseAddr("198.18.0.103")}}, false},
		{"v3 IPv6", Advert{Version: 3, VRID: 54, Priority: 100, Interval: time.Second, IPv6: true,
			Addrs: []netip.Addr{netip.MustParseAddr("fe80::54"), netip.MustParseAddr("fe80::55")}}, false},
		{"v2 PASS priority 0 at stop", Advert{Version: 2, VRID: 51, Priority: 0, Interval: time.Second,
			AuthType: AuthPass, AuthData: pass, Addrs: []netip.Addr{netip.MustParseAddr("198.18.0.100")}}, false},
		{"v3 IPv6 priority 0 at stop", Advert{Version: 3, VRID: 54, Priority: 0, Interval: time.Second, IPv6: true,
			Addrs: []netip.Addr{netip.MustParseAddr("fe80::54"), netip.MustParseAddr("fe80::55")}}, false},
	}
	for _, g := range gs {
		var a Advert
		if err := a.UnmarshalBinary(g.msg); err != nil {
			t.Fatal(err)
		}
		for i := range tests {
			w := tests[i].want
			a.Checksum = 0
			if reflect.DeepEqual(a, w) {
				tests[i].has = true
				if w.Version == 3 && w.VRID == 53 && g.dst != netip.MustParseAddr("198.18.0.2") {
					t.Errorf("unicast advert sent to %v", g.dst)
				}
				if w.Version == 3 && w.VRID != 53 && g.dst != GroupV4 && g.dst != GroupV6 {
					t.Errorf("multicast advert sent to %v", g.dst)
				}
			}
		}
	}
	for _, tt := range tests {
		if !tt.has {
			t.Errorf("%s: no golden packet decodes to %+v", tt.name, tt.want)
		}
	}
}

func TestChecksumRejectsCorruption(t *testing.T) {
	for _, g := range loadGolden(t) {
		for i := range g.msg {
			bad := bytes.Clone(g.msg)
			bad[i] ^= 0x40
			if ChecksumOK(bad, g.msg[0]>>4, g.src, g.dst) {
				t.Errorf("line %d: flipping byte %d still verifies", g.line, i)
			}
		}
		if g.msg[0]>>4 == 3 {
			other := netip.MustParseAddr("198.18.0.9")
			if g.src.Is6() {
				other = netip.MustParseAddr("fe80::9")
			}
			if ChecksumOK(g.msg, 3, other, g.dst) {
				t.Errorf("line %d: v3 checksum does not cover the source address", g.line)
			}
		}
	}
}

func TestUnmarshalErrors(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want error
	}{
		{"short", "2133650101", ErrShort},
		{"version 1", "1133650101014ff1c61200643131313100000000", ErrVersion},
		{"type 2", "2233650101014ff1c61200643131313100000000", ErrType},
		{"v2 count says 2", "2133650201014ff1c61200643131313100000000", ErrLength},
		{"v2 missing auth", "2133650101014ff1c6120064", ErrLength},
		{"v3 odd length", "3134960200320500c6120065c61200", ErrLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tt.hex)
			var a Advert
			if err := a.UnmarshalBinary(b); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	v4 := []netip.Addr{netip.MustParseAddr("198.18.0.1")}
	tests := []struct {
		name string
		a    Advert
	}{
		{"v2 sub-second", Advert{Version: 2, VRID: 1, Interval: 500 * time.Millisecond, Addrs: v4}},
		{"v3 too long", Advert{Version: 3, VRID: 1, Interval: 41 * time.Second, Addrs: v4,
			Src: v4[0], Dst: GroupV4}},
		{"v3 without pseudo-header", Advert{Version: 3, VRID: 1, Interval: time.Second, Addrs: v4}},
		{"v2 IPv6", Advert{Version: 2, VRID: 1, Interval: time.Second, IPv6: true}},
		{"family mismatch", Advert{Version: 3, VRID: 1, Interval: time.Second, IPv6: true, Addrs: v4,
			Src: netip.MustParseAddr("fe80::1"), Dst: GroupV6}},
		{"version 4", Advert{Version: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := tt.a.MarshalBinary(); err == nil {
				t.Errorf("MarshalBinary = %x, want an error", b)
			}
		})
	}
}

// FuzzAdvertRoundTrip: whatever decodes re-encodes to a message that decodes to
// the same advert and carries a valid checksum.
func FuzzAdvertRoundTrip(f *testing.F) {
	for _, g := range loadGolden(f) {
		f.Add(g.msg, g.src.Is6())
	}
	f.Add([]byte{0x31, 1, 1, 0, 0, 100, 0, 0}, false)
	f.Fuzz(func(t *testing.T, b []byte, v6 bool) {
		src, dst := netip.MustParseAddr("198.18.0.1"), GroupV4
		if v6 {
			src, dst = netip.MustParseAddr("fe80::1"), GroupV6
		}
		a := Advert{IPv6: v6, Src: src, Dst: dst}
		if err := a.UnmarshalBinary(b); err != nil {
			return
		}
		if a.IPv6 != v6 && len(a.Addrs) > 0 {
			return // the length said the other family; the pseudo-header would not match
		}
		if a.Interval == 0 {
			return // not encodable; a receiver drops it too
		}
		out, err := a.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", a, err)
		}
		if !ChecksumOK(out, a.Version, src, dst) {
			t.Fatalf("encoded checksum invalid: %x", out)
		}
		b2 := Advert{IPv6: a.IPv6, Src: src, Dst: dst}
		if err := b2.UnmarshalBinary(out); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(a, b2) {
			t.Fatalf("round trip\n%+v\n%+v", a, b2)
		}
	})
}
