package httpproxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/testaddr"
)

func nameServer(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "Hello from "+name) }
}

func TestRoundRobinAlternates(t *testing.T) {
	a1, _ := httpServer(t, nameServer("web1"))
	a2, _ := httpServer(t, nameServer("web2"))
	f := newFixture(t, newBackend(a1, a2), nil)
	c := f.client()
	var got []string
	for i := 0; i < 10; i++ {
		_, body := mustGet(t, c, f.url("/"))
		got = append(got, body)
	}
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("responses do not alternate: %q", got)
		}
	}
	if s := f.pool.Servers[0].Responses[1].Load() + f.pool.Servers[1].Responses[1].Load(); s != 10 {
		t.Fatalf("2xx counters sum to %d, want 10", s)
	}
}

func TestKeepAliveReusesServerConnections(t *testing.T) {
	a1, cnt := httpServer(t, nameServer("web1"))
	f := newFixture(t, newBackend(a1), nil)
	c := f.client()
	for i := 0; i < 50; i++ {
		mustGet(t, c, f.url("/"))
	}
	if n := cnt.n.Load(); n != 1 {
		t.Fatalf("server accepted %d connections for 50 keep-alive requests, want 1", n)
	}
	// http-reuse safe: a new client connection's first request does not take the idle
	// server connection of another; its later requests may.
	c.CloseIdleConnections()
	f.waitIdle()
	if n := f.h.idle.idleCount(); n != 1 {
		t.Fatalf("%d idle server connections after the client left, want 1", n)
	}
	c2 := f.client()
	for i := 0; i < 5; i++ {
		mustGet(t, c2, f.url("/"))
	}
	if n := cnt.n.Load(); n != 2 {
		t.Fatalf("server accepted %d connections, want 2", n)
	}
}

func TestServerCloseMode(t *testing.T) {
	a1, cnt := httpServer(t, nameServer("web1"))
	be := newBackend(a1)
	be.ConnMode = config.HTTPServerClose
	f := newFixture(t, be, nil)
	c := f.client()
	for i := 0; i < 5; i++ {
		mustGet(t, c, f.url("/"))
	}
	if n := cnt.n.Load(); n != 5 {
		t.Fatalf("server-close: server accepted %d connections, want 5", n)
	}
}

func TestHTTPCloseMode(t *testing.T) {
	a1, _ := httpServer(t, nameServer("web1"))
	f := newFixture(t, newBackend(a1), func(fe *config.Frontend, _ *config.Global) { fe.ConnMode = config.HTTPClose })
	resp, _, err := f.rawExchange("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Close {
		t.Fatal("httpclose: response without Connection: close")
	}
}

func echoHeaders(w http.ResponseWriter, r *http.Request) {
	var sb strings.Builder
	r.Header.Write(&sb)
	if len(r.TransferEncoding) > 0 {
		fmt.Fprintf(&sb, "TE-Seen: %s\r\n", strings.Join(r.TransferEncoding, ","))
	}
	io.WriteString(w, sb.String())
}

func TestForwardFor(t *testing.T) {
	a1, _ := httpServer(t, echoHeaders)
	be := newBackend(a1)
	be.ForwardFor = &config.ForwardFor{}
	f := newFixture(t, be, nil)
	_, body := mustGet(t, f.client(), f.url("/"), "X-Forwarded-For", "10.0.0.1")
	if !hasLine(body, "X-Forwarded-For: 10.0.0.1") || !hasLine(body, "X-Forwarded-For: 127.0.0.1") {
		t.Fatalf("XFF not appended as a new line:\n%s", body)
	}
	be2 := newBackend(a1)
	be2.ForwardFor = &config.ForwardFor{Except: netip.MustParsePrefix("127.0.0.0/8"), Header: "X-Client"}
	f2 := newFixture(t, be2, nil)
	_, body = mustGet(t, f2.client(), f2.url("/"))
	if strings.Contains(body, "X-Client") {
		t.Fatalf("forwardfor except 127.0.0.0/8 still added the header:\n%s", body)
	}
	be3 := newBackend(a1)
	be3.ForwardFor = &config.ForwardFor{Header: "X-Client"}
	f3 := newFixture(t, be3, nil)
	_, body = mustGet(t, f3.client(), f3.url("/"))
	if !hasLine(body, "X-Client: 127.0.0.1") {
		t.Fatalf("header name not honoured:\n%s", body)
	}
	// if-none: a request that has the header keeps it alone; one without gets it.
	be4 := newBackend(a1)
	be4.ForwardFor = &config.ForwardFor{IfNone: true}
	f4 := newFixture(t, be4, nil)
	_, body = mustGet(t, f4.client(), f4.url("/"), "X-Forwarded-For", "10.0.0.1")
	if !hasLine(body, "X-Forwarded-For: 10.0.0.1") || hasLine(body, "X-Forwarded-For: 127.0.0.1") {
		t.Fatalf("forwardfor if-none added a second header:\n%s", body)
	}
	_, body = mustGet(t, f4.client(), f4.url("/"))
	if !hasLine(body, "X-Forwarded-For: 127.0.0.1") {
		t.Fatalf("forwardfor if-none did not add the header to a request without one:\n%s", body)
	}
}

