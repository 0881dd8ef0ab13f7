package privsep

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"tandem/internal/config"
	"tandem/internal/listener"
)

// fakeLoad reads "main.cfg", resolves "web1", and declares one bind from the file's text.
func fakeLoad(src Sources) (*config.Config, error) {
	data, err := src.ReadFile("main.cfg")
	if err != nil {
		return nil, err
	}
	if _, err := src.Resolve("web1"); err != nil {
		return nil, err
	}
	ap, err := netip.ParseAddrPort(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, err
	}
	return &config.Config{Frontends: []*config.Frontend{{Name: "fe", Binds: []config.Bind{{Addr: ap}}}}}, nil
}

func fakeSources(bind string) Sources {
	return Sources{
		ReadFile: func(p string) ([]byte, error) {
			if p == "main.cfg" {
				return []byte(bind), nil
			}
			return nil, os.ErrNotExist
		},
		Resolve: func(h string) ([]netip.Addr, error) {
			if h == "web1" {
				return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
			}
			return nil, errors.New("no such host")
		},
	}
}

// TestReplayAnswersExactlyWhatWasRecorded: a replayed load sees the same bytes and
// addresses, and nothing else.
func TestReplayAnswersExactlyWhatWasRecorded(t *testing.T) {
	cfg, b, err := Record(fakeLoad, fakeSources("127.0.0.1:8080"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := fakeLoad(b.Replay())
	if err != nil {
		t.Fatal(err)
	}
	if again.Frontends[0].Binds[0].Addr != cfg.Frontends[0].Binds[0].Addr {
		t.Fatal("replayed load differs from the recorded one")
	}
	if _, err := b.Replay().ReadFile("/etc/shadow"); err == nil {
		t.Fatal("replay served a file the load never read")
	}
	if _, err := b.Replay().Resolve("elsewhere"); err == nil {
		t.Fatal("replay resolved a name the load never resolved")
	}
}

func pair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conv := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "pair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		return c.(*net.UnixConn)
	}
	return conv(fds[0]), conv(fds[1])
}

// TestHelperBindsOnlyDeclaredAddresses: over a real socket pair, the helper loads, binds
// an address of the loaded configuration and passes a working listener; it refuses an
// address the configuration does not declare.
func TestHelperBindsOnlyDeclaredAddresses(t *testing.T) {
	probe, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.Addr().String()
	probe.Close()
	a, b := pair(t)
	defer a.Close()
	done := make(chan error, 1)
	go func() { done <- Serve(b, fakeLoad, fakeSources(addr), listener.Open) }()
	c := NewClient(a)

	key := listener.Key{Network: "tcp4", Addr: netip.MustParseAddrPort(addr)}
	if _, _, err := c.Listen(key); err == nil {
		t.Fatal("helper bound an address before any configuration declared it")
	}
	bundle, err := c.Load()
	if err != nil {
		t.Fatal(err)
	}
	if string(bundle.Files["main.cfg"]) != addr {
		t.Fatalf("bundle carries %q for main.cfg", bundle.Files["main.cfg"])
	}
	ln, _, err := c.Listen(key)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if conn, err := ln.Accept(); err == nil {
			conn.Write([]byte("ok"))
			conn.Close()
		}
	}()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dialing the passed listener: %v", err)
	}
	buf := make([]byte, 2)
	if _, err := conn.Read(buf); err != nil || string(buf) != "ok" {
		t.Fatalf("passed listener does not serve: %q %v", buf, err)
	}
	conn.Close()
	other := listener.Key{Network: "tcp4", Addr: netip.MustParseAddrPort("127.0.0.1:1")}
	if _, _, err := c.Listen(other); err == nil || !strings.Contains(err.Error(), "not a bind address") {
		t.Fatalf("undeclared address: %v, want a refusal", err)
	}
	a.Close()
	if err := <-done; err != nil {
		t.Fatalf("helper did not end cleanly when the client went away: %v", err)
	}
}
