package listener

import (
	"syscall"

	"golang.org/x/sys/unix"
)

const freebindSupported = true

// control sets the socket options tandem listens with: IP_FREEBIND (and its IPv6 twin)
// when asked, so that a VIP held by the other node can be bound already.
func control(freebind bool) func(network, address string, c syscall.RawConn) error {
	if !freebind {
		return nil
	}
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
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
