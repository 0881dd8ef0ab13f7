package tcpproxy

import (
	"io"
	"sync/atomic"
	"testing"
	"time"
)

// TestFiguresOfCurrentBackend: nbsrv, be_conn and srv_is_up(SERVER) without a backend
// name read the backend whose rules run: a listen section's own for its tcp-request
// content rules, the chosen backend for a backend's. Both connections are rejected
// without reaching server a, as Debian's haproxy 2.6 does on the same sections (run
// by hand on loopback: closed, no server connection).
func TestFiguresOfCurrentBackend(t *testing.T) {
	for _, tc := range []struct{ name, cfg string }{
		{"listen: nbsrv", tcpDefaults + `listen fe
    bind 127.0.0.1:9000
    tcp-request inspect-delay 1s
    tcp-request content reject if { nbsrv ge 1 } { req.len ge 1 }
    server a SRV_A
backend be_b
    server b SRV_B
`},
		{"backend: srv_is_up and be_conn", tcpDefaults + `frontend fe
    bind 127.0.0.1:9000
    default_backend be_a
backend be_a
    tcp-request inspect-delay 1s
    tcp-request content reject if { srv_is_up(a) } { be_conn ge 0 } { req.len ge 1 }
    server a SRV_A
backend be_b
    server b SRV_B
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachRulesMode(t, func(t *testing.T, m mode) {
				var na, nb atomic.Int32
				addr := rulesProxy(t, m, tc.cfg, named(t, "a", &na), named(t, "b", &nb))
				c := dial(t, addr)
				io.WriteString(c, "x")
				if _, said := closedWithin(t, c, 3*time.Second); said != "" {
					t.Errorf("the client got %q; want rejected", said)
				}
				c.Close()
				if n := na.Load(); n != 0 {
					t.Errorf("server a saw %d connections, want 0", n)
				}
			})
		})
	}
}
