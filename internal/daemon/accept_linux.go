package daemon

import (
	"net"
	"net/netip"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"tandem/internal/rawsock"
)

// fdServer serves client sockets accepted without Go's poller (tcpproxy with reactor
// loops): such a socket never costs the poller's registration and removal.
type fdServer interface {
	TakesFD() bool
	ServeFD(fd int, peer netip.AddrPort, done func())
}

// takesFD returns h as an fdServer when it takes raw sockets now.
func takesFD(h handler) (fdServer, bool) {
	fs, ok := h.(fdServer)
	if !ok || !fs.TakesFD() {
		return nil, false
	}
	return fs, true
}

// acceptFD accepts one connection on a's listener as a raw non-blocking, close-on-exec
// socket. Go lets no one wait on a listener's readiness but its own Accept, so the
// acceptor waits on a duplicate of the listening socket instead (stopRaw closes it).
func (a *acceptor) acceptFD() (int, netip.AddrPort, error) {
	rc, err := a.rawConn()
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	fd := -1
	var sa syscall.Sockaddr
	var aerr error
	err = rc.Read(func(s uintptr) bool {
		for {
			// syscall's accept4, not x/sys/unix's: that one asks each IPv4 or IPv6
			// socket for its protocol (one more system call per connection).
			fd, sa, aerr = syscall.Accept4(int(s), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
			switch aerr {
			case syscall.EAGAIN:
				return false
			case syscall.EINTR, syscall.ECONNABORTED: // a client that left while queued
				continue
			}
			return true
		}
	})
	if err != nil {
		if a.rawClosed() {
			return -1, netip.AddrPort{}, net.ErrClosed // stopRaw: the listener is gone
		}
		return -1, netip.AddrPort{}, err
	}
	if aerr != nil {
		return -1, netip.AddrPort{}, os.NewSyscallError("accept4", aerr)
	}
	peer := rawsock.AddrPort(sa)
	// What Go's own accept sets: no delay.
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	return fd, peer, nil
}

// rawConn returns the raw side of the listener's duplicate, making it on first use.
func (a *acceptor) rawConn() (syscall.RawConn, error) {
	a.rawMu.Lock()
	defer a.rawMu.Unlock()
	if a.rawStopped {
		return nil, net.ErrClosed
	}
	if a.raw != nil {
		return a.rawRC, nil
	}
	sc, ok := a.ln.(syscall.Conn)
	if !ok || a.key.Network == "unix" { // unix clients: net.Conn, no TCP peer
		return nil, errNoRawAccept
	}
	lrc, err := sc.SyscallConn()
	if err != nil {
		return nil, errNoRawAccept
	}
	nfd, err := rawsock.Dup(lrc)
	if err != nil {
		return nil, errNoRawAccept
	}
	f := os.NewFile(uintptr(nfd), "listener") // non-blocking: watched by Go's poller
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, errNoRawAccept
	}
	a.raw, a.rawRC = f, rc
	return rc, nil
}

func (a *acceptor) rawClosed() bool {
	a.rawMu.Lock()
	defer a.rawMu.Unlock()
	return a.rawStopped
}

// stopRaw closes the listener's duplicate, once the listener itself is closed, so that
// the socket stops listening and a raw accept waiting on it returns.
func (a *acceptor) stopRaw() {
	a.rawMu.Lock()
	defer a.rawMu.Unlock()
	a.rawStopped = true
	if a.raw != nil {
		a.raw.Close()
	}
}

// fdConn wraps a raw accepted socket in a net.Conn, for a frontend that stopped taking
// raw sockets (a reload changed its mode) while the accept waited.
func fdConn(fd int) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "accepted")
	defer f.Close()
	return net.FileConn(f)
}
