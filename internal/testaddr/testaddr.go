// Package testaddr gives tests loopback addresses that behave as they claim for the
// whole test: Dead is an address where a connection is always refused, because a
// socket is bound there and never listens (a port that was merely free a moment ago
// may be taken by anything meanwhile).
package testaddr

import (
	"net"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// Dead returns 127.0.0.1:PORT where a TCP socket is bound and never listens, held until
// the test ends: connecting there is refused, and nothing else can listen there.
func Dead(t testing.TB) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("testaddr: socket: %v", err)
	}
	unix.CloseOnExec(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		unix.Close(fd)
		t.Fatalf("testaddr: bind: %v", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		t.Fatalf("testaddr: getsockname: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*unix.SockaddrInet4).Port))
}
