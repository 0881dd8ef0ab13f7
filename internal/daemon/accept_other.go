//go:build !linux

package daemon

import (
	"net"
	"net/netip"
)

type fdServer interface {
	ServeFD(fd int, peer netip.AddrPort, done func())
}

// takesFD: raw sockets are a Linux-only path.
func takesFD(handler) (fdServer, bool) { return nil, false }

func (*acceptor) acceptFD() (int, netip.AddrPort, error) { return -1, netip.AddrPort{}, errNoRawAccept }

func (*acceptor) stopRaw() {}

func fdConn(int) (net.Conn, error) { return nil, errNoRawAccept }
