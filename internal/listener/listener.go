// Package listener keeps tandem's listening sockets across reloads: a bind address that
// stays in the configuration keeps its socket, so no connection is refused while a new
// configuration is swapped in.
package listener

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"

	"tandem/internal/config"
)

// Key identifies a listening socket: the network and address listened on, and how the
// socket is made (fd@N, socket options).
type Key struct {
	Network string // tcp4, tcp6, tcp (IPv6 and IPv4), or "fd"
	Addr    netip.AddrPort
	Sock    config.BindSock
}

func (k Key) String() string {
	if k.Sock.FD > 0 {
		return fmt.Sprintf("fd@%d", k.Sock.FD-1)
	}
	if k.Network == "unix" {
		return fmt.Sprintf("unix@%s %+v", k.Sock.Path, k.Sock)
	}
	if k.Sock == (config.BindSock{}) {
		return k.Network + " " + k.Addr.String()
	}
	return fmt.Sprintf("%s %s %+v", k.Network, k.Addr, k.Sock)
}

// KeyOf returns the socket a config.Bind asks for. "*:port" and "0.0.0.0:port" listen on
// IPv4 only, as HAProxy does; "[::]:port" (written ":::port") is dual-stack unless the
// bind says v6only; another IPv6 address is IPv6 only unless it says v4v6.
func KeyOf(b config.Bind) Key {
	if b.Sock.FD > 0 {
		return Key{Network: "fd", Sock: b.Sock}
	}
	if b.Sock.Path != "" {
		return Key{Network: "unix", Sock: b.Sock}
	}
	a := b.Addr.Addr()
	switch {
	case a.Is4() || a.Is4In6():
		return Key{Network: "tcp4", Addr: netip.AddrPortFrom(a.Unmap(), b.Addr.Port()), Sock: b.Sock}
	case b.Sock.V6Only:
		return Key{Network: "tcp6", Addr: b.Addr, Sock: b.Sock}
	case a.IsUnspecified() || b.Sock.V4V6:
		return Key{Network: "tcp", Addr: b.Addr, Sock: b.Sock}
	default:
		return Key{Network: "tcp6", Addr: b.Addr, Sock: b.Sock}
	}
}

// Set holds the open listeners by Key.
type Set struct {
	mu sync.Mutex
	m  map[Key]net.Listener
	// Freebind is called when an address is not local yet (EADDRNOTAVAIL) and the socket
	// was bound anyway with IP_FREEBIND, as a VRRP backup must for the VIP.
	Freebind func(Key)
	// Open opens a new socket; nil means Open (the package function). A process that has
	// dropped its privileges sets it to ask its privileged helper.
	Open func(Key) (ln net.Listener, freebind bool, err error)
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{m: map[Key]net.Listener{}} }

// Get returns the listener for k, opening it when the set has none.
// It reports whether the listener was newly opened.
func (s *Set) Get(k Key) (net.Listener, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ln, ok := s.m[k]; ok {
		return ln, false, nil
	}
	open := s.Open
	if open == nil {
		open = Open
	}
	ln, freebind, err := open(k)
	if err != nil {
		return nil, false, err
	}
	if freebind && s.Freebind != nil {
		s.Freebind(k)
	}
	s.m[k] = ln
	return ln, true, nil
}

// Open listens on k. An address that is not local (EADDRNOTAVAIL) is bound with
// IP_FREEBIND where the system has it, and freebind reports so.
func Open(k Key) (ln net.Listener, freebind bool, err error) {
	if k.Sock.FD > 0 {
		ln, err = inherited(k.Sock.FD - 1)
		return ln, false, err
	}
	if k.Network == "unix" {
		ln, err = listenUnix(k.Sock)
		return ln, false, err
	}
	ln, err = listen(k, false)
	if err != nil && errors.Is(err, syscall.EADDRNOTAVAIL) && freebindSupported {
		ln, err = listen(k, true)
		freebind = err == nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cannot bind %s: %w", k.Addr, err)
	}
	return ln, freebind, nil
}

// Retain closes and forgets every listener whose key is not in keep.
// It returns the closed keys.
func (s *Set) Retain(keep map[Key]bool) []Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	var closed []Key
	for k, ln := range s.m {
		if !keep[k] {
			ln.Close()
			delete(s.m, k)
			closed = append(closed, k)
		}
	}
	return closed
}

// CloseAll closes every listener.
func (s *Set) CloseAll() { s.Retain(nil) }

func listen(k Key, freebind bool) (net.Listener, error) {
	// KeepAlive -1: no TCP keep-alive probes on accepted connections, as HAProxy (which
	// enables them only with option clitcpka); timeouts bound dead peers. It also spares
	// four setsockopt calls per connection.
	lc := net.ListenConfig{Control: control(k, freebind), KeepAlive: -1}
	addr := k.Addr.String()
	ln, err := lc.Listen(context.Background(), k.Network, addr)
	if err != nil || k.Sock.Backlog == 0 {
		return ln, err
	}
	if err := setBacklog(ln, k.Sock.Backlog); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// inheritedMu guards inheritedFiles: the descriptors fd@N named, kept open for the
// process's life so that a later configuration can name them again.
var (
	inheritedMu    sync.Mutex
	inheritedFiles = map[int]*os.File{}
)

// inherited returns a listener on descriptor fd, which the process inherited (from its
// parent, a master, or systemd's LISTEN_FDS) already listening.
func inherited(fd int) (net.Listener, error) {
	inheritedMu.Lock()
	defer inheritedMu.Unlock()
	f := inheritedFiles[fd]
	if f == nil {
		f = os.NewFile(uintptr(fd), fmt.Sprintf("fd@%d", fd))
		if f == nil {
			return nil, fmt.Errorf("fd@%d: not a valid descriptor", fd)
		}
		inheritedFiles[fd] = f
	}
	ln, err := net.FileListener(f) // a duplicate: closing it leaves fd open
	if err != nil {
		return nil, fmt.Errorf("fd@%d: %w (it must be a listening stream socket this process inherited)", fd, err)
	}
	return ln, nil
}
