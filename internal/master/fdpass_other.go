//go:build !linux

package master

import (
	"errors"
	"net"
	"os"
)

// errUnsupported: master-worker passes descriptors the Linux way.
var errUnsupported = errors.New("master-worker mode needs Linux")

var errBadMessage = errors.New("control message without one descriptor")

func socketPair() (*net.UnixConn, *os.File, error) { return nil, nil, errUnsupported }
func sendConn(*net.UnixConn) (net.Conn, error)     { return nil, errUnsupported }
func recvConn(*net.UnixConn) (net.Conn, error)     { return nil, errUnsupported }
