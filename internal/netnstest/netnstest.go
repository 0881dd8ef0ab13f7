//go:build linux

// Package netnstest holds what the root tests share to build network namespaces:
// the root requirement (a skip, or a failure under CI=true), labs and veth pairs
// deleted when the test ends, and running code inside a namespace. Tests import it;
// nothing else does.
package netnstest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"tandem/internal/netlab"
)

// RequireRoot skips a test that needs root, unless CI=true, where it fails.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root (network namespaces, raw sockets) and CI=true")
	}
	t.Skip("needs root: network namespaces and raw sockets")
}

// Run runs a command and fails the test with its output when it fails.
func Run(t testing.TB, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Name returns a namespace name unique to this process: PREFIX-PID.
func Name(prefix string) string { return fmt.Sprintf("%s-%d", prefix, os.Getpid()) }

// AddNS creates namespace ns with lo up, deleted when the test ends.
func AddNS(t testing.TB, ns string) {
	t.Helper()
	Run(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	Run(t, "ip", "-n", ns, "link", "set", "lo", "up")
}

// Lab builds a netlab segment named after prefix and this process, deleted when the
// test ends.
func Lab(t testing.TB, prefix string) *netlab.Lab {
	t.Helper()
	l, err := netlab.New(Name(prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("deleting the lab's namespaces: %v", err)
		}
	})
	return l
}

// AddHost adds a host to l or fails the test.
func AddHost(t testing.TB, l *netlab.Lab, name, addr string) *netlab.Host {
	t.Helper()
	h, err := l.AddHost(name, addr)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// VethPair creates two namespaces PREFIX-a-PID and PREFIX-b-PID joined by a veth pair
// (veth0 in a with 198.18.0.1/24, veth1 in b with 198.18.0.2/24; link-local fe80::a:1
// and fe80::a:2, DAD off) and deletes them when the test ends.
func VethPair(t testing.TB, prefix string) (a, b string) {
	t.Helper()
	a, b = Name(prefix+"-a"), Name(prefix+"-b")
	for _, ns := range []string{a, b} {
		AddNS(t, ns)
		Run(t, "ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
			"net.ipv6.conf.default.addr_gen_mode=1")
	}
	Run(t, "ip", "link", "add", "veth0", "netns", a, "type", "veth", "peer", "name", "veth1", "netns", b)
	Run(t, "ip", "-n", a, "addr", "add", "198.18.0.1/24", "dev", "veth0")
	Run(t, "ip", "-n", b, "addr", "add", "198.18.0.2/24", "dev", "veth1")
	Run(t, "ip", "-n", a, "addr", "add", "fe80::a:1/64", "dev", "veth0")
	Run(t, "ip", "-n", b, "addr", "add", "fe80::a:2/64", "dev", "veth1")
	Run(t, "ip", "-n", a, "link", "set", "veth0", "up")
	Run(t, "ip", "-n", b, "link", "set", "veth1", "up")
	return a, b
}

// InNetns runs fn on a thread switched into namespace ns. Sockets opened there stay
// in ns after the thread switches back. fn runs on a goroutine of its own; when it
// calls t.Fatal, that goroutine ends and InNetns stops the test as t.Fatal would.
func InNetns(t testing.TB, ns string, fn func()) {
	t.Helper()
	err := netlab.Do(ns, func() error { fn(); return nil })
	if errors.Is(err, netlab.ErrGoexit) {
		t.FailNow() // fn failed the test and said why
	}
	if err != nil {
		t.Fatal(err)
	}
}
