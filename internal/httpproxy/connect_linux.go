package httpproxy

import (
	"context"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"tandem/internal/backend"
	"tandem/internal/rawsock"
)

// dialServer connects to srv with plain system calls: the socket goes into Go's poller
// as a pollable *os.File, and a loopback or LAN handshake that is complete when connect
// returns costs no wait at all. Go's dialer would wait in the poller every time, and on a
// goroutine of its own (see dial). An address with an IPv6 zone goes through dial.
func dialServer(ctx context.Context, srv *backend.Server, timeout time.Duration) (net.Conn, error) {
	a := srv.Cfg.Addr
	if a.Addr().Zone() != "" {
		return dial(ctx, srv.Addr, timeout)
	}
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
	if timeout > 0 {
		f.SetWriteDeadline(time.Now().Add(timeout))
	}
	var cerr error
	err = rc.Write(func(s uintptr) bool {
		done, e := rawsock.Done(int(s))
		cerr = e
		return done
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("connect %s: %w", a, err)
	}
	f.SetWriteDeadline(time.Time{})
	return &serverFileConn{fileConn{File: f, raddr: net.TCPAddrFromAddrPort(a)}}, nil
}

// serverFileConn is a server connection made by dialServer; its local address is asked
// of the kernel only when someone wants it.
type serverFileConn struct{ fileConn }

func (c *serverFileConn) LocalAddr() net.Addr {
	rc, err := c.File.SyscallConn()
	if err != nil {
		return &net.TCPAddr{}
	}
	var sa syscall.Sockaddr
	var serr error
	rc.Control(func(fd uintptr) { sa, serr = syscall.Getsockname(int(fd)) })
	return tcpAddr(sa, serr)
}
