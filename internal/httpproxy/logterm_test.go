package httpproxy

import (
	"bufio"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"tandem/internal/config"
)

// readHeadOf reads a request head from c (bounded by the test's deadlines).
func readHeadOf(c net.Conn) string {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	var b strings.Builder
	for {
		l, err := br.ReadString('\n')
		b.WriteString(l)
		if err != nil || l == "\r\n" {
			return b.String()
		}
	}
}

func resetConn(c net.Conn) {
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
}

// TestTerminationStates: the status and termination state logged for a failure are
// those HAProxy 2.6 logs for it (checked side by side with Debian's haproxy in
// e2e/h1diff_test.go), recorded where the failure is seen (issue 9 §3).
func TestTerminationStates(t *testing.T) {
	const upload = "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 8000000\r\n\r\n"
	readAll := func(c net.Conn) { io.Copy(io.Discard, c) }
	tests := []struct {
		name   string
		server func(c net.Conn)
		tweak  func(fe *config.Frontend, be *config.Backend)
		client func(c net.Conn)
		want   string // regexp of the line's end, from the backend/server name
	}{
		{"server FIN mid-body: SD", func(c net.Conn) {
			readHeadOf(c)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
		}, nil, func(c net.Conn) {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			readAll(c)
		}, `app/s1 \S+ 200 \d+ - - SD-- .* "GET / HTTP/1.1"$`},
		{"server RST mid-body: SD", func(c net.Conn) {
			readHeadOf(c)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
			time.Sleep(20 * time.Millisecond)
			resetConn(c)
		}, nil, func(c net.Conn) {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			readAll(c)
		}, `app/s1 \S+ 200 \d+ - - SD-- `},
		{"bad chunk mid-body: SD", func(c net.Conn) {
			readHeadOf(c)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
			time.Sleep(20 * time.Millisecond)
			io.WriteString(c, "zz\r\n")
			readAll(c)
		}, nil, func(c net.Conn) {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			readAll(c)
		}, `app/s1 \S+ 200 \d+ - - SD-- `},
		{"server stalls mid-body past timeout server: sD", func(c net.Conn) {
			readHeadOf(c)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
			readAll(c)
		}, func(_ *config.Frontend, be *config.Backend) { be.Timeouts.Server = 200 * time.Millisecond }, func(c net.Conn) {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			readAll(c)
		}, `app/s1 \S+ 200 \d+ - - sD-- `},
		{"the server's own 502, connection close: no failure", func(c net.Conn) {
			readHeadOf(c)
			io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad")
		}, nil, func(c net.Conn) {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
			readAll(c)
		}, `app/s1 \S+ 502 \d+ - - ---- `},
		{"garbage response: 502 PH", func(c net.Conn) {
			readHeadOf(c)
			io.WriteString(c, "NOT HTTP\r\n\r\n")
		}, nil, func(c net.Conn) {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
			readAll(c)
		}, `app/s1 \S+ 502 \d+ - - PH-- `},
		{"response chunk size overflow: 502 PH", func(c net.Conn) {
			readHeadOf(c)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nhello\r\n")
		}, nil, func(c net.Conn) {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
			readAll(c)
		}, `app/s1 \S+ 502 [1-9]\d* - - PH-- `},
		{"client aborts mid-upload: CD", func(c net.Conn) {
			readAll(c)
		}, nil, func(c net.Conn) {
			io.WriteString(c, upload+"part")
			time.Sleep(50 * time.Millisecond)
		}, `app/s1 \S+ -1 0 - - CD-- `},
		{"client gone when the response comes: CD", func(c net.Conn) {
			readHeadOf(c)
			time.Sleep(200 * time.Millisecond)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}, nil, func(c net.Conn) {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			time.Sleep(50 * time.Millisecond)
			resetConn(c)
		}, `app/s1 \S+ 200 \d+ - - CD-- `},
		{"client stops reading past timeout client: cD", func(c net.Conn) {
			readHeadOf(c)
			c.SetWriteDeadline(time.Now().Add(3 * time.Second))
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 67108864\r\n\r\n")
			chunk := make([]byte, 1<<20)
			for range 64 {
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
		}, func(fe *config.Frontend, _ *config.Backend) { fe.Timeouts.Client = 300 * time.Millisecond }, func(c net.Conn) {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			time.Sleep(time.Second)
		}, `app/s1 \S+ 200 \d+ - - cD-- `},
		{"tunnel: the server resets: SD", func(c net.Conn) {
			readHeadOf(c)
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n")
			time.Sleep(50 * time.Millisecond)
			resetConn(c)
		}, nil, func(c net.Conn) {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n")
			readAll(c)
		}, `app/s1 \S+ 101 \d+ - - SD-- `},
		{"tunnel: the client is silent past timeout client: cD", func(c net.Conn) {
			readHeadOf(c)
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n")
			readAll(c)
		}, func(fe *config.Frontend, be *config.Backend) {
			fe.Timeouts.Client = 200 * time.Millisecond
		}, func(c net.Conn) {
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n")
			readAll(c)
		}, `app/s1 \S+ 101 \d+ - - cD-- `},
		{"empty line before the request: its real request line", func(c net.Conn) {
			readHeadOf(c)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}, nil, func(c net.Conn) {
			io.WriteString(c, "\r\nGET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
			readAll(c)
		}, `app/s1 \S+ 200 \d+ - - ---- .* "GET /x HTTP/1.1"$`},
		{"bad chunk size in the request: BADREQ", func(c net.Conn) {
			readAll(c)
		}, nil, func(c net.Conn) {
			io.WriteString(c, "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
			readAll(c)
		}, `fe/<NOSRV> -1/-1/-1/-1/\d+ 400 0 - - PR-- .* "<BADREQ>"$`},
		{"bad chunk size later in the request: 400 PH", func(c net.Conn) {
			readAll(c)
		}, nil, func(c net.Conn) {
			io.WriteString(c, "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
			time.Sleep(50 * time.Millisecond)
			io.WriteString(c, "zz\r\nhello\r\n0\r\n\r\n")
			readAll(c)
		}, `app/s1 \S+ 400 \d+ - - PH-- .* "POST /x HTTP/1.1"$`},
		{"server answers 413 and closes during the upload: its status", func(c net.Conn) {
			readHeadOf(c)
			io.WriteString(c, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			time.Sleep(20 * time.Millisecond)
			resetConn(c)
		}, nil, func(c net.Conn) {
			io.WriteString(c, upload)
			c.SetWriteDeadline(time.Now().Add(time.Second))
			io.WriteString(c, strings.Repeat("x", 8000000))
			readAll(c)
		}, `app/s1 \S+ 413 \d+ - - `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, _ := rawServer(t, tt.server)
			be := newBackend(addr)
			be.Retries = 0
			f := newFixture(t, be, func(fe *config.Frontend, _ *config.Global) {
				if tt.tweak != nil {
					tt.tweak(fe, be)
				}
			})
			sink := &lineSink{}
			withLog(t, f, sink, nil)
			c, _ := dialProxy(t, f)
			tt.client(c)
			c.Close()
			want := regexp.MustCompile(tt.want)
			if l := waitLines(t, sink, 1)[0]; !want.MatchString(l) {
				t.Fatalf("%q does not match %s", l, want)
			}
		})
	}
}
