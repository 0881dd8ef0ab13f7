package httpproxy

import (
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"tandem/internal/backend"
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

// TestServerAtAnyAddress: a server at 0.0.0.0 (or "*") connects to the address the client
// connected to (HAProxy 2.6, transparent-style). The proxy listens on 127.0.0.3, the
// server only on 127.0.0.3: dialling 0.0.0.0 itself would reach 127.0.0.1 and fail.
func TestServerAtAnyAddress(t *testing.T) {
	srvLn, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Skip("127.0.0.3 not usable:", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("reached")) })}
	go srv.Serve(srvLn)
	t.Cleanup(func() { srv.Close() })
	port := netip.MustParseAddrPort(srvLn.Addr().String()).Port()
	be := &config.Backend{Name: "app", Mode: config.ModeHTTP, Timeouts: newBackend().Timeouts,
		Servers: []*config.Server{{Name: "s1", Host: "0.0.0.0", Addr: netip.AddrPortFrom(netip.IPv4Unspecified(), port), Weight: 1}}}
	fe := &config.Frontend{Name: "fe", Mode: config.ModeHTTP, DefaultBackend: be, Timeouts: config.Timeouts{Client: 5 * time.Second}}
	g := &config.Global{BufSize: config.DefaultBufSize, MaxRewrite: config.DefaultMaxRewrite}
	pool := backend.New(be, backend.NewStates())
	h := NewHandler(&Route{Frontend: fe, Backends: map[string]*backend.Pool{be.Name: pool}, Global: g}, testLogger(t))
	ln, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, h, ln)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	t.Cleanup(c.CloseIdleConnections)
	resp, body := mustGet(t, c, "http://"+ln.Addr().String()+"/")
	if resp.StatusCode != 200 || body != "reached" {
		t.Fatalf("%d %q, want 200 from the server on the client's destination address", resp.StatusCode, body)
	}
}
