package listener

import (
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

const freebindSupported = true

// tfoQueue is the TCP fast open queue of a bind with tfo and no backlog.
const tfoQueue = 1024

// control sets the socket options tandem listens with, before bind: SO_REUSEPORT, as
// HAProxy sets it by default, so that a new process (-sf, a binary upgrade) binds the
// addresses the old one still serves; IP_FREEBIND (and its IPv6 twin) when asked, so that
// a VIP held by the other node can be bound already; and the bind line's options.
func control(k Key, freebind bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = setOptions(int(fd), network, k, freebind) })
		if err != nil {
			return err
		}
		return serr
	}
}

func setOptions(fd int, network string, k Key, freebind bool) error {
	v6 := network == "tcp6"
	set := func(name string, level, opt, v int) error {
		if err := unix.SetsockoptInt(fd, level, opt, v); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	if err := set("SO_REUSEPORT", unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return err
	}
	if freebind {
		if v6 {
			if err := set("IPV6_FREEBIND", unix.SOL_IPV6, unix.IPV6_FREEBIND, 1); err != nil {
				return err
			}
		} else if err := set("IP_FREEBIND", unix.SOL_IP, unix.IP_FREEBIND, 1); err != nil {
			return err
		}
	}
	s := k.Sock
	if s.Interface != "" {
		if err := unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, s.Interface); err != nil {
			return fmt.Errorf("interface %s: %w", s.Interface, err)
		}
	}
	if s.Transparent {
		if v6 {
			if err := set("transparent (IPV6_TRANSPARENT)", unix.SOL_IPV6, unix.IPV6_TRANSPARENT, 1); err != nil {
				return err
			}
		} else if err := set("transparent (IP_TRANSPARENT)", unix.SOL_IP, unix.IP_TRANSPARENT, 1); err != nil {
			return err
		}
	}
	if s.DeferAccept {
		// As HAProxy: accept only once data arrived (the kernel waits up to 1 s, then
		// hands the connection over anyway).
		if err := set("defer-accept", unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 1); err != nil {
			return err
		}
	}
	if s.MSS > 0 {
		if err := set("mss", unix.IPPROTO_TCP, unix.TCP_MAXSEG, s.MSS); err != nil {
			return err
		}
	}
	if s.TFO {
		q := s.Backlog
		if q == 0 {
			q = tfoQueue
		}
		if err := set("tfo", unix.IPPROTO_TCP, unix.TCP_FASTOPEN, q); err != nil {
			return err
		}
	}
	return nil
}

// setBacklog calls listen(2) again on a listening socket: Linux takes the new backlog.
func setBacklog(ln net.Listener, backlog int) error {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return fmt.Errorf("backlog: not a socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = unix.Listen(int(fd), backlog) }); err != nil {
		return err
	}
	if lerr != nil {
		return fmt.Errorf("backlog %d: %w", backlog, lerr)
	}
	return nil
}
