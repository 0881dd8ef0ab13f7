package httpproxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"time"

	"tandem/internal/backend"
)

// dial connects to srv and, for a server line with `ssl`, completes the TLS handshake
// before the connection counts as established: a failed handshake (an untrusted
// certificate under `verify required`) is a connection failure, retried and then
// answered 503 as HAProxy does, and logged with its reason.
func (h *Handler) dial(srv *backend.Server, addr netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	nc, err := dialServer(h.ctx, addr, timeout)
	st := srv.Cfg.TLS
	if err != nil || st == nil || !st.Traffic {
		return nc, err
	}
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(h.ctx, timeout)
	defer cancel()
	tc := tls.Client(nc, st.ClientConfig())
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		h.log.Warn("TLS handshake with server failed", "server", srv.Cfg.Name, "addr", addr, "err", err)
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	return tc, nil
}
