package vip

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root (network namespaces, netlink) and CI=true")
	}
	t.Skip("needs root: network namespaces and netlink")
}

func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
}

// TestSetInNamespace adds, re-applies and removes VIPs on a veth interface in a
// namespace of its own, and checks with `ip addr` what the kernel holds.
func TestSetInNamespace(t *testing.T) {
	requireRoot(t)
	ns := fmt.Sprintf("vip-test-%d", os.Getpid())
	sh(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	sh(t, "ip", "-n", ns, "link", "add", "d0", "type", "veth", "peer", "name", "d1")
	sh(t, "ip", "-n", ns, "addr", "add", "198.18.0.1/24", "dev", "d0")
	sh(t, "ip", "-n", ns, "link", "set", "d0", "up")
	nsh, err := netns.GetFromPath("/run/netns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		t.Fatal(err)
	}
	m := NewWithHandle(h)
	defer m.Close()

	v4 := Addr{Prefix: netip.MustParsePrefix("198.18.0.100/32"), Dev: "d0", Label: "d0:vip"}
	v4b := Addr{Prefix: netip.MustParsePrefix("198.18.0.101/24"), Dev: "d0"}
	v6 := Addr{Prefix: netip.MustParsePrefix("fe80::100/64"), Dev: "d0"}
	all := []Addr{v4, v4b, v6}
	primary := Addr{Prefix: netip.MustParsePrefix("198.18.0.1/24"), Dev: "d0"}

	for i := range 2 { // the second round must change nothing and not fail
		if err := m.Set(all, all); err != nil {
			t.Fatalf("round %d: Set: %v", i, err)
		}
		got, err := m.Present(append(all, primary))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, append(all, primary)) {
			t.Errorf("round %d: present %v", i, got)
		}
	}
	out, _ := exec.Command("ip", "-n", ns, "addr", "show", "dev", "d0").CombinedOutput()
	if !strings.Contains(string(out), "d0:vip") {
		t.Errorf("label missing:\n%s", out)
	}
	if err := m.Set(all, []Addr{v4}); err != nil {
		t.Fatal(err)
	}
	got, _ := m.Present(append(all, primary))
	if !reflect.DeepEqual(got, []Addr{v4, primary}) {
		t.Errorf("after Set(all, [v4]): present %v", got)
	}
	if err := m.Set(all, nil); err != nil {
		t.Fatal(err)
	}
	got, _ = m.Present(append(all, primary))
	if !reflect.DeepEqual(got, []Addr{primary}) {
		t.Errorf("after Set(all, nil): present %v; the primary address must stay", got)
	}
	if err := m.Set([]Addr{{Prefix: v4.Prefix, Dev: "nosuch0"}}, nil); err == nil {
		t.Errorf("Set on a missing interface did not fail")
	}
}
