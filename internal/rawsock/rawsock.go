// Package rawsock opens TCP sockets with plain system calls, for the data paths that
// keep them out of Go's net package: a non-blocking connect that returns before the
// handshake is done, and socket address conversions.
package rawsock

import (
	"net/netip"
	"syscall"
)

// AddrPort converts an IPv4 or IPv6 socket address (the zero AddrPort for others).
func AddrPort(sa syscall.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *syscall.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	return netip.AddrPort{}
}
