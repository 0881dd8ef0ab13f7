package listener

import (
	"syscall"

	"golang.org/x/sys/unix"
)

const freebindSupported = true

// control sets the socket options tandem listens with: SO_REUSEPORT, as HAProxy sets it
// by default, so that a new process (-sf, a binary upgrade) binds the addresses the old
// one still serves; and IP_FREEBIND (and its IPv6 twin) when asked, so that a VIP held by
// the other node can be bound already.
func control(freebind bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			if serr != nil || !freebind {
				return
			}
			if network == "tcp6" {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_FREEBIND, 1)
				return
			}
			serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}
}
