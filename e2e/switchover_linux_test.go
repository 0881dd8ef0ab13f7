package e2e

import (
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestVRRPSwitchoverInNamespaces: `vrrp switchover` on the master (runtime API, admin)
// moves the VIP to the backup within Skew_Time (a priority 0 advert; the old master
// keeps the VIP until the new one advertises), and the old master, of higher
// priority, does not take it back; a switchover on the new master returns it. A client
// loops new-connection requests through the VIP meanwhile; the failures are logged,
// not asserted: the proxy does not drain before the handover yet (issue 14 item 1 is
// not done), so a request in flight when the VIP moves can fail.
func TestVRRPSwitchoverInNamespaces(t *testing.T) {
	s := newHASetup(t)
	socks := map[string]string{}
	for _, name := range []string{"lb1", "lb2"} {
		n := s.nodes[name]
		socks[name] = filepath.Join(t.TempDir(), name+".sock")
		n.proxyTmpl = strings.ReplaceAll(haObservedCfg, "{{SOCK}}", socks[name])
		n.writeProxy(t, false)
		n.start(t)
	}
	s.waitSoleHolder(t, "lb1", 10*time.Second)
	s.waitHTTPVia(t, "lb1", 5*time.Second)

	var ok, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 5000; i++ { // bounded; stops when told
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.get(); err != nil {
				failed.Add(1)
			} else {
				ok.Add(1)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	if got := ask(t, socks["lb2"], "vrrp switchover"); !strings.Contains(got, "nothing to hand over") {
		t.Errorf("switchover on the backup: %q", got)
	}
	asked := time.Now()
	if got := ask(t, socks["lb1"], "vrrp switchover VI_1"); got != "\n" {
		t.Fatalf("switchover on lb1: %q", got)
	}
	s.waitSoleHolder(t, "lb2", 2*time.Second)
	d := time.Since(asked)
	t.Logf("switchover lb1 -> lb2: lb2 alone holds the VIP %v after the command", d.Round(time.Millisecond))
	if d > 1500*time.Millisecond {
		t.Errorf("the handover took %v, want about Skew_Time (0.61s)", d)
	}
	s.waitHTTPVia(t, "lb2", 2*time.Second)
	time.Sleep(4 * haInterval) // longer than Master_Down_Interval: lb1 must not preempt
	s.stableSoleHolder(t, "lb2")
	if tl := ask(t, socks["lb2"], "show vrrp timeline"); !strings.Contains(tl, "resigned (priority 0 advertisement)") {
		t.Errorf("lb2 timeline:\n%s", tl)
	}

	asked = time.Now()
	if got := ask(t, socks["lb2"], "vrrp switchover"); got != "\n" {
		t.Fatalf("switchover on lb2: %q", got)
	}
	s.waitSoleHolder(t, "lb1", 2*time.Second)
	t.Logf("switchover lb2 -> lb1: lb1 alone holds the VIP %v after the command", time.Since(asked).Round(time.Millisecond))
	s.waitHTTPVia(t, "lb1", 2*time.Second)
	s.stableSoleHolder(t, "lb1")
	t.Logf("client through the VIP during two switchovers: %d requests answered, %d failed (no drain yet)", ok.Load(), failed.Load())
}
