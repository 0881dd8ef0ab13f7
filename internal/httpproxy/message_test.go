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

	"tandem/internal/config"
)

// cannedServer answers every request head with resp, then waits for the next one.
func cannedServer(t *testing.T, resp string) string {
	addr, _ := rawServer(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			if _, err := io.WriteString(c, resp); err != nil {
				return
			}
		}
	})
	return addr
}

// readHead reads one response head (through the empty line) from br.
func readHead(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var sb strings.Builder
	for i := 0; i < 100; i++ {
		l, err := br.ReadString('\n')
		sb.WriteString(l)
		if err != nil {
			t.Fatalf("head %q: %v", sb.String(), err)
		}
		if l == "\r\n" {
			return sb.String()
		}
	}
	t.Fatalf("head too long: %q", sb.String())
	return ""
}

// TestNoContentFramingStripped: a 204 carrying Transfer-Encoding or Content-Length
// (with or without a body) is forwarded without them, as HAProxy does: a client would
// otherwise wait for a body that a 204 cannot have. A 304's Content-Length describes the
// representation and is kept (HAProxy keeps it too). The connection goes on.
func TestNoContentFramingStripped(t *testing.T) {
	for _, tc := range []struct {
		name, resp, want string
	}{
		{"204 chunked", "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 204 No Content\r\n\r\n"},
		{"204 content-length and body", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello", "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"},
		{"204 content-length 0", "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 204 No Content\r\n\r\n"},
		{"204 repeated content-length", "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 204 No Content\r\n\r\n"},
		{"304 content-length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nETag: x\r\n\r\n", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nETag: x\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, newBackend(cannedServer(t, tc.resp)), nil)
			c, br := dialProxy(t, f)
			for i := 0; i < 2; i++ { // the connection stays usable
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
				if got := readHead(t, br); got != tc.want {
					t.Fatalf("request %d: forwarded %q, want %q", i, got, tc.want)
				}
			}
		})
	}
}

// recordingServer answers every request head with a 200 and sends the heads it read
// (through the empty line; bodies are not expected) to the returned channel.
func recordingServer(t *testing.T) (string, chan string) {
	heads := make(chan string, 16)
	addr, _ := rawServer(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		for {
			var sb strings.Builder
			for {
				l, err := br.ReadString('\n')
				sb.WriteString(l)
				if err != nil {
					return
				}
				if l == "\r\n" {
					break
				}
			}
			heads <- sb.String()
			if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
				return
			}
		}
	})
	return addr, heads
}

// TestAcceptInvalidHTTPRequest: with option accept-invalid-http-request, what HAProxy
// 2.6 then lets through is forwarded as HAProxy forwards it (checked with Debian's
// haproxy): odd header names, bytes above 0x7e and a fragment in the target, another
// protocol's version (read as HTTP/1.0), an HTTP/0.9 request line (sent as HTTP/1.0).
// Without the option each is answered 400.
func TestAcceptInvalidHTTPRequest(t *testing.T) {
	for _, tc := range []struct {
		name, req, fwd, resp string
	}{
		{"header name", "GET / HTTP/1.1\r\nHost: a\r\nX A: 1\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nX A: 1\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"},
		{"target bytes", "GET /caf\xc3\xa9#x HTTP/1.1\r\nHost: a\r\n\r\n", "GET /caf\xc3\xa9#x HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"},
		{"other protocol", "GET / RTSP/1.0\r\nHost: a\r\n\r\n", "GET / RTSP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"},
		{"multi-digit version", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", "GET / HTTP/1.10\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"},
		{"HTTP/0.9", "GET /x\r\n", "GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"},
	} {
		for _, lax := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/lax=%v", tc.name, lax), func(t *testing.T) {
				addr, heads := recordingServer(t)
				f := newFixture(t, newBackend(addr), func(fe *config.Frontend, g *config.Global) { fe.AcceptInvalidRequest = lax })
				c, br := dialProxy(t, f)
				io.WriteString(c, tc.req)
				got := readHead(t, br)
				if !lax {
					if !strings.HasPrefix(got, "HTTP/1.1 400 ") {
						t.Fatalf("without the option: %q, want a 400", got)
					}
					return
				}
				if got != tc.resp {
					t.Fatalf("client got %q, want %q", got, tc.resp)
				}
				select {
				case h := <-heads:
					if h != tc.fwd {
						t.Fatalf("server got %q, want %q", h, tc.fwd)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("nothing forwarded")
				}
			})
		}
	}
}