func TestHopByHopStripped(t *testing.T) {
	a1, _ := httpServer(t, echoHeaders)
	f := newFixture(t, newBackend(a1), nil)
	_, body, err := f.rawExchange("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: gzip\r\nUpgrade: h2c\r\nX-Keep: yes\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"X-Secret", "Keep-Alive", "Proxy-Connection", "Te", "Upgrade"} {
		if strings.Contains(body, h+":") {
			t.Errorf("%s reached the server:\n%s", h, body)
		}
	}
	if !hasLine(body, "X-Keep: yes") {
		t.Errorf("end-to-end header lost:\n%s", body)
	}
	_, body, err = f.rawExchange("GET / HTTP/1.1\r\nHost: a\r\nTE: trailers\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if !hasLine(body, "Te: trailers") {
		t.Errorf("TE: trailers dropped:\n%s", body)
	}
}

func TestResponseHopByHopStripped(t *testing.T) {
	addr, _ := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: X-Internal\r\nX-Internal: 1\r\nKeep-Alive: timeout=1\r\n\r\nok")
	})
	f := newFixture(t, newBackend(addr), nil)
	resp, body, err := f.rawExchange("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("X-Internal") != "" || resp.Header.Get("Keep-Alive") != "" || body != "ok" {
		t.Fatalf("response hop-by-hop headers crossed: %v %q", resp.Header, body)
	}
}

func TestChunkedBothWays(t *testing.T) {
	a1, _ := httpServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fl := w.(http.Flusher)
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "[%s]", b)
			fl.Flush()
		}
	})
	f := newFixture(t, newBackend(a1), nil)
	c := f.client()
	for i := 0; i < 3; i++ {
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte("hello "))
			pw.Write([]byte("world"))
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", f.url("/"), pr)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
			t.Fatalf("response not chunked: %v", resp.TransferEncoding)
		}
		if string(b) != "[hello world][hello world][hello world]" {
			t.Fatalf("body %q", b)
		}
	}
}

func TestExpectContinue(t *testing.T) {
	a1, _ := httpServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, "got "+string(b))
	})
	f := newFixture(t, newBackend(a1), nil)
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("first line %q, %v; want a 100 Continue before the body", line, err)
	}
	if l, _ := br.ReadString('\n'); l != "\r\n" {
		t.Fatalf("100 Continue head not terminated: %q", l)
	}
	io.WriteString(c, "hello")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "got hello" {
		t.Fatalf("body %q", b)
	}
	// the connection stays usable
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("next request: %v %v", resp, err)
	}
}

func TestWebSocketTunnel(t *testing.T) {
	addr, _ := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil || req.Header.Get("Upgrade") != "websocket" || !strings.EqualFold(req.Header.Get("Connection"), "upgrade") {
			io.WriteString(c, "HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n\r\n")
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
		buf := make([]byte, 100)
		for {
			n, err := br.Read(buf)
			if n > 0 {
				c.Write([]byte(strings.ToUpper(string(buf[:n]))))
			}
			if err != nil {
				return
			}
		}
	})
	be := newBackend(addr)
	be.Timeouts.Tunnel = 5 * time.Second
	f := newFixture(t, be, nil)
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	// a whole handshake: without its keys HAProxy refuses it (TestWebsocketKeys)
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 || resp.Header.Get("Upgrade") != "websocket" {
		t.Fatalf("upgrade response %v %v", resp, err)
	}
	for _, msg := range []string{"ping", "frame two"} {
		io.WriteString(c, msg)
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(br, buf); err != nil || string(buf) != strings.ToUpper(msg) {
			t.Fatalf("tunnel echo %q %v", buf, err)
		}
	}
}

