package tcpproxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"tandem/internal/backend"
	"tandem/internal/proxyproto"
	"tandem/internal/tlsconf"
)

// hasTLSServers reports whether p has servers reached over TLS or sent a PROXY
// header: their connections are not bare sockets for the reactor.
func hasTLSServers(p *backend.Pool) bool {
	for _, s := range p.Cfg.Servers {
		if s.TLS != nil && s.TLS.Traffic || s.SendProxy != 0 {
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

// sendProxy writes the PROXY header srv's line asks for (send-proxy, send-proxy-v2,
// send-proxy-v2-ssl) on conn, describing the client connection c: its client address
// (the one its own PROXY header gave, behind accept-proxy) and the address it reached.
func sendProxy(srv *backend.Server, conn, c net.Conn, timeout time.Duration) error {
	cfg := srv.Cfg
	if cfg.SendProxy == 0 {
		return nil
	}
	cl := proxyproto.Client{Src: addrPortOf(c.RemoteAddr()), Dst: addrPortOf(c.LocalAddr())}
	if cfg.SendProxySSL {
		if f := tlsconf.FactsOf(c); f != nil {
			cl.TLSVersion, cl.CertSess, cl.CertConn = string(f.Protocol), f.CertUsed, f.CertUsed && !f.Resumed
		}
	}
	conn.SetWriteDeadline(time.Now().Add(timeout))
	_, err := conn.Write(proxyproto.AppendServer(nil, cfg.SendProxy, cfg.SendProxySSL, cl))
	conn.SetWriteDeadline(time.Time{})
	if err != nil {
		conn.Close()
		return fmt.Errorf("PROXY header to %s: %w", cfg.Addr, err)
	}
	return nil
}
