package daemon

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"tandem/internal/config"
	"tandem/internal/config/haproxy"
)

// TestStatsInBackend: stats lines in a backend section (HAProxy 2.6 takes them) serve the
// page for the requests that reach that backend; other requests go to its servers.
func TestStatsInBackend(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "from the server") })}
	go srv.Serve(ln)
	defer srv.Close()
	bind := freePort(t)
	text := fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind %s
    default_backend app
backend app
    stats enable
    stats uri /st
    server s1 %s
`, bind, ln.Addr())
	load := func() (*config.Config, error) { return haproxy.Parse("t.cfg", []byte(text), haproxy.Options{}) }
	d := New(Options{Log: slog.New(slog.DiscardHandler), Load: load, Version: "t"})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop(time.Second)
	c := &http.Client{Timeout: 5 * time.Second}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := c.Get("http://" + bind.String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/st"); code != 200 || !strings.Contains(body, "Statistics Report") {
		t.Errorf("/st: %d %.80q, want the stats page", code, body)
	}
	if code, body := get("/other"); code != 200 || body != "from the server" {
		t.Errorf("/other: %d %q, want the server's answer", code, body)
	}
}