func TestNoBodyResponses(t *testing.T) {
	a1, _ := httpServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(204)
		case "/304":
			w.Header().Set("Etag", "x")
			w.WriteHeader(304)
		default:
			w.Header().Set("Content-Length", "1000")
			if r.Method != "HEAD" {
				w.Write(make([]byte, 1000))
			}
		}
	})
	f := newFixture(t, newBackend(a1), nil)
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for _, tc := range []struct {
		method, path string
		status, n    int
	}{{"HEAD", "/", 200, 0}, {"GET", "/204", 204, 0}, {"GET", "/304", 304, 0}, {"GET", "/", 200, 1000}, {"HEAD", "/", 200, 0}, {"GET", "/", 200, 1000}} {
		fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: a\r\n\r\n", tc.method, tc.path)
		req, _ := http.NewRequest(tc.method, "/", nil)
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tc.status || len(b) != tc.n {
			t.Fatalf("%s %s: status %d body %d", tc.method, tc.path, resp.StatusCode, len(b))
		}
	}
}

func TestErrors(t *testing.T) {
	closeAddr, _ := rawServer(t, func(c net.Conn) {
		bufio.NewReader(c).ReadString('\n')
	})
	garbageAddr, _ := rawServer(t, func(c net.Conn) {
		bufio.NewReader(c).ReadString('\n')
		io.WriteString(c, "NOT HTTP\r\n\r\n")
	})
	stall := make(chan struct{})
	slowAddr, _ := rawServer(t, func(c net.Conn) {
		select {
		case <-stall:
		case <-time.After(5 * time.Second):
		}
	})
	t.Cleanup(func() { close(stall) }) // runs before rawServer's cleanup waits
	refused := testaddr.Dead(t)

	// HAProxy 2.6 answers these byte for byte like this and keeps the connection open.
	want := map[int]string{
		502: "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n",
		503: "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n",
		504: "HTTP/1.1 504 Gateway Time-out\r\ncontent-length: 92\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n",
	}
	check := func(name string, be *config.Backend, code int) *fixture {
		t.Helper()
		f := newFixture(t, be, nil)
		c, err := net.Dial("tcp", f.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		for i := 0; i < 2; i++ { // the connection stays usable after the error
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			buf := make([]byte, len(want[code]))
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != want[code] {
				t.Fatalf("%s, request %d: got %q, %v; want %q", name, i, buf, err, want[code])
			}
		}
		// with Connection: close, the page says so
		resp, _, err := f.rawExchange("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
		if err != nil || resp.StatusCode != code || !resp.Close {
			t.Fatalf("%s with close: %v %v", name, resp, err)
		}
		return f
	}
	check("empty response", newBackend(closeAddr), 502)
	check("garbage response", newBackend(garbageAddr), 502)
	be := newBackend(slowAddr)
	be.Timeouts.Server = 200 * time.Millisecond
	check("server timeout", be, 504)
	be = newBackend(refused)
	be.Retries = 2
	f := check("connect refused", be, 503)
	if s := f.pool.Servers[0]; s.ConnErr.Load() != 9 || s.Retries.Load() != 6 {
		t.Fatalf("connect errors %d retries %d, want 9 and 6 (3 requests, retries 2)", s.ConnErr.Load(), s.Retries.Load())
	}
	be = newBackend(closeAddr)
	be.Servers[0].Disabled = true
	check("no server", be, 503)
}

func TestRequestErrorPages(t *testing.T) {
	a1, _ := httpServer(t, nameServer("web1"))
	f := newFixture(t, newBackend(a1), func(fe *config.Frontend, _ *config.Global) {
		fe.Timeouts.HTTPRequest = 100 * time.Millisecond
	})
	for _, tc := range []struct{ raw, want string }{
		{"GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n", "HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n"},
		{"GET / HTTP/1.1\r\n", "HTTP/1.1 408 Request Time-out\r\nContent-length: 110\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>408 Request Time-out</h1>\nYour browser didn't send a complete request in time.\n</body></html>\n"},
	} {
		c, err := net.Dial("tcp", f.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, tc.raw)
		got, _ := io.ReadAll(c) // then the connection closes
		c.Close()
		if string(got) != tc.want {
			t.Errorf("got %q\nwant %q", got, tc.want)
		}
	}
}

func TestRedispatch(t *testing.T) {
	refused := testaddr.Dead(t)
	a2, _ := httpServer(t, nameServer("web2"))
	be := newBackend(refused, a2)
	be.Retries = 1
	be.Redispatch = true
	f := newFixture(t, be, nil)
	for i := 0; i < 4; i++ {
		resp, body, err := f.rawExchange("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		if err != nil || resp.StatusCode != 200 || body != "Hello from web2" {
			t.Fatalf("request %d: %v %v %q", i, resp, err, body)
		}
	}
	if f.pool.Servers[0].Redisp.Load() == 0 {
		t.Fatal("no redispatch counted")
	}
}

func TestErrorFile(t *testing.T) {
	be := newBackend("127.0.0.1:1")
	be.Servers[0].Disabled = true
	custom := "HTTP/1.1 503 Busy\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy"
	be.ErrorFiles = map[int][]byte{503: []byte(custom)}
	f := newFixture(t, be, nil)
	resp, body, err := f.rawExchange("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if err != nil || resp.StatusCode != 503 || body != "busy" {
		t.Fatalf("%v %v %q", resp, err, body)
	}
}

func TestRequestTimeout(t *testing.T) {
	a1, _ := httpServer(t, nameServer("web1"))
	f := newFixture(t, newBackend(a1), func(fe *config.Frontend, _ *config.Global) {
		fe.Timeouts.HTTPRequest = 150 * time.Millisecond
		fe.Timeouts.HTTPKeepAlive = 150 * time.Millisecond
	})
	// a partial head: 408
	resp, _, err := f.rawExchange("GET / HTTP/1.1\r\nHost: a\r\n")
	if err != nil || resp.StatusCode != 408 {
		t.Fatalf("partial head: %v %v, want 408", resp, err)
	}
	// an idle keep-alive connection closes silently
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatal(resp, err)
	}
	io.ReadAll(resp.Body)
	rest, err := io.ReadAll(br)
	if err != nil || len(rest) != 0 {
		t.Fatalf("idle keep-alive close: got %q %v, want a silent close", rest, err)
	}
}

func TestHeadTooLarge(t *testing.T) {
	a1, _ := httpServer(t, nameServer("web1"))
	f := newFixture(t, newBackend(a1), nil)
	big := "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("a", config.DefaultBufSize) + "\r\n\r\n"
	resp, _, err := f.rawExchange(big)
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("%v %v, want 400", resp, err)
	}
}

