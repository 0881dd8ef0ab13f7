package daemon

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"tandem/internal/config"
	"tandem/internal/config/haproxy"
)

// TestReloadWhileHeaderPending: reloads while a connection to an accept-proxy bind
// waits for its PROXY header (the frontend, kept, takes the new configuration) do not
// race with that connection reading its frontend's settings, and it is then served.
// Run with -race: the race detector is what fails it.
func TestReloadWhileHeaderPending(t *testing.T) {
	echo, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	bind := freePort(t)
	text := fmt.Sprintf(`defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind %s accept-proxy
    default_backend app
backend app
    server s1 %s
`, bind, echo.Addr())
	load := func() (*config.Config, error) { return haproxy.Parse("t.cfg", []byte(text), haproxy.Options{}) }
	d := New(Options{Log: slog.New(slog.DiscardHandler), Load: load, Version: "t"})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop(time.Second)
	c, err := net.DialTimeout("tcp", bind.String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The connection is accepted within these reloads; those after it race with its
	// goroutine unless the frontend's settings are read safely.
	for range 20 {
		if err := d.Reload(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	io.WriteString(c, "PROXY TCP4 192.0.2.1 192.0.2.2 1000 80\r\nhello")
	got := make([]byte, len("hello"))
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "hello" {
		t.Fatalf("got %q, %v; want the echo of hello", got, err)
	}
}

// TestReloadChangesMaxconn: a reload that changes a kept frontend's maxconn swaps its
// limit while the accept loop reads it, without a race (run with -race), and the
// frontend serves on.
func TestReloadChangesMaxconn(t *testing.T) {
	echo, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	bind := freePort(t)
	maxconn := 10
	load := func() (*config.Config, error) {
		return haproxy.Parse("t.cfg", []byte(fmt.Sprintf(`defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind %s
    maxconn %d
    default_backend app
backend app
    server s1 %s
`, bind, maxconn, echo.Addr())), haproxy.Options{})
	}
	d := New(Options{Log: slog.New(slog.DiscardHandler), Load: load, Version: "t"})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop(time.Second)
	for i := range 3 {
		maxconn = 20 + i
		if err := d.Reload(); err != nil {
			t.Fatal(err)
		}
		c, err := net.DialTimeout("tcp", bind.String(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "hi")
		got := make([]byte, 2)
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, err = io.ReadFull(c, got)
		c.Close()
		if err != nil || string(got) != "hi" {
			t.Fatalf("after reload %d: got %q, %v", i, got, err)
		}
	}
}
