package tcpproxy

import (
	"io"
	"sync/atomic"
	"testing"
	"time"
)

const inspectingCfg = tcpDefaults + `frontend fe
    bind 127.0.0.1:9000
    tcp-request inspect-delay 3s
    tcp-request content reject if { fe_conn ge 2 } { req.len ge 1 }
    tcp-request content accept if { req.len ge 1 }
    default_backend be_a
backend be_a
    server a SRV_A
backend be_b
    server b SRV_B
`

// TestSessionWhileInspecting: a connection whose content rules wait for bytes is a
// session already, on every path, as in HAProxy: the frontend's current sessions count
// it, and fe_conn counts it (a second connection is rejected by fe_conn ge 2, as
// Debian's haproxy 2.6 rejects it on the same frontend, run by hand on loopback).
func TestSessionWhileInspecting(t *testing.T) {
	eachRulesMode(t, func(t *testing.T, m mode) {
		var na, nb atomic.Int32
		addr := rulesProxy(t, m, inspectingCfg, named(t, "a", &na), named(t, "b", &nb))
		first := dial(t, addr) // says nothing: its rules wait
		defer first.Close()
		deadline := time.Now().Add(time.Second)
		for statsOf(t, addr).Cur != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("current sessions %d while one connection is inspected, want 1", statsOf(t, addr).Cur)
			}
			time.Sleep(5 * time.Millisecond)
		}
		second := dial(t, addr)
		io.WriteString(second, "x")
		if _, said := closedWithin(t, second, 2*time.Second); said != "" {
			t.Errorf("second connection got %q; want rejected by fe_conn ge 2", said)
		}
		second.Close()
		if n := na.Load(); n != 0 {
			t.Errorf("server a saw %d connections, want 0", n)
		}
	})
}
