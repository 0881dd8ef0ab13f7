//go:build !linux

package httpproxy

import (
	"errors"
	"net"
	"syscall"
)

var errNoDetach = errors.New("parking a bare descriptor needs Linux")

// Handler.Idle exists on Linux only: these are never reached elsewhere.
func dupSocket(syscall.RawConn) (int, error) { return -1, errNoDetach }
func attachSocket(int) (net.Conn, error)     { return nil, errNoDetach }
func closeSocket(int)                        {}
