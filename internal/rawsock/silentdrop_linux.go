package rawsock

import (
	"net"
	"syscall"
)

// tcpRepair is TCP_REPAIR (linux/tcp.h): a socket in repair mode closes without
// sending anything.
const tcpRepair = 19

// SilentDrop closes c so that the client is not told (the silent-drop action of
// http-request and tcp-request): as HAProxy 2.6 on Linux, the socket is put in TCP
// repair mode first (CAP_NET_ADMIN), so that closing sends neither FIN nor RST; without
// the capability, the reset that an abortive close sends leaves with a TTL of 1, which
// dies at the first router.
func SilentDrop(c net.Conn) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		c.Close()
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		c.Close()
		return
	}
	rc.Control(func(fd uintptr) {
		if syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpRepair, 1) == nil {
			return
		}
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_TTL, 1)
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_UNICAST_HOPS, 1)
		syscall.SetsockoptLinger(int(fd), syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1, Linger: 0})
	})
	c.Close()
}
