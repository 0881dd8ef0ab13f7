package httpproxy

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"tandem/internal/rawsock"
)

// dialServer connects to a server at a with plain system calls: the socket goes into Go's poller
// as a pollable *os.File, and a loopback or LAN handshake that is complete when connect
// returns costs no wait at all. Go's dialer would wait in the poller every time. A
// connect still in progress waits until timeout (0: the kernel's own) or until ctx ends
// (the handler closing).
func dialServer(ctx context.Context, a netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fd, err := rawsock.Connect(a)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "server")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("connect %s: %w", a, err)
	}
	done, err := rawsock.Done(fd)
	if !done {
		err = waitConnect(ctx, f, rc, timeout)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("connect %s: %w", a, err)
	}
	return &fileConn{File: f, raddr: net.TCPAddrFromAddrPort(a)}, nil
}

// waitConnect waits in the poller until the connect on f finishes, timeout passes or
// ctx ends; it leaves no deadline set on f.
func waitConnect(ctx context.Context, f *os.File, rc syscall.RawConn, timeout time.Duration) error {
	if timeout > 0 {
		f.SetWriteDeadline(time.Now().Add(timeout))
	}
	stop := context.AfterFunc(ctx, func() { f.SetWriteDeadline(aLongTimeAgo) })
	var cerr error
	err := rc.Write(func(s uintptr) bool {
		done, e := rawsock.Done(int(s))
		cerr = e
		return done
	})
	if !stop() && ctx.Err() != nil { // cancelled, whatever the wait saw
		return ctx.Err()
	}
	f.SetWriteDeadline(time.Time{})
	if err != nil {
		return err
	}
	return cerr
}
