package stick

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
)

// TestParseKey: keys as HAProxy 2.6's runtime API reads them (each case measured with
// `set table` then `show table` on Debian's haproxy).
func TestParseKey(t *testing.T) {
	cases := []struct {
		typ  KeyType
		in   string
		want string // "" : refused with "Invalid key"
	}{
		{KeyIP, "127.0.0.1", "127.0.0.1"},
		{KeyIP, "300.1.1.1", "44.1.1.1"},
		{KeyIP, "1.2.3", "1.2.3.0"},
		{KeyIP, "1", "1.0.0.0"},
		{KeyIP, "abc", "0.0.0.0"},
		{KeyIP, "::1", "0.0.0.0"},
		{KeyIP, "1.2.3.4.5", "1.2.3.4"},
		{KeyIP, "1234.5.6.7", "234.5.6.7"},
		{KeyIPv6, "::1", "::1"},
		{KeyIPv6, "10.0.0.1", ""},
		{KeyIPv6, "::ffff:10.0.0.1", "::ffff:10.0.0.1"},
		{KeyIPv6, "fe80::1%eth0", ""},
		{KeyInteger, "4294967295", "4294967295"},
		{KeyInteger, "4294967296", ""},
		{KeyInteger, "-1", ""},
		{KeyInteger, "-0", "0"},
		{KeyInteger, "abc", ""},
		{KeyInteger, "0x10", "0"},
		{KeyInteger, "007", "7"},
		{KeyInteger, "+3", "3"},
		{KeyInteger, "12a", "12"},
		{KeyString, "abcdefghijkl", "abcdefgh"},
		{KeyString, "a=b", `a\=b`},
		{KeyString, "x y", `x\ y`},
		{KeyString, `t\u`, `t\\u`},
		{KeyString, `q"z`, `q"z`},
		{KeyString, "é", `\xC3\xA9`},
	}
	for _, c := range cases {
		tb := New(Def{Type: c.typ, KeyLen: 8, Size: 10}, t0)
		k, err := tb.ParseKey(c.in)
		if c.want == "" {
			if !errors.Is(err, ErrInvalidKey) {
				t.Errorf("%v %q: want invalid, got %v %q", c.typ, c.in, err, tb.FormatKey(k))
			}
			continue
		}
		if err != nil {
			t.Errorf("%v %q: %v", c.typ, c.in, err)
			continue
		}
		if got := tb.FormatKey(k); got != c.want {
			t.Errorf("%v %q: key=%s, want %s", c.typ, c.in, got, c.want)
		}
	}
	if _, err := New(Def{Type: KeyBinary, Size: 1}, t0).ParseKey("00"); err == nil {
		t.Error("binary keys come from no command")
	}
}

// TestDumpOrder: entries dump in HAProxy's tree order (measured: integer keys 65536,
// 256, 1, 5, 4294967295 — their little-endian bytes; ip keys by address).
func TestDumpOrder(t *testing.T) {
	ti := New(Def{Type: KeyInteger, Size: 10}, t0)
	for _, n := range []int64{1, 5, 256, 65536, 4294967295} {
		k, _ := ti.KeyInt(n)
		ti.Acquire(k, t0)
	}
	if got, want := keysOf(ti, t0), []string{"65536", "256", "1", "5", "4294967295"}; !slices.Equal(got, want) {
		t.Errorf("integer order %v, want %v", got, want)
	}
	tip := New(Def{Type: KeyIP, Size: 10}, t0)
	for _, s := range []string{"127.0.0.1", "1.2.3.4", "0.0.0.0", "44.1.1.1"} {
		k, _ := tip.KeyAddr(netip.MustParseAddr(s))
		tip.Acquire(k, t0)
	}
	if got, want := keysOf(tip, t0), []string{"0.0.0.0", "1.2.3.4", "44.1.1.1", "127.0.0.1"}; !slices.Equal(got, want) {
		t.Errorf("ip order %v, want %v", got, want)
	}
}

// TestKeyAddr: an ip table takes IPv4 and mapped addresses, not IPv6; an ipv6 table
// maps IPv4.
func TestKeyAddr(t *testing.T) {
	t4 := New(Def{Type: KeyIP, Size: 1}, t0)
	t6 := New(Def{Type: KeyIPv6, Size: 1}, t0)
	if _, ok := t4.KeyAddr(netip.MustParseAddr("2001:db8::1")); ok {
		t.Error("ip table took an IPv6 address")
	}
	k, ok := t4.KeyAddr(netip.MustParseAddr("::ffff:192.0.2.1"))
	if !ok || t4.FormatKey(k) != "192.0.2.1" {
		t.Errorf("mapped: %v %s", ok, t4.FormatKey(k))
	}
	k, ok = t6.KeyAddr(netip.MustParseAddr("192.0.2.1"))
	if !ok || t6.FormatKey(k) != "::ffff:192.0.2.1" {
		t.Errorf("ipv6 table, IPv4 address: %v %s", ok, t6.FormatKey(k))
	}
	tb := New(Def{Type: KeyBinary, KeyLen: 4, Size: 1}, t0)
	k, _ = tb.KeyString("\x01\x02")
	if tb.FormatKey(k) != "01020000" {
		t.Errorf("binary padded: %s", tb.FormatKey(k))
	}
	k, _ = tb.KeyString("\xab\xcd\xef\x01\x02")
	if tb.FormatKey(k) != "ABCDEF01" {
		t.Errorf("binary cut: %s", tb.FormatKey(k))
	}
}
