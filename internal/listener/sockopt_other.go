//go:build !linux

package listener

import (
	"errors"
	"net"
	"syscall"

	"tandem/internal/config"
)

const freebindSupported = false

func control(k Key, _ bool) func(network, address string, c syscall.RawConn) error {
	if k.Sock == (config.BindSock{}) {
		return nil
	}
	return func(string, string, syscall.RawConn) error {
		return errors.New("bind socket options need Linux")
	}
}

func setBacklog(net.Listener, int) error { return errors.New("backlog needs Linux") }
