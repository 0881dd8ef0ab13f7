package tcpproxy

import (
	"net/netip"
	"testing"

	"tandem/internal/backend"
	"tandem/internal/config/haproxy"
)

// TestForConn: in mode tcp, use_backend rules on connection fetches choose the pool of
// each connection; the first match wins, else default_backend.
func TestForConn(t *testing.T) {
	text := `defaults
    mode tcp
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend fe
    bind 127.0.0.1:9000,127.0.0.1:9001
    acl lan src 10.0.0.0/8 192.168.0.0/16
    use_backend be_lan if lan !{ src 10.9.0.0/16 }
    use_backend be_alt if { dst_port 9001 }
    use_backend %[dst_port,map_int(/m/ports.map)] if { dst_port 9002 }
    default_backend be_def
backend be_lan
    server s 127.0.0.1:1
backend be_alt
    server s 127.0.0.1:2
backend be_def
    server s 127.0.0.1:3
backend be_map
    server s 127.0.0.1:4
`
	cfg, err := haproxy.Parse("t.cfg", []byte(text), haproxy.Options{
		ReadFile:  func(string) ([]byte, error) { return []byte("9002 be_map\n"), nil },
		LookupEnv: func(string) (string, bool) { return "", false },
	})
	if err != nil {
		t.Fatal(err)
	}
	pools := map[string]*backend.Pool{}
	st := backend.NewStates()
	for _, b := range cfg.Backends {
		pools[b.Name] = backend.New(b, st)
	}
	fe := cfg.Frontend("fe")
	r := &Route{Frontend: fe, Pool: pools["be_def"], Backends: pools}
	r.prepare() // as NewHandler and Swap do
	for _, tc := range []struct {
		src, dst, want string
	}{
		{"10.1.2.3:5000", "127.0.0.1:9000", "be_lan"},
		{"10.9.2.3:5000", "127.0.0.1:9000", "be_def"},
		{"10.9.2.3:5000", "127.0.0.1:9001", "be_alt"},
		{"192.168.1.1:5000", "127.0.0.1:9001", "be_lan"},
		{"127.0.0.1:5000", "127.0.0.1:9000", "be_def"},
		{"127.0.0.1:5000", "127.0.0.1:9002", "be_map"},
	} {
		got := r.forConn(netip.MustParseAddrPort(tc.src), netip.MustParseAddrPort(tc.dst), nil, nil)
		if got.Pool == nil || got.Pool.Cfg.Name != tc.want {
			t.Errorf("%s -> %s: pool %v, want %s", tc.src, tc.dst, got.Pool, tc.want)
		}
	}
	// no rule: the route itself, nothing evaluated
	noRules := *fe
	noRules.UseBackends = nil
	r2 := &Route{Frontend: &noRules, Pool: pools["be_def"], Backends: pools}
	r2.prepare()
	if r2.forConn(netip.AddrPort{}, netip.AddrPort{}, nil, nil) != r2 {
		t.Error("a frontend without rules gets a new route per connection")
	}
}
