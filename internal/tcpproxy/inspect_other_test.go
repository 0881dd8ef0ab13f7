//go:build !linux

package tcpproxy

import (
	"net"
	"testing"
)

func eachRulesMode(t *testing.T, fn func(t *testing.T, m mode)) { eachMode(t, fn) }

func serveOne(h *Handler, _ mode, c net.Conn) { h.Serve(c, func() {}) }