// TestAcceptInvalidHTTPResponse: with option accept-invalid-http-response (on the
// backend), a response with odd header names or a multi-digit version is forwarded as
// is (read as HTTP/1.0: the client is told keep-alive), as HAProxy does; without it,
// 502. What HAProxy accepts even without the option and tandem refuses (bare LF,
// obs-fold, NUL in a value, a 4-digit status: DIFFERENCES.md) stays 502 with it.
func TestAcceptInvalidHTTPResponse(t *testing.T) {
	for _, tc := range []struct {
		name, resp, want string // want "": 502 even with the option
	}{
		{"header name", "HTTP/1.1 200 OK\r\nX A: a\r\nContent-Length: 2\r\n\r\nok", "HTTP/1.1 200 OK\r\nX A: a\r\nContent-Length: 2\r\n\r\n"},
		{"multi-digit version", "HTTP/1.10 200 OK\r\nContent-Length: 2\r\n\r\nok", "HTTP/1.10 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n"},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", ""},
		{"obs-fold", "HTTP/1.1 200 OK\r\nX-A: a\r\n  b\r\nContent-Length: 2\r\n\r\nok", ""},
		{"NUL in a value", "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok", ""},
		{"4-digit status", "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok", ""},
	} {
		for _, lax := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/lax=%v", tc.name, lax), func(t *testing.T) {
				be := newBackend(cannedServer(t, tc.resp))
				be.AcceptInvalidResponse = lax
				f := newFixture(t, be, nil)
				c, br := dialProxy(t, f)
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
				got := readHead(t, br)
				if !lax || tc.want == "" {
					if !strings.HasPrefix(got, "HTTP/1.1 502 ") {
						t.Fatalf("got %q, want a 502", got)
					}
					return
				}
				if got != tc.want {
					t.Fatalf("client got %q, want %q", got, tc.want)
				}
			})
		}
	}
}

// TestAbsoluteTargetDefaultPortDropped: an absolute-form target goes to the server
// without an empty port or its scheme's default one, as HAProxy forwards it (checked
// with Debian's haproxy); other ports, the Host header and the rest stay as received.
func TestAbsoluteTargetDefaultPortDropped(t *testing.T) {
	for _, tc := range []struct{ target, host, fwd string }{
		{"http://example.com:80/", "example.com", "http://example.com/"},
		{"HTTP://example.com:80/?a=:80", "example.com", "HTTP://example.com/?a=:80"},
		{"https://example.com:443/x", "example.com:443", "https://example.com/x"},
		{"http://u@example.com:80/", "example.com", "http://u@example.com/"},
		{"http://example.com:", "example.com", "http://example.com"},
		{"http://[::1]:80/", "[::1]", "http://[::1]/"},
		{"http://example.com:8080/", "example.com:8080", "http://example.com:8080/"},
		{"http://example.com:080/", "example.com:080", "http://example.com:080/"},
		{"http://example.com:443/", "example.com:443", "http://example.com:443/"},
		{"http://example.com/", "example.com:80", "http://example.com/"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			addr, heads := recordingServer(t)
			f := newFixture(t, newBackend(addr), nil)
			c, br := dialProxy(t, f)
			io.WriteString(c, "GET "+tc.target+" HTTP/1.1\r\nHost: "+tc.host+"\r\n\r\n")
			if got := readHead(t, br); !strings.HasPrefix(got, "HTTP/1.1 200 ") {
				t.Fatalf("client got %q", got)
			}
			want := "GET " + tc.fwd + " HTTP/1.1\r\nHost: " + tc.host + "\r\n\r\n"
			if h := <-heads; h != want {
				t.Fatalf("server got %q, want %q", h, want)
			}
		})
	}
}

// TestHTTP10ResponseToldKeepAlive: an HTTP/1.0 response on a keep-alive client
// connection says "Connection: keep-alive" (else the client, reading a 1.0 response,
// would close), as HAProxy does; the connection then serves the next request.
func TestHTTP10ResponseToldKeepAlive(t *testing.T) {
	f := newFixture(t, newBackend(cannedServer(t, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")), nil)
	c, br := dialProxy(t, f)
	for i := 0; i < 2; i++ {
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		if got, want := readHead(t, br), "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n"; got != want {
			t.Fatalf("request %d: client got %q, want %q", i, got, want)
		}
		if b := make([]byte, 2); func() bool { _, err := io.ReadFull(br, b); return err != nil || string(b) != "ok" }() {
			t.Fatalf("request %d: body lost", i)
		}
	}
}
