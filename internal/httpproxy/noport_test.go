package httpproxy

import (
	"net"
	"net/http"
	"net/netip"
	"testing"

	"tandem/internal/config"
)

// TestServerWithoutPort: a server written without a port takes the port the client
// connected to (HAProxy 2.6, "server NAME ADDR"). The proxy listens on 127.0.0.1:P and
// the server on 127.0.0.2:P; the server is configured as 127.0.0.2 with no port.
func TestServerWithoutPort(t *testing.T) {
	be := &config.Backend{Name: "app", Mode: config.ModeHTTP, Retries: 0,
		Servers: []*config.Server{{Name: "s1", Host: "127.0.0.2", Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), 0), Weight: 1}}}
	be.Timeouts = newBackend().Timeouts
	var f *fixture
	var ln net.Listener
	for try := 0; try < 5 && ln == nil; try++ { // the port may be taken on 127.0.0.2: pick another
		f = newFixture(t, be, nil)
		port := netip.MustParseAddrPort(f.addr).Port()
		l, err := net.Listen("tcp", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), port).String())
		if err == nil {
			ln = l
		}
	}
	if ln == nil {
		t.Skip("no port free on both 127.0.0.1 and 127.0.0.2")
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("reached " + r.Context().Value(http.LocalAddrContextKey).(net.Addr).String()))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	c := f.client()
	for i := 0; i < 3; i++ { // keep-alive: the kept server connection is reused
		resp, body := mustGet(t, c, f.url("/"))
		if resp.StatusCode != 200 || body != "reached "+ln.Addr().String() {
			t.Fatalf("request %d: %d %q, want 200 from %s", i, resp.StatusCode, body, ln.Addr())
		}
	}
}
