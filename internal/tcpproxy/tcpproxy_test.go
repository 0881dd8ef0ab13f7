package tcpproxy

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/reactor"
)

// mode is how a test's handler serves sessions: on goroutines (rx nil) or on reactor
// loops.
type mode struct {
	name string
	rx   *reactor.Group
}

// eachMode runs fn once per mode: goroutines, and reactor loops where the system has them.
func eachMode(t *testing.T, fn func(t *testing.T, m mode)) {
	t.Run("goroutines", func(t *testing.T) { fn(t, mode{name: "goroutines"}) })
	g, err := reactor.NewGroup(1, slog.New(slog.DiscardHandler))
	if errors.Is(err, reactor.ErrUnsupported) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	t.Run("reactor", func(t *testing.T) { fn(t, mode{name: "reactor", rx: g}) })
}

// startProxy serves a TCP frontend on loopback forwarding to servers, and returns its address.
func startProxy(t *testing.T, m mode, tm config.Timeouts, servers ...string) (string, *Handler) {
	t.Helper()
	return startProxyWith(t, m, func(*config.Backend) {}, tm, servers...)
}

// startProxyWith is startProxy with the backend set up by edit first.
func startProxyWith(t *testing.T, m mode, edit func(*config.Backend), tm config.Timeouts, servers ...string) (string, *Handler) {
	t.Helper()
	b := &config.Backend{Name: "be", Retries: 1, Timeouts: tm}
	for i, a := range servers {
		b.Servers = append(b.Servers, &config.Server{Name: "s" + string(rune('1'+i)), Addr: netip.MustParseAddrPort(a), Weight: 1})
	}
	edit(b)
	fe := &config.Frontend{Name: "fe", Timeouts: tm, DefaultBackend: b}
	h := NewHandler(&Route{Frontend: fe, Pool: backend.New(b, backend.NewStates())}, slog.New(slog.DiscardHandler))
	return listen(t, h, m, "127.0.0.1:0"), h
}

// listen serves h in mode m on a new listener at addr (loopback, port 0) until the
// test ends, and returns the address it listens on.
func listen(t *testing.T, h *Handler, m mode, addr string) string {
	t.Helper()
	h.Reactor = m.rx
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close(); h.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			serveOne(h, m, c)
		}
	}()
	return ln.Addr().String()
}

// serve runs fn for each connection accepted on a loopback listener.
func serve(t *testing.T, fn func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); fn(c) }()
		}
	}()
	return ln.Addr().String()
}

// TestHalfCloseRequestThenResponse: the client sends its request and shuts its write side;
// the server reads to EOF, then answers; the answer must still reach the client.
func TestHalfCloseRequestThenResponse(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srv := serve(t, func(c net.Conn) {
			req, _ := io.ReadAll(c) // until the proxy forwards the client's FIN
			c.Write(append([]byte("got:"), req...))
		})
		addr, _ := startProxy(t, m, config.Timeouts{Client: 5 * time.Second, Server: 5 * time.Second}, srv)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("hello"))
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "got:hello" {
			t.Fatalf("got %q, want %q", got, "got:hello")
		}
	})
}

// TestLargeTransferIntact pushes 64 MiB each way (long enough for the goroutine path to
// switch to splice) and compares checksums.
func TestLargeTransferIntact(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		const size = 64 << 20
		before := spliced.Load()
		srv := serve(t, func(c net.Conn) {
			h := sha256.New()
			io.Copy(h, c)
			// answer with the digest of what arrived, then a deterministic download
			c.Write(h.Sum(nil))
			io.Copy(c, io.LimitReader(pattern{}, size))
		})
		addr, _ := startProxy(t, m, config.Timeouts{Client: 10 * time.Second, Server: 10 * time.Second}, srv)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		want := sha256.New()
		go func() {
			io.Copy(io.MultiWriter(c, want), io.LimitReader(pattern{}, size))
			c.(*net.TCPConn).CloseWrite()
		}()
		c.SetReadDeadline(time.Now().Add(60 * time.Second))
		digest := make([]byte, sha256.Size)
		if _, err := io.ReadFull(c, digest); err != nil {
			t.Fatalf("reading upload digest: %v", err)
		}
		if !bytes.Equal(digest, want.Sum(nil)) {
			t.Fatal("upload corrupted: server saw a different digest")
		}
		down := sha256.New()
		n, err := io.Copy(down, c)
		if err != nil || n != size {
			t.Fatalf("download: %d bytes, err %v; want %d", n, err, size)
		}
		exp := sha256.New()
		io.Copy(exp, io.LimitReader(pattern{}, size))
		if !bytes.Equal(down.Sum(nil), exp.Sum(nil)) {
			t.Fatal("download corrupted")
		}
		if m.rx == nil && spliced.Load() == before {
			t.Fatal("a 64 MiB transfer never switched to splice")
		}
	})
}

type pattern struct{}

func (pattern) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i*7 + i>>8)
	}
	return len(p), nil
}

// TestIdleTimeoutCloses: with timeout client/server 200ms, a silent session is closed.
func TestIdleTimeoutCloses(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srv := serve(t, func(c net.Conn) { io.Copy(io.Discard, c) })
		addr, h := startProxy(t, m, config.Timeouts{Client: 200 * time.Millisecond, Server: 200 * time.Millisecond}, srv)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("read: %v, want EOF from the proxy closing", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("closed after %v, want about 200ms", d)
		}
		for i := 0; i < 100 && h.Active() != 0; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		if h.Active() != 0 {
			t.Fatalf("%d sessions still tracked", h.Active())
		}
	})
}

// TestOneWayTransferOutlivesIdleTimeout: a download that keeps flowing for longer than
// timeout client must not be cut because the client sends nothing.
func TestOneWayTransferOutlivesIdleTimeout(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srv := serve(t, func(c net.Conn) {
			for i := 0; i < 10; i++ { // 10 × 60ms = 600ms of trickle, timeout is 200ms
				if _, err := c.Write([]byte("tick")); err != nil {
					return
				}
				time.Sleep(60 * time.Millisecond)
			}
		})
		addr, _ := startProxy(t, m, config.Timeouts{Client: 200 * time.Millisecond, Server: 200 * time.Millisecond}, srv)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, _ := io.ReadAll(c)
		if len(got) != 40 {
			t.Fatalf("got %d bytes, want 40", len(got))
		}
	})
}

// TestNoServerClosesClient: nothing listens at the server address; the client is closed.
func TestNoServerClosesClient(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		ln, _ := net.Listen("tcp4", "127.0.0.1:0")
		dead := ln.Addr().String()
		ln.Close()
		addr, _ := startProxy(t, m, config.Timeouts{Connect: time.Second}, dead)
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("read: %v, want EOF", err)
		}
	})
}
