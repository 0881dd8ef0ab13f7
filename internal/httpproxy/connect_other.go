//go:build !linux

package httpproxy

import (
	"context"
	"net"
	"time"

	"tandem/internal/backend"
)

// dialServer connects to srv with Go's dialer.
func dialServer(ctx context.Context, srv *backend.Server, timeout time.Duration) (net.Conn, error) {
	return dial(ctx, srv.Addr, timeout)
}
