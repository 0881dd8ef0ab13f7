package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// needRoot skips a test that needs root, except under CI where a skip is a failure.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root, and CI=true: a skip would hide it")
	}
	t.Skip("needs root (chroot, setuid, privileged ports): run the suite as root")
}

// TestChrootUserGroupDropAndReload: with global chroot/user/group, tandem serves chrooted
// as nobody; a reload that adds a bind on a privileged port still works (through the
// privileged helper), and the old binds keep serving.
func TestChrootUserGroupDropAndReload(t *testing.T) {
	needRoot(t)
	a := startWeb(t, "a")
	jail := t.TempDir()
	bind := freeAddr(t)
	low := lowPort(t)
	pidfile := filepath.Join(t.TempDir(), "tandem.pid")
	tmpl := `
global
    chroot %s
    user nobody
    group nogroup
    pidfile %s
` + defaults + `
frontend fe
    bind %s
    default_backend app
%s
backend app
    server a %s
`
	p := startTandem(t, fmt.Sprintf(tmpl, jail, pidfile, bind, "", a.addr), bind)
	// The socket accepts (into the kernel's backlog) as soon as it is bound, a moment
	// before the privileges are dropped: wait for the drop, bounded.
	var status []byte
	for i := 0; i < 200; i++ {
		status, _ = os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
		if strings.Contains(string(status), "\nUid:\t65534\t65534\t65534\t65534") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(string(status), "\nUid:\t65534\t65534\t65534\t65534") {
		t.Fatalf("not running as nobody 2s after start:\n%s\n%s", grepLine(string(status), "Uid:"), p.stderr)
	}
	root, _ := os.Readlink(fmt.Sprintf("/proc/%d/root", p.cmd.Process.Pid))
	if root != jail {
		t.Fatalf("root is %q, want the chroot %q", root, jail)
	}
	if code, s := body(t, client(false), "http://"+bind+"/"); code != 200 || s != "a" {
		t.Fatalf("chrooted tandem: %d %q", code, s)
	}
	os.WriteFile(p.cfg, []byte(fmt.Sprintf(tmpl, jail, pidfile, bind, "frontend low\n    bind "+low+"\n    default_backend app\n", a.addr)), 0o644)
	p.signal(syscall.SIGHUP)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", low, 200*time.Millisecond); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after reload, nothing listens on privileged %s\n%s", low, p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, addr := range []string{bind, low} {
		if code, s := body(t, client(false), "http://"+addr+"/"); code != 200 || s != "a" {
			t.Fatalf("after reload, %s: %d %q", addr, code, s)
		}
	}
	p.stop(t)
	time.Sleep(100 * time.Millisecond) // the helper notices the end and removes the pid file
	if _, err := os.Stat(pidfile); err == nil {
		t.Errorf("pid file %s left behind", pidfile)
	}
}

// lowPort returns a free loopback address with a port below 1024.
func lowPort(t *testing.T) string {
	t.Helper()
	for p := 900; p < 1000; p++ {
		addr := fmt.Sprintf("127.0.0.1:%d", p)
		if ln, err := net.Listen("tcp4", addr); err == nil {
			ln.Close()
			return addr
		}
	}
	t.Fatal("no free port in 900-999")
	return ""
}

func grepLine(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
