//go:build !linux

package httpproxy

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// dialServer connects to a server at a with Go's dialer.
func dialServer(ctx context.Context, a netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	return dial(ctx, a.String(), timeout)
}

type dialResult struct {
	nc  net.Conn
	err error
}

// dial connects to addr in a short-lived goroutine: the dialer's deep call stack then
// never grows the client connection's goroutine, whose stack stays small while idle.
func dial(ctx context.Context, addr string, timeout time.Duration) (net.Conn, error) {
	ch := make(chan dialResult, 1)
	go func() {
		d := net.Dialer{Timeout: timeout, KeepAlive: -1} // no TCP keep-alive, as HAProxy without option srvtcpka
		nc, err := d.DialContext(ctx, "tcp", addr)
		ch <- dialResult{nc, err}
	}()
	r := <-ch
	return r.nc, r.err
}
