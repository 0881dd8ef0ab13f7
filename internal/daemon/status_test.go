package daemon

import (
	"net/netip"
	"testing"
	"time"
)

// SessionsOn counts the connections of the frontends bound to the given addresses (what
// a new VRRP master polls to time the first connection on its VIPs), and says when no
// frontend binds them.
func TestSessionsOn(t *testing.T) {
	bind := freePort(t)
	l := &loader{}
	l.set(tcpConfig(bind, banner(t, "A")), nil)
	d := New(Options{Log: quietLog(), Load: l.load})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop(time.Second)
	if n, ok := d.SessionsOn([]netip.Addr{netip.MustParseAddr("198.18.0.100")}); ok || n != 0 {
		t.Errorf("an address no frontend binds: %d, %v", n, ok)
	}
	lo := []netip.Addr{bind.Addr()}
	if n, ok := d.SessionsOn(lo); !ok || n != 0 {
		t.Fatalf("before any connection: %d, %v", n, ok)
	}
	for range 2 {
		if got, err := get(bind.String()); err != nil || got != "A" {
			t.Fatalf("get: %q, %v", got, err)
		}
	}
	if n, ok := d.SessionsOn(lo); !ok || n != 2 {
		t.Errorf("after two connections: %d, %v", n, ok)
	}
}
