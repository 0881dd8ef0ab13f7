package daemon

import (
	"net/netip"
	"testing"
	"time"

	"tandem/internal/testaddr"
)

// Health checks follow reloads: an unchanged server keeps its runner and the health it
// learnt; a changed one gets a new runner that starts from the current state; a server
// whose check is removed is UP again; Stop ends every runner.
func TestChecksAcrossReloads(t *testing.T) {
	bind := freePort(t)
	dead := netip.MustParseAddrPort(testaddr.Dead(t)) // bound, never listening: every check fails
	mk := func(inter time.Duration, check bool) *loader {
		cfg := tcpConfig(bind, dead)
		s := cfg.Backends[0].Servers[0]
		s.Check.Enabled, s.Check.Inter, s.Check.Rise, s.Check.Fall, s.Check.ErrorLimit = check, inter, 2, 1, 10
		l := &loader{}
		l.set(cfg, nil)
		return l
	}
	l := mk(50*time.Millisecond, true)
	d := New(Options{Log: quietLog(), Load: l.load})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	st := d.states.Get("be", "s1")
	waitDown := func(msg string) {
		t.Helper()
		for i := 0; i < 200 && st.Up(); i++ {
			time.Sleep(10 * time.Millisecond)
		}
		if st.Up() {
			t.Fatal(msg)
		}
	}
	waitDown("server never marked DOWN")
	first := d.checks["be/s1"]

	// Same settings: same runner, still DOWN.
	l.set(mk(50*time.Millisecond, true).cfg, nil)
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	if d.checks["be/s1"] != first || st.Up() {
		t.Fatalf("unchanged server: runner replaced (%v) or state reset (up=%v)", d.checks["be/s1"] != first, st.Up())
	}

	// Changed inter: a new runner, and the server stays DOWN (no reset to UP).
	l.set(mk(60*time.Millisecond, true).cfg, nil)
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	second := d.checks["be/s1"]
	if second == first || second == nil {
		t.Fatal("changed check settings kept the old runner")
	}
	if st.Up() {
		t.Fatal("a changed runner reset the server to UP")
	}
	select {
	case <-first.done:
	default:
		t.Fatal("the replaced runner still runs")
	}

	// Check removed: the server is UP again.
	l.set(mk(60*time.Millisecond, false).cfg, nil)
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	if len(d.checks) != 0 || !st.Up() {
		t.Fatalf("without check: %d runners, up=%v", len(d.checks), st.Up())
	}

	l.set(mk(60*time.Millisecond, true).cfg, nil)
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	third := d.checks["be/s1"]
	d.Stop(time.Second)
	select {
	case <-third.done:
	default:
		t.Fatal("Stop left a runner running")
	}
}
