package rawsock

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"

	"tandem/internal/testaddr"
)

func TestAddrPort(t *testing.T) {
	tests := []struct {
		sa   syscall.Sockaddr
		want netip.AddrPort
	}{
		{&syscall.SockaddrInet4{Addr: [4]byte{198, 18, 0, 1}, Port: 80}, netip.MustParseAddrPort("198.18.0.1:80")},
		{&syscall.SockaddrInet6{Addr: netip.MustParseAddr("2001:db8::1").As16(), Port: 443}, netip.MustParseAddrPort("[2001:db8::1]:443")},
		{&syscall.SockaddrUnix{Name: "/x"}, netip.AddrPort{}},
		{nil, netip.AddrPort{}},
	}
	for _, tt := range tests {
		if got := AddrPort(tt.sa); got != tt.want {
			t.Errorf("AddrPort(%#v) = %v, want %v", tt.sa, got, tt.want)
		}
	}
}

// TestConnectDupDone: a raw connect to a loopback listener finishes, its duplicate
// carries bytes, and a connect to a closed port reports the refusal.
func TestConnectDupDone(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fd, err := Connect(netip.MustParseAddrPort(ln.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if done, err := Done(fd); !done || err != nil {
		t.Fatalf("Done after the accept: %v %v, want connected", done, err)
	}
	rc, _ := c.(syscall.Conn).SyscallConn()
	dup, err := Dup(rc)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(dup)
	if _, err := syscall.Write(dup, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	var b [2]byte
	for i := 0; i < 1000; i++ { // non-blocking: bounded retries until the bytes arrive
		if n, _ := syscall.Read(fd, b[:]); n == 2 {
			break
		}
		syscall.Select(0, nil, nil, nil, &syscall.Timeval{Usec: 1000})
	}
	if string(b[:]) != "hi" {
		t.Fatalf("read %q through the duplicate, want hi", b)
	}

	dead := netip.MustParseAddrPort(testaddr.Dead(t)) // bound, never listening: refused
	fd2, err := Connect(dead)
	if err != nil {
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("Connect to a dead address: %v, want ECONNREFUSED", err)
		}
		return // refused at once: also right
	}
	defer syscall.Close(fd2)
	for i := 0; i < 1000; i++ {
		if done, err := Done(fd2); done {
			if err != syscall.ECONNREFUSED {
				t.Fatalf("Done on a refused connect: %v, want ECONNREFUSED", err)
			}
			return
		}
		syscall.Select(0, nil, nil, nil, &syscall.Timeval{Usec: 1000})
	}
	t.Fatal("a connect to a closed port never finished")
}
