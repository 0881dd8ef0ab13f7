package proxyproto

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// TestParse follows proxy-protocol.txt §2.1 (v1) and §2.2 (v2).
func TestParse(t *testing.T) {
	v2 := func(verCmd, fam byte, body ...byte) string {
		return string(append(append(append([]byte{}, sigV2...), verCmd, fam, byte(len(body)>>8), byte(len(body))), body...))
	}
	for _, tc := range []struct {
		name, in string
		err      error
		n        int
		local    bool
		src, dst string
	}{
		{"v1 tcp4", "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET", nil, 45, false, "192.0.2.1:56324", "198.51.100.2:443"},
		{"v1 tcp6", "PROXY TCP6 2001:db8::1 ::1 1 65535\r\n", nil, 36, false, "[2001:db8::1]:1", "[::1]:65535"},
		{"v1 unknown", "PROXY UNKNOWN\r\n", nil, 15, true, "", ""},
		{"v1 unknown with addresses", "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n", nil, 59, true, "", ""},
		{"v1 partial", "PROXY TCP4 192.0.2.1 ", ErrShort, 0, false, "", ""},
		{"v1 partial signature", "PRO", ErrShort, 0, false, "", ""},
		{"v1 v4 in TCP6", "PROXY TCP6 192.0.2.1 192.0.2.2 1 2\r\n", ErrInvalid, 0, false, "", ""},
		{"v1 port too big", "PROXY TCP4 192.0.2.1 192.0.2.2 65536 2\r\n", ErrInvalid, 0, false, "", ""},
		{"v1 leading zero", "PROXY TCP4 192.0.2.1 192.0.2.2 01 2\r\n", ErrInvalid, 0, false, "", ""},
		{"v1 two spaces", "PROXY TCP4  192.0.2.1 192.0.2.2 1 2\r\n", ErrInvalid, 0, false, "", ""},
		{"v1 udp", "PROXY UDP4 192.0.2.1 192.0.2.2 1 2\r\n", ErrInvalid, 0, false, "", ""},
		{"v1 bare LF", "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\n", ErrInvalid, 0, false, "", ""},
		{"v1 too long", "PROXY TCP6 " + string(bytes.Repeat([]byte("a"), 120)), ErrInvalid, 0, false, "", ""},
		{"not proxy", "GET / HTTP/1.1\r\n\r\n", ErrNotProxy, 0, false, "", ""},
		{"empty", "", ErrShort, 0, false, "", ""},
		{"tls", "\x16\x03\x01", ErrNotProxy, 0, false, "", ""},
		{"v2 tcp4", v2(0x21, 0x11, 192, 0, 2, 1, 127, 0, 0, 1, 0x1f, 0x90, 0, 80), nil, 28, false, "192.0.2.1:8080", "127.0.0.1:80"},
		{"v2 tcp4 with a TLV", v2(0x21, 0x11, 192, 0, 2, 1, 127, 0, 0, 1, 0x1f, 0x90, 0, 80, 0x04, 0, 0), nil, 31, false, "192.0.2.1:8080", "127.0.0.1:80"},
		{"v2 truncated TLV", v2(0x21, 0x11, 192, 0, 2, 1, 127, 0, 0, 1, 0x1f, 0x90, 0, 80, 0x04, 0, 5), ErrInvalid, 0, false, "", ""},
		{"v2 local", v2(0x20, 0x00), nil, 16, true, "", ""},
		{"v2 unix", v2(0x21, 0x31, make([]byte, 216)...), nil, 232, true, "", ""},
		{"v2 short address block", v2(0x21, 0x11, 1, 2, 3), ErrInvalid, 0, false, "", ""},
		{"v2 version 3", v2(0x31, 0x11, make([]byte, 12)...), ErrInvalid, 0, false, "", ""},
		{"v2 command 2", v2(0x22, 0x11, make([]byte, 12)...), ErrInvalid, 0, false, "", ""},
		{"v2 partial body", v2(0x21, 0x11, make([]byte, 12)...)[:20], ErrShort, 0, false, "", ""},
		{"v2 partial signature", "\r\n\r\n\x00", ErrShort, 0, false, "", ""},
	} {
		h, n, err := Parse([]byte(tc.in))
		if !errors.Is(err, tc.err) || (err == nil && (n != tc.n || h.Local != tc.local)) {
			t.Errorf("%s: n %d local %v err %v, want n %d local %v err %v", tc.name, n, h.Local, err, tc.n, tc.local, tc.err)
			continue
		}
		if err == nil && !tc.local && (h.Src != ap(tc.src) || h.Dst != ap(tc.dst)) {
			t.Errorf("%s: %s → %s, want %s → %s", tc.name, h.Src, h.Dst, tc.src, tc.dst)
		}
	}
}

