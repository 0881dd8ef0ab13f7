//go:build !linux

package rawsock

import "net"

// SilentDrop closes c as abruptly as the platform allows (the silent-drop action):
// an abortive close, without the TTL trick of the Linux build.
func SilentDrop(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}
