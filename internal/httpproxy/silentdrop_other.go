//go:build !linux

package httpproxy

import "net"

// silentDrop closes c as abruptly as the platform allows (http-request silent-drop):
// an abortive close, without the TTL trick of the Linux build.
func silentDrop(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}
