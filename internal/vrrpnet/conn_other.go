//go:build !linux

package vrrpnet

import (
	"errors"
	"net"
	"net/netip"
	"time"
)

// Conn is only implemented on Linux.
type Conn struct{}

var errUnsupported = errors.New("vrrpnet: VRRP sockets are implemented on Linux only")

// Listen fails outside Linux.
func Listen(*net.Interface, netip.Addr, bool) (*Conn, error) { return nil, errUnsupported }

// Src is the zero address outside Linux.
func (*Conn) Src() netip.Addr { return netip.Addr{} }

// Read fails outside Linux.
func (*Conn) Read([]byte, time.Time) (Packet, error) { return Packet{}, errUnsupported }

// Write fails outside Linux.
func (*Conn) Write([]byte, netip.Addr) error { return errUnsupported }

// Close does nothing outside Linux.
func (*Conn) Close() error { return nil }
