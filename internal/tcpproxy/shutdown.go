package tcpproxy

import "tandem/internal/backend"

// ShutdownServer closes every session connected to the server at addr ("ip:port"), both
// sides (on-marked-down shutdown-sessions). It returns how many it closed.
func (h *Handler) ShutdownServer(addr string) int {
	n := 0
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.conns {
		if s.srvAddr == addr || s.server != nil && backend.SameServer(s.server.RemoteAddr().String(), addr) {
			s.close()
			n++
		}
	}
	return n
}
