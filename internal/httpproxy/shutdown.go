package httpproxy

import "tandem/internal/backend"

// ShutdownServer closes every client connection whose current server connection goes to
// addr, and that server connection (on-marked-down shutdown-sessions). It returns how
// many sessions it closed.
func (h *Handler) ShutdownServer(addr string) int {
	n := 0
	h.mu.Lock()
	defer h.mu.Unlock()
	for cc := range h.conns {
		if sc := cc.scCur.Load(); sc != nil && backend.SameServer(sc.addr, addr) {
			sc.nc.Close()
			if cc.nc != nil {
				cc.nc.Close()
			}
			n++
		}
	}
	return n
}