func TestAppend(t *testing.T) {
	for _, tc := range []struct {
		src, dst, v1 string
	}{
		{"192.0.2.1:5000", "127.0.0.1:80", "PROXY TCP4 192.0.2.1 127.0.0.1 5000 80\r\n"},
		{"[::ffff:192.0.2.1]:5000", "127.0.0.1:80", "PROXY TCP4 192.0.2.1 127.0.0.1 5000 80\r\n"},
		{"[2001:db8::1]:5000", "[::1]:80", "PROXY TCP6 2001:db8::1 ::1 5000 80\r\n"},
		{"[2001:db8::1]:5000", "127.0.0.1:80", "PROXY UNKNOWN\r\n"},
	} {
		if got := string(AppendV1(nil, ap(tc.src), ap(tc.dst))); got != tc.v1 {
			t.Errorf("v1 %s %s: %q, want %q", tc.src, tc.dst, got, tc.v1)
		}
		tlv := AppendSSLTLV(nil, ClientSSL, 0, "TLSv1.3")
		b := AppendV2(nil, ap(tc.src), ap(tc.dst), tlv)
		h, n, err := Parse(b)
		if err != nil || n != len(b) {
			t.Fatalf("v2 %s %s: %v %d/%d", tc.src, tc.dst, err, n, len(b))
		}
		if tc.v1 == "PROXY UNKNOWN\r\n" {
			if !h.Local {
				t.Errorf("v2 mixed families: want LOCAL")
			}
			continue
		}
		if h.Src.Addr() != ap(tc.src).Addr().Unmap() || h.Dst != ap(tc.dst) || !bytes.Equal(h.TLVs, tlv) {
			t.Errorf("v2 round trip %s %s: %+v", tc.src, tc.dst, h)
		}
	}
}

// FuzzParse: never a panic; a header parsed is within the input, and what a header
// says comes back the same once written again.
func FuzzParse(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add(AppendV2(nil, ap("[2001:db8::1]:1"), ap("[::1]:2"), AppendSSLTLV(nil, 1, 0, "TLSv1.2")))
	f.Add(AppendV2(nil, ap("192.0.2.1:1"), ap("127.0.0.1:2"), nil))
	f.Add([]byte("PROXY TCP6 ::ffff:1.2.3.4 ::ffff:1.2.3.5 1 2\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := Parse(b)
		if err != nil {
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("length %d of %d", n, len(b))
		}
		if h.Local {
			return
		}
		var again []byte
		if h.Version == 1 {
			again = AppendV1(nil, h.Src, h.Dst)
		} else {
			again = AppendV2(nil, h.Src, h.Dst, h.TLVs)
		}
		h2, _, err := Parse(again)
		same := func(a, b netip.AddrPort) bool { return a.Addr().Unmap() == b.Addr().Unmap() && a.Port() == b.Port() }
		if err != nil || !same(h2.Src, h.Src) || !same(h2.Dst, h.Dst) {
			t.Fatalf("%q → %+v → %q → %+v %v", b[:n], h, again, h2, err)
		}
	})
}
