package tcpproxy

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"tandem/internal/backend"
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

// TestServerAtAnyAddress: a server at 0.0.0.0 connects to the address the client
// connected to (HAProxy 2.6). The proxy and the server listen on 127.0.0.3 only, so
// dialling 0.0.0.0 itself (127.0.0.1) would fail.
func TestServerAtAnyAddress(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srvLn, err := net.Listen("tcp4", "127.0.0.3:0")
		if err != nil {
			t.Skip("127.0.0.3 not usable:", err)
		}
		defer srvLn.Close()
		go func() {
			for {
				c, err := srvLn.Accept()
				if err != nil {
					return
				}
				c.Write([]byte("reached"))
				c.Close()
			}
		}()
		tm := config.Timeouts{Connect: time.Second, Client: 5 * time.Second, Server: 5 * time.Second}
		port := netip.MustParseAddrPort(srvLn.Addr().String()).Port()
		b := &config.Backend{Name: "be", Retries: 0, Timeouts: tm,
			Servers: []*config.Server{{Name: "s1", Addr: netip.AddrPortFrom(netip.IPv4Unspecified(), port), Weight: 1}}}
		fe := &config.Frontend{Name: "fe", Timeouts: tm, DefaultBackend: b}
		h := NewHandler(&Route{Frontend: fe, Pool: backend.New(b, backend.NewStates())}, slog.New(slog.DiscardHandler))
		c := dial(t, listen(t, h, m, "127.0.0.3:0"))
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(c)
		if err != nil || string(got) != "reached" {
			t.Fatalf("read %q, %v; want the server on the client's destination address", got, err)
		}
	})
}
