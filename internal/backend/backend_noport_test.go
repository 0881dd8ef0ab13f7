package backend

import (
	"net/netip"
	"testing"

	"tandem/internal/config"
)

func TestSameServer(t *testing.T) {
	tests := []struct {
		conn, srv string
		want      bool
	}{
		{"127.0.0.2:80", "127.0.0.2:80", true},
		{"127.0.0.2:80", "127.0.0.2:81", false},
		{"127.0.0.2:80", "127.0.0.2:0", true},
		{"127.0.0.20:80", "127.0.0.2:0", false},
		{"[::1]:443", "[::1]:0", true},
		{"[::1]:443", "[::2]:0", false},
	}
	for _, tt := range tests {
		if got := SameServer(tt.conn, tt.srv); got != tt.want {
			t.Errorf("SameServer(%q, %q) = %v, want %v", tt.conn, tt.srv, got, tt.want)
		}
	}
}

func TestDst(t *testing.T) {
	b := &config.Backend{Name: "b", Servers: []*config.Server{
		{Name: "p", Addr: netip.MustParseAddrPort("192.0.2.1:8080"), Weight: 1},
		{Name: "n", Addr: netip.MustParseAddrPort("192.0.2.2:0"), Weight: 1},
	}}
	s := New(b, NewStates()).Servers
	if d := s[0].Dst(443); d.String() != "192.0.2.1:8080" {
		t.Errorf("server with a port: %s", d)
	}
	if d := s[1].Dst(443); d.String() != "192.0.2.2:443" {
		t.Errorf("server without a port: %s, want the client's port 443", d)
	}
}
