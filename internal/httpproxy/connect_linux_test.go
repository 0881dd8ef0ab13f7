package httpproxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"
)

// fullListener listens with a backlog that one unaccepted connection fills: further
// SYNs are dropped, so a connect to it waits until its timeout.
func fullListener(t *testing.T) netip.AddrPort {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	a := netip.AddrPortFrom(netip.AddrFrom4(sa.(*syscall.SockaddrInet4).Addr), uint16(sa.(*syscall.SockaddrInet4).Port))
	for range 3 { // fill the accept queue; these may themselves hang: bounded
		c, err := net.DialTimeout("tcp", a.String(), 200*time.Millisecond)
		if err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}
	return a
}

// TestDialServer: the raw connect reaches a listening server and carries bytes both
// ways with deadlines; a closed port is refused at once; a server that never answers
// the handshake times out after timeout connect.
func TestDialServer(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	nc, err := dialServer(context.Background(), netip.MustParseAddrPort(ln.Addr().String()), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if nc.RemoteAddr().String() != ln.Addr().String() {
		t.Fatalf("remote address %v, want %v", nc.RemoteAddr(), ln.Addr())
	}
	if la, ok := nc.LocalAddr().(*net.TCPAddr); !ok || la.Port == 0 {
		t.Fatalf("local address %v", nc.LocalAddr())
	}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	nc.Write([]byte("ping"))
	got := make([]byte, 4)
	if _, err := io.ReadFull(nc, got); err != nil || string(got) != "ping" {
		t.Fatalf("echo: %q %v", got, err)
	}

	closed, _ := net.Listen("tcp4", "127.0.0.1:0")
	dead := netip.MustParseAddrPort(closed.Addr().String())
	closed.Close()
	if _, err := dialServer(context.Background(), dead, time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("closed port: %v, want connection refused", err)
	}

	full := fullListener(t)
	start := time.Now()
	_, err = dialServer(context.Background(), full, 300*time.Millisecond)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("silent server: %v, want a timeout", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Fatalf("timed out after %v, want about 300ms", d)
	}
}

// TestDialServerEndsWhenTheHandlerCloses: a connect still waiting for its handshake,
// with no timeout connect, ends as soon as the handler's context does (a hard stop must
// not wait for the kernel's SYN retries).
func TestDialServerEndsWhenTheHandlerCloses(t *testing.T) {
	full := fullListener(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := dialServer(ctx, full, 0)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("dialServer: %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("returned after %v, want soon after the cancel at 200ms", d)
	}
}
