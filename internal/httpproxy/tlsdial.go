package httpproxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"time"

	"tandem/internal/backend"
	"tandem/internal/proxyproto"
)

// dial connects to srv and, for a server line with `ssl`, completes the TLS handshake
// before the connection counts as established: a failed handshake (an untrusted
// certificate under `verify required`) is a connection failure, retried and then
// answered 503 as HAProxy does, and logged with its reason.
//
// A server line with send-proxy* gets the PROXY header describing cc first.
func (h *Handler) dial(cc *clientConn, srv *backend.Server, addr netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	nc, err := dialServer(h.ctx, addr, timeout)
	if err == nil && srv.Cfg.SendProxy != 0 {
		err = cc.sendProxy(srv, nc, timeout)
	}
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

// sendProxy writes the PROXY header srv's line asks for on nc: the client's address
// (the one its own PROXY header gave, behind accept-proxy) and the address it reached.
func (cc *clientConn) sendProxy(srv *backend.Server, nc net.Conn, timeout time.Duration) error {
	cfg := srv.Cfg
	cl := proxyproto.Client{Src: cc.src, Dst: cc.dst}
	if cfg.SendProxySSL {
		if f := (&ruleTxn{cc: cc}).TLSFacts(); f != nil {
			cl.TLSVersion, cl.CertSess, cl.CertConn = string(f.Protocol), f.CertUsed, f.CertUsed && !f.Resumed
		}
	}
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	nc.SetWriteDeadline(time.Now().Add(timeout))
	_, err := nc.Write(proxyproto.AppendServer(nil, cfg.SendProxy, cfg.SendProxySSL, cl))
	nc.SetWriteDeadline(time.Time{})
	if err != nil {
		nc.Close()
		return fmt.Errorf("PROXY header to %s: %w", cfg.Addr, err)
	}
	return nil
}
