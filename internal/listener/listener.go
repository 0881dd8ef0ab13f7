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
	"sync"
	"syscall"

	"tandem/internal/config"
)

// Key identifies a bind address: the network and address actually listened on.
type Key struct {
	Network string
	Addr    netip.AddrPort
}

func (k Key) String() string { return k.Network + " " + k.Addr.String() }

// KeyOf returns the socket a config.Bind asks for. "*:port" and "0.0.0.0:port" listen on
// IPv4 only, as HAProxy does; "[::]:port" (written ":::port") is dual-stack.
func KeyOf(b config.Bind) Key {
	a := b.Addr.Addr()
	switch {
	case a.Is4() || a.Is4In6():
		return Key{Network: "tcp4", Addr: netip.AddrPortFrom(a.Unmap(), b.Addr.Port())}
	case a.IsUnspecified():
		return Key{Network: "tcp", Addr: b.Addr}
	default:
		return Key{Network: "tcp6", Addr: b.Addr}
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
	lc := net.ListenConfig{Control: control(freebind), KeepAlive: -1}
	addr := k.Addr.String()
	return lc.Listen(context.Background(), k.Network, addr)
}
