package httpproxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
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
