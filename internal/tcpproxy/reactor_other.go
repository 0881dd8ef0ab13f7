//go:build !linux

package tcpproxy

import "net"

// serveReactor serves c on goroutines: there are no reactor loops on this system.
func (h *Handler) serveReactor(c net.Conn, done func()) {
	defer done()
	h.ServeConn(c)
}
