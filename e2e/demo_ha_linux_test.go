package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"tandem/internal/netnstest"
)

// demoHAStart runs tandem demo --ha with args; the process is killed by its PID if
// the test ends first.
func demoHAStart(t *testing.T, args ...string) (*exec.Cmd, *syncBuffer, chan struct{}) {
	t.Helper()
	cmd := exec.Command(tandemBin, append([]string{"demo", "--ha"}, args...)...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return cmd, out, done
}

// demoNamespaces lists the namespaces left by the demo process pid.
func demoNamespaces(t *testing.T, pid int) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v %s", err, out)
	}
	var left []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, fmt.Sprintf("tandem-demo-%d-", pid)) {
			left = append(left, strings.Fields(l)[0])
		}
	}
	return left
}

// TestDemoHA runs `tandem demo --ha` for a bounded time: it shows HTTP through the
// VIP answered via lb1 by both web servers, lb1 crashing, lb2 answering after the
// failover, lb1 restarted taking the VIP back; then it exits 0 and leaves no
// namespace behind.
func TestDemoHA(t *testing.T) {
	netnstest.RequireRoot(t)
	cmd, out, done := demoHAStart(t, "-failover-after", "2s", "-exit-after", "100ms")
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("tandem demo --ha did not end within 60s:\n%s", out)
	}
	text := out.String()
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, text)
	}
	before, after, ok := strings.Cut(text, "lb1 crashed")
	if !ok {
		t.Fatalf("no crash shown:\n%s", text)
	}
	during, restarted, ok := strings.Cut(after, "lb1 restarted")
	if !ok {
		t.Fatalf("no restart shown:\n%s", text)
	}
	for _, c := range []struct{ part, want, what string }{
		{before, "lb1 → web1", "before the crash, web1 via lb1"},
		{before, "lb1 → web2", "before the crash, web2 via lb1"},
		{during, "lb2 → web", "after the crash, answers via lb2"},
		{restarted, "lb1 → web", "after the restart, answers via lb1 again"},
		{restarted, "the VIP is on lb1 ", "the end: lb1 alone holds the VIP"},
		{text, "ip netns exec tandem-demo-", "what to try"},
	} {
		if !strings.Contains(c.part, c.want) {
			t.Errorf("%s: no %q in the output:\n%s", c.what, c.want, text)
		}
	}
	if strings.Contains(before, "lb2 →") {
		t.Errorf("lb2 answered before the crash:\n%s", text)
	}
	if left := demoNamespaces(t, cmd.Process.Pid); len(left) > 0 {
		t.Errorf("namespaces left behind: %v", left)
		for _, ns := range left {
			_ = exec.Command("ip", "netns", "del", ns).Run()
		}
	}
}

// TestDemoHAInterrupt: Ctrl-C during the show stops the nodes and deletes the
// namespaces.
func TestDemoHAInterrupt(t *testing.T) {
	netnstest.RequireRoot(t)
	cmd, out, done := demoHAStart(t, "-failover-after", "1m")
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "lb1 → web") {
		if time.Now().After(deadline) {
			t.Fatalf("the demo shows no answer within 20s:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("tandem demo --ha did not end within 15s of SIGINT:\n%s", out)
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit %d after SIGINT:\n%s", code, out)
	}
	if left := demoNamespaces(t, cmd.Process.Pid); len(left) > 0 {
		t.Errorf("namespaces left behind: %v", left)
		for _, ns := range left {
			_ = exec.Command("ip", "netns", "del", ns).Run()
		}
	}
}
