package e2e

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startMasterWorkerLab is the netns lab with the in-process tracker removed from both
// keepalived.conf (with -W the proxy runs in another process than VRRP), lb2 as before
// and lb1 as `tandem -W -f haproxy.cfg -k keepalived.conf`, once lb1 holds the VIP and
// serves through it.
func startMasterWorkerLab(t *testing.T) (s *haSetup, p *proc, down time.Duration) {
	s = newHASetup(t)
	lb1, lb2 := s.nodes["lb1"], s.nodes["lb2"]
	// No in-process tracker: with -W the proxy runs in another process than VRRP.
	untracked := regexp.MustCompile(`(?s)vrrp_script chk_proxy \{.*?\n\}\n|\s*track_script \{\s*chk_proxy\s*\}`)
	for _, n := range []*haNode{lb1, lb2} {
		b, err := os.ReadFile(n.kconf)
		if err != nil {
			t.Fatal(err)
		}
		conf := untracked.ReplaceAllString(string(b), "")
		if strings.Contains(conf, "chk_proxy") {
			t.Fatalf("the tracker is still in:\n%s", conf)
		}
		os.WriteFile(n.kconf, []byte(conf), 0o644)
	}
	lb2.start(t)
	p = &proc{cfg: lb1.cfg, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = lb1.host.Command(tandemBin, "-W", "-f", lb1.cfg, "-k", lb1.kconf)
	p.cmd.Stdout, p.cmd.Stderr = p.stderr, p.stderr
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop(t) })
	lb1.p = p
	lb1.logs = append(lb1.logs, p.stderr)
	skew := time.Duration(256-lb2.prio) * time.Second / 256
	down = 3*haInterval + skew
	s.waitSoleHolder(t, "lb1", 3*down)
	s.waitHTTPVia(t, "lb1", 5*time.Second)

	return s, p, down
}

// TestHAMasterWorkerCrashCostsNoFailover runs lb1 as `tandem -W -f haproxy.cfg -k
// keepalived.conf` (VRRP in the master) beside lb2 (one process), in the netns lab. A
// SIGKILL of lb1's worker moves no VIP and refuses no connection: the master still holds
// the listening socket and VRRP, and its new worker answers through the VIP within
// 100 ms. A SIGTERM of lb1's master then hands the VIP to lb2 at once (priority 0).
func TestHAMasterWorkerCrashCostsNoFailover(t *testing.T) {
	s, p, down := startMasterWorkerLab(t)
	lb1 := s.nodes["lb1"]
	worker := helperOf(t, p.cmd.Process.Pid) // the master's one child
	if err := syscall.Kill(worker, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	var resumed time.Duration
	for {
		b, err := s.get()
		if errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("a connection to the VIP was refused %v after the worker was killed", time.Since(killed))
		}
		if err == nil && strings.HasSuffix(b, " via "+lb1.host.IP()) {
			resumed = time.Since(killed)
			break
		}
		if time.Since(killed) > 5*time.Second {
			t.Fatalf("no answer through lb1 within 5s of the worker's SIGKILL: %q %v", b, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("service through the VIP resumed %v after SIGKILL of the worker", resumed)
	if resumed > 100*time.Millisecond {
		t.Errorf("service resumed %v after the worker's SIGKILL, want within 100ms", resumed)
	}
	if w := helperOf(t, p.cmd.Process.Pid); w == worker {
		t.Fatalf("the master's child is still %d", w)
	}
	s.stableSoleHolder(t, "lb1") // the VIP did not move
	s.servedByBoth(t, "lb1")

	p.signal(syscall.SIGTERM)
	took := s.waitSoleHolder(t, "lb2", down)
	t.Logf("VIP on lb2 %v after SIGTERM of lb1's master", took)
	if took > down/2 {
		t.Errorf("the VIP moved %v after a clean stop, want well within the down interval %v (priority 0)", took, down)
	}
}

// TestHAMasterKilled: a SIGKILL of lb1's master ends its worker too (it sees the master
// gone), and lb2 takes the VIP over and serves through it.
func TestHAMasterKilled(t *testing.T) {
	s, p, down := startMasterWorkerLab(t)
	worker := helperOf(t, p.cmd.Process.Pid)
	p.cmd.Process.Kill()
	<-p.done
	took := s.waitHTTPVia(t, "lb2", 2*down)
	t.Logf("HTTP through the VIP answered by lb2 %v after SIGKILL of lb1's master", took)
	running := func() bool { // a zombie nobody reaped yet has exited
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", worker))
		return err == nil && !strings.Contains(string(b), "\nState:\tZ")
	}
	for i := 0; running(); i++ {
		if i == 500 {
			t.Fatalf("lb1's worker %d still runs 5s after its master was killed", worker)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
