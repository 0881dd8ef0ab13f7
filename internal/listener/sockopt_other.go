//go:build !linux

package listener

import "syscall"

const freebindSupported = false

func control(bool) func(network, address string, c syscall.RawConn) error { return nil }
