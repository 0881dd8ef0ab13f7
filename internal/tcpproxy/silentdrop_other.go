//go:build !linux

package tcpproxy

import "net"

// silentDrop closes c as abruptly as the platform allows (tcp-request silent-drop):
// an abortive close, without the TTL trick of the Linux build.
func silentDrop(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}
