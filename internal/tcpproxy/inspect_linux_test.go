package tcpproxy

import (
	"net"
	"testing"
)

// eachRulesMode is eachMode plus "reactor-fd": sockets handed over as bare descriptors
// (ServeFD), as the daemon's raw accept does.
func eachRulesMode(t *testing.T, fn func(t *testing.T, m mode)) {
	eachMode(t, func(t *testing.T, m mode) {
		fn(t, m)
		if m.rx != nil {
			t.Run("fd", func(t *testing.T) { fn(t, mode{name: "reactor-fd", rx: m.rx}) })
		}
	})
}

// serveOne hands c to h as the mode says.
func serveOne(h *Handler, m mode, c net.Conn) {
	if m.name != "reactor-fd" {
		h.Serve(c, func() {})
		return
	}
	peer := addrPortOf(c.RemoteAddr())
	fd, err := detach(c)
	if err != nil {
		return
	}
	h.ServeFD(fd, peer, func() {})
}