func TestDrainClosesIdleAndBusy(t *testing.T) {
	release, arrived := make(chan struct{}), make(chan struct{})
	a1, _ := httpServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(arrived)
			<-release
		}
		io.WriteString(w, "ok")
	})
	f := newFixture(t, newBackend(a1), nil)
	idle, _ := net.Dial("tcp", f.addr)
	defer idle.Close()
	idle.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	ibr := bufio.NewReader(idle)
	if resp, err := http.ReadResponse(ibr, nil); err != nil {
		t.Fatal(err)
	} else {
		io.ReadAll(resp.Body)
	}
	busy, _ := net.Dial("tcp", f.addr)
	defer busy.Close()
	busy.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("slow request never reached the server")
	}
	f.h.Drain()
	if rest, _ := io.ReadAll(ibr); len(rest) != 0 {
		t.Fatalf("idle connection got %q", rest)
	}
	close(release)
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil || !resp.Close {
		t.Fatalf("busy connection: %v %v, want a response with Connection: close", resp, err)
	}
	f.waitIdle()
}

func TestSwapRoute(t *testing.T) {
	a1, _ := httpServer(t, nameServer("web1"))
	a2, _ := httpServer(t, nameServer("web2"))
	f := newFixture(t, newBackend(a1), nil)
	c := f.client()
	if _, b := mustGet(t, c, f.url("/")); b != "Hello from web1" {
		t.Fatal(b)
	}
	be2 := newBackend(a2)
	be2.Name = "other"
	p2 := backend.New(be2, f.states)
	fe2 := *f.fe
	fe2.DefaultBackend = be2
	f.h.Swap(&Route{Frontend: &fe2, Backends: map[string]*backend.Pool{"other": p2}})
	if _, b := mustGet(t, c, f.url("/")); b != "Hello from web2" {
		t.Fatalf("after swap, same connection got %q", b)
	}
}

// TestDrainServesFirstRequestOfNewConnection: a connection accepted just before a drain
// (the old worker's last accept while a new worker takes over) that has not sent its
// request yet is served once, with Connection: close, rather than closed unanswered.
func TestDrainServesFirstRequestOfNewConnection(t *testing.T) {
	a1, _ := httpServer(t, nameServer("web1"))
	f := newFixture(t, newBackend(a1), nil)
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; f.h.Active() == 0; i++ {
		if i == 1000 {
			t.Fatal("the proxy never took the connection")
		}
		time.Sleep(2 * time.Millisecond)
	}
	f.h.Drain()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("new connection during a drain: %v, want its request served", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "Hello from web1" || !resp.Close {
		t.Fatalf("got %d %q close=%v, want 200 from web1 with Connection: close", resp.StatusCode, b, resp.Close)
	}
	f.waitIdle()
}
