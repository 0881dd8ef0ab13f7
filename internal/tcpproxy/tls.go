package tcpproxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"tandem/internal/backend"
)

// hasTLSServers reports whether the route's backend has servers reached over TLS.
func (r *Route) hasTLSServers() bool {
	if r == nil || r.Pool == nil || r.Pool.Cfg == nil {
		return false
	}
	for _, s := range r.Pool.Cfg.Servers {
		if s.TLS != nil && s.TLS.Traffic {
			return true
		}
	}
	return false
}

// serverTLS completes the TLS handshake with an ssl server on conn (plain servers pass
// through). A failed handshake closes conn and is a connection failure, logged with its
// reason.
func (h *Handler) serverTLS(srv *backend.Server, conn net.Conn, timeout time.Duration) (net.Conn, error) {
	st := srv.Cfg.TLS
	if st == nil || !st.Traffic {
		return conn, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tc := tls.Client(conn, st.ClientConfig())
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		h.log.Warn("TLS handshake with server failed", "server", srv.Cfg.Name, "addr", srv.Addr, "err", err)
		return nil, fmt.Errorf("TLS handshake with %s: %w", srv.Addr, err)
	}
	return tc, nil
}
