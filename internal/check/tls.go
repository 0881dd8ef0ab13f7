package check

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
)

// dialCheck connects a check to addr and, when conf is set (check-ssl, or a server
// with ssl), completes a TLS handshake over it: HAProxy's SSL transport layer under
// the check. A failed handshake is HAProxy's "Layer6 invalid response".
func dialCheck(ctx context.Context, addr string, conf *tls.Config) (net.Conn, *Result) {
	nc, err := dialTCP(ctx, addr)
	if err != nil {
		r := connectResult(err)
		return nil, &r
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
