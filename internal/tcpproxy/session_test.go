package tcpproxy

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"tandem/internal/config"
)

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitActive waits (bounded) until h tracks n sessions.
func waitActive(t *testing.T, h *Handler, n int) {
	t.Helper()
	for i := 0; i < 500 && h.Active() != n; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if got := h.Active(); got != n {
		t.Fatalf("%d sessions tracked, want %d", got, n)
	}
}

// echo answers every byte it reads.
func echo(c net.Conn) { io.Copy(c, c) }

// TestManySessionsPingPong: 20 sessions each make 200 round trips of small messages at
// once; every answer comes back whole and in order.
func TestManySessionsPingPong(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		addr, h := startProxy(t, m, config.Timeouts{Client: 5 * time.Second, Server: 5 * time.Second}, serve(t, echo))
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.Dial("tcp", addr)
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				got := make([]byte, 64)
				for j := range 200 {
					msg := fmt.Appendf(nil, "session %d message %d", i, j)
					if _, err := c.Write(msg); err != nil {
						errs <- err
						return
					}
					if _, err := io.ReadFull(c, got[:len(msg)]); err != nil {
						errs <- fmt.Errorf("session %d message %d: %w", i, j, err)
						return
					}
					if !bytes.Equal(got[:len(msg)], msg) {
						errs <- fmt.Errorf("session %d: got %q, want %q", i, got[:len(msg)], msg)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		waitActive(t, h, 0)
	})
}

// TestFinTimeoutAfterHalfClose: the client half-closes and the server neither answers
// nor closes; timeout server-fin (200ms) ends the session long before timeout server.
func TestFinTimeoutAfterHalfClose(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		srv := serve(t, func(c net.Conn) {
			io.Copy(io.Discard, c)       // until the client's FIN arrives through the proxy
			time.Sleep(10 * time.Second) // then silence, without closing
		})
		tm := config.Timeouts{Client: 10 * time.Second, Server: 10 * time.Second, ServerFin: 200 * time.Millisecond}
		addr, h := startProxy(t, m, tm, srv)
		c := dial(t, addr)
		c.Write([]byte("bye"))
		c.(*net.TCPConn).CloseWrite()
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("read: %v, want EOF once timeout server-fin passed", err)
		}
		if d := time.Since(start); d < 150*time.Millisecond || d > 3*time.Second {
			t.Fatalf("closed after %v, want about 200ms", d)
		}
		waitActive(t, h, 0)
	})
}

// TestCloseEndsEstablishedSessions: Handler.Close (a stop past its grace) ends idle
// sessions: clients see the close, and no session stays tracked.
func TestCloseEndsEstablishedSessions(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		addr, h := startProxy(t, m, config.Timeouts{Client: 10 * time.Second, Server: 10 * time.Second}, serve(t, echo))
		var cs []net.Conn
		for range 5 {
			c := dial(t, addr)
			c.Write([]byte("x"))
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
				t.Fatal(err)
			}
			cs = append(cs, c)
		}
		waitActive(t, h, 5)
		h.Close()
		for i, c := range cs {
			if _, err := c.Read(make([]byte, 1)); err == nil {
				t.Fatalf("session %d still open after Close", i)
			}
		}
		waitActive(t, h, 0)
	})
}

// TestShutdownServerEndsOnlyItsSessions: shutdown-sessions for one server closes the
// sessions on it and leaves the others.
func TestShutdownServerEndsOnlyItsSessions(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		s1, s2 := serve(t, echo), serve(t, echo)
		addr, h := startProxy(t, m, config.Timeouts{Client: 10 * time.Second, Server: 10 * time.Second}, s1, s2)
		var cs []net.Conn
		for range 4 { // round robin: two on each server
			c := dial(t, addr)
			c.Write([]byte("x"))
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
				t.Fatal(err)
			}
			cs = append(cs, c)
		}
		if n := h.ShutdownServer(s1); n != 2 {
			t.Fatalf("ShutdownServer closed %d sessions, want 2", n)
		}
		waitActive(t, h, 2)
		open := 0
		for _, c := range cs {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write([]byte("y")); err != nil {
				continue
			}
			if _, err := io.ReadFull(c, make([]byte, 1)); err == nil {
				open++
			}
		}
		if open != 2 {
			t.Fatalf("%d sessions still answer, want the 2 on the other server", open)
		}
	})
}

// TestReactorSessionsHoldNoGoroutine: with a reactor, established sessions hold no
// goroutine (on goroutines, each holds two).
func TestReactorSessionsHoldNoGoroutine(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		addr, h := startProxy(t, m, config.Timeouts{Client: 10 * time.Second, Server: 10 * time.Second}, serve(t, echo))
		// The echo server holds one goroutine per connection in either mode.
		before := runtime.NumGoroutine()
		const n = 50
		for range n {
			c := dial(t, addr)
			c.Write([]byte("x"))
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
				t.Fatal(err)
			}
		}
		waitActive(t, h, n)
		var added int
		for range 100 { // connect goroutines finish just after the session starts
			if added = runtime.NumGoroutine() - before - n; m.rx == nil || added <= 5 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		switch {
		case m.rx != nil && added > 5:
			t.Fatalf("%d sessions added %d goroutines besides the echo server's, want none", n, added)
		case m.rx == nil && added < n: // two each, the second may still be starting
			t.Fatalf("goroutine mode: %d sessions added %d goroutines, want about 2 each (is the count wrong?)", n, added)
		}
	})
}

// TestRetryRedispatchesToLiveServer: with retries 2 and option redispatch, sessions
// whose first server refuses the connection end up on the live one; without redispatch,
// a session on the dead server is closed after its retries.
func TestRetryRedispatchesToLiveServer(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		ln, _ := net.Listen("tcp4", "127.0.0.1:0")
		dead := ln.Addr().String()
		ln.Close()
		live := serve(t, echo)
		for _, redispatch := range []bool{true, false} {
			addr, h := startProxyWith(t, m, func(b *config.Backend) { b.Retries, b.Redispatch = 2, redispatch },
				config.Timeouts{Connect: time.Second, Client: 5 * time.Second, Server: 5 * time.Second}, dead, live)
			answered := 0
			for i := range 4 { // round robin: every other session starts on the dead server
				c := dial(t, addr)
				c.SetDeadline(time.Now().Add(5 * time.Second))
				c.Write([]byte("hi"))
				_, err := io.ReadFull(c, make([]byte, 2))
				c.Close()
				if err == nil {
					answered++
				} else if redispatch {
					t.Fatalf("redispatch: session %d: %v", i, err)
				}
			}
			want := 4
			if !redispatch {
				want = 2
			}
			if answered != want {
				t.Fatalf("redispatch %v: %d of 4 sessions answered, want %d", redispatch, answered, want)
			}
			s1 := h.route.Load().Pool.Servers[0]
			if s1.ConnErr.Load() == 0 {
				t.Fatalf("redispatch %v: no connection error counted on the dead server", redispatch)
			}
			waitActive(t, h, 0)
		}
	})
}
