package announce

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// requireRoot skips a test that needs root, unless CI=true, where it fails.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root (network namespaces, raw sockets) and CI=true")
	}
	t.Skip("needs root: network namespaces and raw sockets")
}

func run(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// vethPair creates two namespaces joined by a veth pair (veth0 in a with
// 198.18.0.1/24, veth1 in b with 198.18.0.2/24; link-local fe80::a:1 and fe80::a:2 only, DAD off) and deletes them
// when the test ends.
func vethPair(t *testing.T) (a, b string) {
	t.Helper()
	a = fmt.Sprintf("announce-a-%d", os.Getpid())
	b = fmt.Sprintf("announce-b-%d", os.Getpid())
	for _, ns := range []string{a, b} {
		run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		run(t, "ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
			"net.ipv6.conf.default.addr_gen_mode=1")
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	run(t, "ip", "link", "add", "veth0", "netns", a, "type", "veth", "peer", "name", "veth1", "netns", b)
	run(t, "ip", "-n", a, "addr", "add", "198.18.0.1/24", "dev", "veth0")
	run(t, "ip", "-n", b, "addr", "add", "198.18.0.2/24", "dev", "veth1")
	run(t, "ip", "-n", a, "addr", "add", "fe80::a:1/64", "dev", "veth0")
	run(t, "ip", "-n", b, "addr", "add", "fe80::a:2/64", "dev", "veth1")
	run(t, "ip", "-n", a, "link", "set", "veth0", "up")
	run(t, "ip", "-n", b, "link", "set", "veth1", "up")
	return a, b
}

// inNetns runs fn on a thread switched into namespace ns. Sockets opened there
// stay in ns after the thread switches back.
func inNetns(t *testing.T, ns string, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer func() {
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// leave the thread locked: it dies with the goroutine instead of
			// serving others from the wrong namespace
			t.Errorf("restore netns: %v", err)
			return
		}
		runtime.UnlockOSThread()
	}()
	fn()
}
