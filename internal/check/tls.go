package check

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"time"
)

// dialCheck connects a check to addr and, when conf is set (check-ssl, or a server
// with ssl), completes a TLS handshake over it: HAProxy's SSL transport layer under
// the check. A failed handshake is HAProxy's "Layer6 invalid response".
//
// proxy, when set, is written first: the PROXY header of a server with send-proxy*
// (HAProxy sends one on checks too, naming no client: "PROXY UNKNOWN" or a v2 LOCAL).
func dialCheck(ctx context.Context, addr string, conf *tls.Config, proxy []byte) (net.Conn, *Result) {
	nc, err := dialTCP(ctx, addr)
	if err != nil {
		r := connectResult(err)
		return nil, &r
	}
	if len(proxy) > 0 {
		if dl, ok := ctx.Deadline(); ok {
			nc.SetWriteDeadline(dl)
		}
		if _, err := nc.Write(proxy); err != nil {
			abort(nc)
			r := connectResult(err)
			return nil, &r
		}
		nc.SetWriteDeadline(time.Time{})
	}
	if conf == nil {
		return nc, nil
	}
	tc := tls.Client(nc, conf)
	if err := tc.HandshakeContext(ctx); err != nil {
		abort(nc)
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, &Result{Status: L6TOUT, Info: "SSL handshake timeout"}
		}
		return nil, &Result{Status: L6RSP, Info: "SSL handshake failure: " + err.Error()}
	}
	return tc, nil
}
