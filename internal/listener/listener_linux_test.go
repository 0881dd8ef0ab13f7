package listener

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tandem/internal/config"
)

func sockopt(t *testing.T, ln net.Listener, level, opt int) int {
	t.Helper()
	rc, err := ln.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	rc.Control(func(fd uintptr) { v, gerr = unix.GetsockoptInt(int(fd), level, opt) })
	if gerr != nil {
		t.Fatalf("getsockopt %d/%d: %v", level, opt, gerr)
	}
	return v
}

func open(t *testing.T, b config.Bind) net.Listener {
	t.Helper()
	ln, _, err := Open(KeyOf(b))
	if errors.Is(err, syscall.EPERM) {
		t.Skipf("%v (needs CAP_NET_ADMIN)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// TestSocketOptions checks each bind option on the socket the kernel made.
func TestSocketOptions(t *testing.T) {
	lo := netip.MustParseAddrPort("127.0.0.1:0")
	any6 := netip.MustParseAddrPort("[::]:0")
	for _, tc := range []struct {
		name        string
		bind        config.Bind
		level, opt  int
		want        int
		wantNetwork string
	}{
		{"SO_REUSEPORT always", config.Bind{Addr: lo}, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1, "tcp4"},
		{"defer-accept", config.Bind{Addr: lo, Sock: config.BindSock{DeferAccept: true}}, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 1, "tcp4"},
		{"mss", config.Bind{Addr: lo, Sock: config.BindSock{MSS: 1200}}, unix.IPPROTO_TCP, unix.TCP_MAXSEG, 1200, "tcp4"},
		{"tfo with backlog", config.Bind{Addr: lo, Sock: config.BindSock{TFO: true, Backlog: 50}}, unix.IPPROTO_TCP, unix.TCP_FASTOPEN, 50, "tcp4"},
		{"tfo", config.Bind{Addr: lo, Sock: config.BindSock{TFO: true}}, unix.IPPROTO_TCP, unix.TCP_FASTOPEN, tfoQueue, "tcp4"},
		{"transparent", config.Bind{Addr: lo, Sock: config.BindSock{Transparent: true}}, unix.SOL_IP, unix.IP_TRANSPARENT, 1, "tcp4"},
		{":: is dual-stack", config.Bind{Addr: any6}, unix.SOL_IPV6, unix.IPV6_V6ONLY, 0, "tcp"},
		{"v6only", config.Bind{Addr: any6, Sock: config.BindSock{V6Only: true}}, unix.SOL_IPV6, unix.IPV6_V6ONLY, 1, "tcp6"},
		{"v4v6", config.Bind{Addr: any6, Sock: config.BindSock{V4V6: true}}, unix.SOL_IPV6, unix.IPV6_V6ONLY, 0, "tcp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if k := KeyOf(tc.bind); k.Network != tc.wantNetwork {
				t.Fatalf("network %s, want %s", k.Network, tc.wantNetwork)
			}
			ln := open(t, tc.bind)
			if got := sockopt(t, ln, tc.level, tc.opt); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestInterface(t *testing.T) {
	ln := open(t, config.Bind{Addr: netip.MustParseAddrPort("127.0.0.1:0"), Sock: config.BindSock{Interface: "lo"}})
	rc, _ := ln.(syscall.Conn).SyscallConn()
	var dev string
	var gerr error
	rc.Control(func(fd uintptr) { dev, gerr = unix.GetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE) })
	if gerr != nil || dev != "lo" {
		t.Fatalf("SO_BINDTODEVICE %q %v, want lo", dev, gerr)
	}
	if _, _, err := Open(KeyOf(config.Bind{Addr: netip.MustParseAddrPort("127.0.0.1:0"), Sock: config.BindSock{Interface: "nosuchif0"}})); err == nil {
		t.Fatal("a bind on an interface that does not exist was opened")
	}
}

// TestBacklog reads the listen queue length the kernel reports (ss: Send-Q of a
// listening socket).
func TestBacklog(t *testing.T) {
	if _, err := exec.LookPath("ss"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but ss (package iproute2) is not installed: scripts/test installs it")
		}
		t.Skip("ss is not installed")
	}
	ln := open(t, config.Bind{Addr: netip.MustParseAddrPort("127.0.0.1:0"), Sock: config.BindSock{Backlog: 7}})
	port := ln.Addr().(*net.TCPAddr).Port
	out, err := exec.Command("ss", "-Hltn", "sport = :"+strconv.Itoa(port)).Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	if len(f) < 3 || f[2] != "7" {
		t.Fatalf("ss: %q, want Send-Q (the backlog) 7", out)
	}
}

// TestInheritedFD is fd@N: a socket already listening on a descriptor this process has.
func TestInheritedFD(t *testing.T) {
	orig, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := orig.(*net.TCPListener).File()
	orig.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	k := KeyOf(config.Bind{Sock: config.BindSock{FD: int(f.Fd()) + 1}})
	if k.Network != "fd" || k.String() != "fd@"+strconv.Itoa(int(f.Fd())) {
		t.Fatalf("key %v", k)
	}
	for i := 0; i < 2; i++ { // a second open (a reload) gets the same socket again
		ln, _, err := Open(k)
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		c.Close()
		ln.Close()
	}
	if _, _, err := Open(Key{Network: "fd", Sock: config.BindSock{FD: 1}}); err == nil { // fd@0: stdin
		t.Error("fd@0 (not a socket) was opened")
	}
}

// TestUnixSocket: a path socket gets its mode before it appears, replaces a socket
// already there (a new process taking over), and an abns@ socket has no file.
func TestUnixSocket(t *testing.T) {
	path := t.TempDir() + "/web.sock"
	first := open(t, config.Bind{Sock: config.BindSock{Path: path, Mode: 0o640, User: "0", Group: "0"}})
	fi, err := os.Stat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o640 {
		t.Fatalf("%s: %v %v, want a socket with mode 0640", path, fi.Mode(), err)
	}
	second := open(t, config.Bind{Sock: config.BindSock{Path: path}})
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	second.(*net.UnixListener).SetDeadline(time.Now().Add(2 * time.Second))
	if s, err := second.Accept(); err != nil {
		t.Fatalf("the path's new socket did not get the connection: %v", err)
	} else {
		s.Close()
	}
	first.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("closing the replaced socket removed the path: %v", err)
	}
	abns := open(t, config.Bind{Sock: config.BindSock{Path: "@tandem-test-" + strconv.Itoa(os.Getpid())}})
	if c, err := net.Dial("unix", "\x00tandem-test-"+strconv.Itoa(os.Getpid())); err != nil {
		t.Fatalf("abns: %v", err)
	} else {
		c.Close()
	}
	abns.Close()
}
