package rawsock

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// Connect opens a non-blocking, close-on-exec TCP socket with TCP_NODELAY (as Go's net
// does; no keep-alive probes, as HAProxy without option srvtcpka) and starts connecting
// it to a. It returns before the handshake completes (EINPROGRESS); Done tells when it
// has.
func Connect(a netip.AddrPort) (int, error) {
	ip := a.Addr().Unmap()
	family := syscall.AF_INET
	var sa syscall.Sockaddr = &syscall.SockaddrInet4{Port: int(a.Port()), Addr: ip.As4()}
	if ip.Is6() {
		family = syscall.AF_INET6
		sa6 := &syscall.SockaddrInet6{Port: int(a.Port()), Addr: ip.As16()}
		if z := ip.Zone(); z != "" {
			ifi, err := net.InterfaceByName(z)
			if err != nil {
				return -1, fmt.Errorf("connect %s: zone %q: %w", a, z, err)
			}
			sa6.ZoneId = uint32(ifi.Index)
		}
		sa = sa6
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if err != nil {
		return -1, fmt.Errorf("connect %s: socket: %w", a, err)
	}
	syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	if err := syscall.Connect(fd, sa); err != nil && err != syscall.EINPROGRESS {
		syscall.Close(fd)
		return -1, fmt.Errorf("connect %s: %w", a, err)
	}
	return fd, nil
}

// Done reports whether the connect started on fd has finished: (true, nil) connected,
// (true, err) failed, (false, nil) still in progress. Call it once fd is writable, or
// at any time: a loopback handshake is often complete when connect returns.
func Done(fd int) (bool, error) {
	if err := ConnectError(fd); err != nil {
		return true, err
	}
	if _, err := syscall.Getpeername(fd); err == syscall.ENOTCONN {
		return false, nil
	}
	return true, nil
}

// Dup returns a close-on-exec duplicate of the socket behind rc; it shares the open
// file (and its O_NONBLOCK) with the original, and is not in Go's poller.
func Dup(rc syscall.RawConn) (int, error) {
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = dupCloexec(int(s)) }); err != nil {
		return -1, fmt.Errorf("dup socket: %w", err)
	}
	if derr != nil {
		return -1, fmt.Errorf("dup socket: %w", derr)
	}
	return fd, nil
}

func dupCloexec(fd int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// ConnectError is the outcome of a connect started on fd once the socket is writable:
// nil when it is connected (or, before that, still in progress).
func ConnectError(fd int) error {
	soerr, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
	switch {
	case err != nil:
		return err
	case soerr != 0:
		return syscall.Errno(soerr)
	}
	return nil
}
