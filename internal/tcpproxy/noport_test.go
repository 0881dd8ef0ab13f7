package tcpproxy

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"tandem/internal/config"
)

// TestServerWithoutPort: a server written without a port takes the port the client
// connected to (HAProxy 2.6). The proxy listens on 127.0.0.1:P, the server on
// 127.0.0.2:P, configured as 127.0.0.2 with no port; both session paths are checked.
func TestServerWithoutPort(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		tm := config.Timeouts{Connect: time.Second, Client: 5 * time.Second, Server: 5 * time.Second}
		noPort := func(b *config.Backend) { b.Servers[0].Addr = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), 0) }
		var addr string
		var ln net.Listener
		for try := 0; try < 5 && ln == nil; try++ { // the port may be taken on 127.0.0.2: pick another
			addr, _ = startProxyWith(t, m, noPort, tm, "127.0.0.2:1")
			l, err := net.Listen("tcp4", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), netip.MustParseAddrPort(addr).Port()).String())
			if err == nil {
				ln = l
			}
		}
		if ln == nil {
			t.Skip("no port free on both 127.0.0.1 and 127.0.0.2")
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Write([]byte("reached " + c.LocalAddr().String()))
				c.Close()
			}
		}()
		c := dial(t, addr)
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(c)
		if err != nil || string(got) != "reached "+ln.Addr().String() {
			t.Fatalf("read %q, %v; want %q", got, err, "reached "+ln.Addr().String())
		}
	})
}
