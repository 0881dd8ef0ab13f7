package httpproxy

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"tandem/internal/rawsock"
)

// A parked client connection gives up its Go socket object: its descriptor is
// duplicated, the net.Conn closed (its netFD and addresses freed, its runtime poll
// descriptor back in the runtime's cache for reuse), and the bare descriptor waits in
// Handler.Idle. When the wait ends,
// attachSocket wraps the descriptor in a pollable *os.File again.

// closeSocket closes a parked descriptor that is not resumed.
func closeSocket(fd int) { unix.Close(fd) }

// dupSocket returns a duplicate (close-on-exec) of the socket behind rc.
func dupSocket(rc syscall.RawConn) (int, error) { return rawsock.Dup(rc) }

// fileConn is a client connection resumed from a bare descriptor: an *os.File in Go's
// poller (reads, writes and deadlines as net.Conn's) with the socket's addresses.
type fileConn struct {
	*os.File
	raddr net.Addr
	laddr atomic.Pointer[net.Addr] // asked of the kernel on first use (the log wants it)
}

func (c *fileConn) RemoteAddr() net.Addr { return c.raddr }

func (c *fileConn) LocalAddr() net.Addr {
	if a := c.laddr.Load(); a != nil {
		return *a
	}
	var a net.Addr = &net.TCPAddr{}
	if rc, err := c.File.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { a = tcpAddr(syscall.Getsockname(int(fd))) })
	}
	c.laddr.Store(&a)
	return a
}

// CloseWrite half-closes the socket, as *net.TCPConn's does: a tunnel passes a side's
// EOF on with it and keeps the other direction open.
func (c *fileConn) CloseWrite() error {
	rc, err := c.File.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Shutdown(int(fd), unix.SHUT_WR) }); err != nil {
		return err
	}
	return serr
}

var errNotPollable = errors.New("descriptor not in the runtime poller")

// attachSocket makes a net.Conn of the non-blocking socket fd, which it owns from then
// on (it closes it when it fails).
func attachSocket(fd int) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "client")
	if f == nil {
		unix.Close(fd)
		return nil, errNotPollable
	}
	if err := f.SetReadDeadline(time.Time{}); err != nil { // fails unless pollable
		f.Close()
		return nil, fmt.Errorf("resume client socket: %w", errNotPollable)
	}
	// syscall's, not x/sys/unix's: those ask the protocol too (one more syscall each)
	c := &fileConn{File: f, raddr: tcpAddr(syscall.Getpeername(fd))}
	return c, nil
}

// tcpAddr converts a socket address as Go's net does; unknown ones, or an error, give
// an empty *net.TCPAddr.
func tcpAddr(sa syscall.Sockaddr, err error) net.Addr {
	if err != nil {
		return &net.TCPAddr{}
	}
	return net.TCPAddrFromAddrPort(rawsock.AddrPort(sa))
}
