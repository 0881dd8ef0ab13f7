package rawsock

import (
	"net"
	"syscall"
)

// ResetOnClose makes the next Close of c abortive (SO_LINGER 0: the peer gets a reset,
// as HAProxy resets a connection a rule refuses), whatever the connection's type: a
// *net.TCPConn, or a socket made from a descriptor (the raw accept path). It reports
// whether it could.
func ResetOnClose(c net.Conn) bool {
	if tc, ok := c.(*net.TCPConn); ok {
		return tc.SetLinger(0) == nil
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptLinger(int(fd), syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: 0})
	}); err != nil {
		return false
	}
	return serr == nil
}
