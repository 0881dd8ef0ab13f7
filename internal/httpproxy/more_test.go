package httpproxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func dialProxy(t *testing.T, f *fixture) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return c, bufio.NewReader(c)
}

func TestCLWithTEForwardedChunkedThenClosed(t *testing.T) {
	a1, _ := httpServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "cl=%q te=%v body=%s", r.Header.Get("Content-Length"), r.TransferEncoding, b)
	})
	f := newFixture(t, newBackend(a1), nil)
	resp, body, err := f.rawExchange("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if body != `cl="" te=[chunked] body=hello` || !resp.Close {
		t.Fatalf("body %q close %v: want chunked without CL, then close", body, resp.Close)
	}
}

func TestPipelinedRequests(t *testing.T) {
	a1, _ := httpServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s:%s", r.URL.Path, b)
	})
	f := newFixture(t, newBackend(a1), nil)
	c, br := dialProxy(t, f)
	io.WriteString(c, "POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /2 HTTP/1.1\r\nHost: a\r\n\r\nPOST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n")
	for _, want := range []string{"/1:abc", "/2:", "/3:xy"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != want {
			t.Fatalf("got %q, want %q", b, want)
		}
	}
}

func TestHTTP10KeepAlive(t *testing.T) {
	a1, _ := httpServer(t, nameServer("web1"))
	f := newFixture(t, newBackend(a1), nil)
	c, br := dialProxy(t, f)
	for i := 0; i < 3; i++ {
		io.WriteString(c, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		if resp.Close || !strings.EqualFold(resp.Header.Get("Connection"), "keep-alive") {
			t.Fatalf("HTTP/1.0 keep-alive answered close=%v Connection=%q", resp.Close, resp.Header.Get("Connection"))
		}
	}
	io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || !resp.Close {
		t.Fatalf("HTTP/1.0 without keep-alive: %v %v", resp, err)
	}
}

func TestTooManyHeadersEndToEnd(t *testing.T) {
	a1, cnt := httpServer(t, nameServer("web1"))
	f := newFixture(t, newBackend(a1), nil)
	var sb strings.Builder
	sb.WriteString("GET / HTTP/1.1\r\nHost: a\r\n")
	for i := 0; i < 101; i++ {
		fmt.Fprintf(&sb, "X-%d: 1\r\n", i)
	}
	sb.WriteString("\r\n")
	resp, _, err := f.rawExchange(sb.String())
	if err != nil || resp.StatusCode != 400 || cnt.n.Load() != 0 {
		t.Fatalf("%v %v, server conns %d: want 400 and nothing forwarded", resp, err, cnt.n.Load())
	}
}

func TestBadChunkMidBodyAborts(t *testing.T) {
	got, first := make(chan string, 1), make(chan struct{})
	addr, _ := rawServer(t, func(c net.Conn) {
		var all []byte
		buf := make([]byte, 4096)
		signalled := false
		for {
			n, err := c.Read(buf)
			all = append(all, buf[:n]...)
			if !signalled && strings.Contains(string(all), "hello\r\n") {
				signalled = true
				close(first)
			}
			if err != nil {
				got <- string(all)
				return
			}
		}
	})
	f := newFixture(t, newBackend(addr), nil)
	c, br := dialProxy(t, f)
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
	select { // the head and the first chunk are forwarded
	case <-first:
	case <-time.After(5 * time.Second):
		t.Fatal("first chunk not forwarded")
	}
	io.WriteString(c, "zz\r\nnope\r\n0\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("%v %v, want 400", resp, err)
	}
	select {
	case s := <-got:
		if strings.Contains(s, "nope") {
			t.Fatalf("server received bytes after the bad chunk: %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server connection not closed after the abort")
	}
}

func TestEarlyServerAnswer(t *testing.T) {
	addr, _ := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbig")
		c.(*net.TCPConn).CloseRead()
	})
	f := newFixture(t, newBackend(addr), nil)
	c, br := dialProxy(t, f)
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 50000000\r\n\r\n")
	go func() {
		chunk := make([]byte, 64<<10)
		for i := 0; i < 800; i++ {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 413 {
		t.Fatalf("%v %v, want the server's 413", resp, err)
	}
}

func TestHardClose(t *testing.T) {
	stall := make(chan struct{})
	addr, _ := rawServer(t, func(c net.Conn) {
		select {
		case <-stall:
		case <-time.After(5 * time.Second):
		}
	})
	t.Cleanup(func() { close(stall) })
	f := newFixture(t, newBackend(addr), nil)
	c, br := dialProxy(t, f)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	idle, _ := dialProxy(t, f)
	_ = idle
	for i := 0; i < 500 && f.h.Active() < 2; i++ {
		time.Sleep(time.Millisecond)
	}
	f.h.Close()
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("busy connection still open after Close")
	}
	f.waitIdle()
}

// TestNonSocketConn serves a net.Pipe: the path for connections without a raw socket.
func TestNonSocketConn(t *testing.T) {
	a1, _ := httpServer(t, nameServer("web1"))
	f := newFixture(t, newBackend(a1), nil)
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() {
		f.h.ServeConn(server)
		close(done)
	}()
	client.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(client)
	for i := 0; i < 3; i++ {
		go io.WriteString(client, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != "Hello from web1" {
			t.Fatalf("%q", b)
		}
	}
	client.Close()
	<-done
}

// TestExpectFinalAnswerWithoutContinue: a final answer to Expect: 100-continue from a
// server that keeps its connection but never reads the body: as HAProxy 2.6 (checked with
// Debian's haproxy), the answer keeps the client connection, the body the client sends
// anyway goes on to the server, and once the server has taken nothing for timeout
// server the connection closes (logged sD: TestFinalAnswerBeforeBodyLog).
func TestExpectFinalAnswerWithoutContinue(t *testing.T) {
	hold := make(chan struct{})
	addr, _ := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n")
		select { // keep the connection open without reading the body
		case <-hold:
		case <-time.After(10 * time.Second):
		}
	})
	t.Cleanup(func() { close(hold) })
	be := newBackend(addr)
	be.Timeouts.Server = time.Second
	f := newFixture(t, be, nil)
	c, br := dialProxy(t, f)
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 100000000\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 417 || resp.Close {
		t.Fatalf("%v %v, want 417 with the client connection kept", resp, err)
	}
	go func() { // a client that sends the body anyway
		chunk := make([]byte, 64<<10)
		for i := 0; i < 1500; i++ {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	io.Copy(io.Discard, br)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("connection closed after %v: want it at timeout server (1s) once the server stopped reading", d)
	}
	f.waitIdle()
}

// TestStaleConnectionNotUsedForStreamedBody: a server that closed its idle keep-alive
// connection must not cost a streamed (unreplayable) request a 502.
func TestStaleConnectionNotUsedForStreamedBody(t *testing.T) {
	closed := make(chan struct{}, 4)
	addr, _ := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		n, _ := io.Copy(io.Discard, req.Body)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(fmt.Sprint(n)), fmt.Sprint(n))
		c.Close() // as a server's keep-alive timeout would
		closed <- struct{}{}
	})
	f := newFixture(t, newBackend(addr), nil)
	c, br := dialProxy(t, f)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatal(resp, err)
	}
	io.ReadAll(resp.Body)
	<-closed
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n")
	go c.Write(make([]byte, 100000))
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("streamed request after the server closed the idle connection: %v %v", resp, err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "100000" {
		t.Fatalf("body %q", b)
	}
}
