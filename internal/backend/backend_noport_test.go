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
		{"127.0.0.3:80", "0.0.0.0:80", true},
		{"127.0.0.3:81", "0.0.0.0:80", false},
		{"127.0.0.3:81", "0.0.0.0:0", true},
	}
	for _, tt := range tests {
		if got := SameServer(tt.conn, tt.srv); got != tt.want {
			t.Errorf("SameServer(%q, %q) = %v, want %v", tt.conn, tt.srv, got, tt.want)
		}
	}
}

func TestDst(t *testing.T) {
	client := netip.MustParseAddrPort("198.51.100.7:443") // where the client connected
	tests := []struct {
		addr, want string
		follows    bool
	}{
		{"192.0.2.1:8080", "192.0.2.1:8080", false},
		{"192.0.2.2:0", "192.0.2.2:443", true},         // no port: the client's port
		{"0.0.0.0:8080", "198.51.100.7:8080", true},    // 0.0.0.0: the client's address
		{"0.0.0.0:0", "198.51.100.7:443", true},        // both
		{"[::]:8080", "198.51.100.7:8080", true},       // :: too
		{"[2001:db8::1]:0", "[2001:db8::1]:443", true}, // IPv6 without a port
	}
	for _, tt := range tests {
		b := &config.Backend{Name: "b", Servers: []*config.Server{{Name: "s", Addr: netip.MustParseAddrPort(tt.addr), Weight: 1}}}
		s := New(b, NewStates()).Servers[0]
		if got := s.Dst(client); got.String() != tt.want || s.FollowsClient() != tt.follows {
			t.Errorf("server %s: Dst %s, FollowsClient %v; want %s, %v", tt.addr, got, s.FollowsClient(), tt.want, tt.follows)
		}
	}
}
