package httpproxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tandem/internal/config"
)

// TestStalledUploadWaitsForServer: while the response is awaited, HAProxy 2.6 does not
// apply timeout client to the request body (checked with Debian's haproxy, issue 9 §2,
// e2e cases client_timeout_upload and body_gap_over_client): a client that stalls its
// upload gets the server's answer, or a 504 at timeout server, which counts from the
// last body bytes sent to the server.
func TestStalledUploadWaitsForServer(t *testing.T) {
	const head = "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n"
	rest := strings.Repeat("x", 96)
	tests := []struct {
		name             string
		client, server   time.Duration // timeout client, timeout server
		parts            []string      // body parts, gap apart
		gap              time.Duration
		answer           bool // the server reads the whole body and answers 200
		status           int
		minTook, maxTook time.Duration // from the first byte sent to the response
	}{
		{"stall past timeout client, silent server: 504 at timeout server", 300 * time.Millisecond, 1200 * time.Millisecond,
			[]string{"part"}, 0, false, 504, 1100 * time.Millisecond, 4 * time.Second},
		{"gap past timeout client, then the rest: served", 300 * time.Millisecond, 3 * time.Second,
			[]string{"part", rest}, 700 * time.Millisecond, true, 200, 650 * time.Millisecond, 3 * time.Second},
		{"timeout server counts from the last body bytes", 5 * time.Second, 800 * time.Millisecond,
			[]string{"part", "more"}, 500 * time.Millisecond, false, 504, 1200 * time.Millisecond, 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, _ := rawServer(t, func(c net.Conn) {
				c.SetDeadline(time.Now().Add(8 * time.Second))
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				if !tt.answer {
					io.Copy(io.Discard, br) // reads, never answers
					return
				}
				b, _ := io.ReadAll(req.Body)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(strconv.Itoa(len(b))))+"\r\n\r\n"+strconv.Itoa(len(b)))
			})
			be := newBackend(addr)
			be.Retries = 0
			be.Timeouts.Server = tt.server
			f := newFixture(t, be, func(fe *config.Frontend, _ *config.Global) { fe.Timeouts.Client = tt.client })
			c, br := dialProxy(t, f)
			c.SetDeadline(time.Now().Add(8 * time.Second))
			start := time.Now()
			io.WriteString(c, head+tt.parts[0])
			go func() {
				for _, p := range tt.parts[1:] {
					time.Sleep(tt.gap) // the stall under test
					if _, err := io.WriteString(c, p); err != nil {
						return
					}
				}
			}()
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no response: %v", err)
			}
			took := time.Since(start)
			if resp.StatusCode != tt.status {
				t.Fatalf("got %d after %v, want %d", resp.StatusCode, took, tt.status)
			}
			if took < tt.minTook || took > tt.maxTook {
				t.Fatalf("%d after %v, want it between %v and %v", resp.StatusCode, took, tt.minTook, tt.maxTook)
			}
			if b, _ := io.ReadAll(resp.Body); tt.answer && string(b) != "100" {
				t.Fatalf("the server read %s body bytes, want 100", b)
			}
		})
	}
}

// expectServer answers a request for /up with the given answer, without reading its
// body, then closes when close is set, else holds the connection without reading for
// 3 s; it answers any other request 200 "next" and
// keeps the connection. It records the request lines it reads.
type expectServer struct {
	mu    sync.Mutex
	lines []string
}

func (s *expectServer) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

func (s *expectServer) serve(answer string, close bool) func(c net.Conn) {
	return func(c net.Conn) {
		c.SetDeadline(time.Now().Add(8 * time.Second))
		br := bufio.NewReader(c)
		for range 10 {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.lines = append(s.lines, req.Method+" "+req.URL.Path)
			s.mu.Unlock()
			if req.URL.Path == "/up" {
				io.WriteString(c, answer)
				if !close {
					time.Sleep(3 * time.Second)
				}
				return
			}
			io.Copy(io.Discard, req.Body)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext")
		}
	}
}

// TestFinalAnswerBeforeBodyKeepsClient: a server that gives its final answer before
// the request body came (417 to Expect: 100-continue, or any early answer) and closes:
// HAProxy 2.6 keeps the client connection (it drops the server's Connection: close) and
// still reads the body the request announced, so that the client's next request is
// served, and so that bytes sent in place of the body are never read as a request
// (smuggling). A body that never comes ends the connection at timeout client.
func TestFinalAnswerBeforeBodyKeepsClient(t *testing.T) {
	const answer = "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	const next = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n"
	tests := []struct {
		name   string
		expect bool
		after  []string // what the client sends once it has the answer, 100 ms apart
		want   string   // the start of what it receives after the answer ("" for nothing)
		lines  []string // request lines the servers read
	}{
		{"expect: the body, then a request", true, []string{"hello", next}, "HTTP/1.1 200 OK\r\n", []string{"POST /up", "GET /next"}},
		{"expect: the body and a request at once", true, []string{"hello" + next}, "HTTP/1.1 200 OK\r\n", []string{"POST /up", "GET /next"}},
		{"expect: a request in place of the body is read as the body", true,
			[]string{"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"}, "HTTP/1.1 400 ", []string{"POST /up"}},
		{"expect: a request in place of a chunked body closes", true,
			[]string{"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"}, "", []string{"POST /up"}},
		{"expect: the body never comes: closed at timeout client", true, nil, "", []string{"POST /up"}},
		{"no expect: the body after the answer, then a request", false, []string{"hello", next}, "HTTP/1.1 200 OK\r\n", []string{"POST /up", "GET /next"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &expectServer{}
			addr, _ := rawServer(t, srv.serve(answer, true))
			be := newBackend(addr)
			be.Retries = 0
			f := newFixture(t, be, func(fe *config.Frontend, _ *config.Global) { fe.Timeouts.Client = 500 * time.Millisecond })
			c, br := dialProxy(t, f)
			c.SetDeadline(time.Now().Add(5 * time.Second))
			framing := "Content-Length: 5\r\n"
			if strings.Contains(tt.name, "chunked") {
				framing = "Transfer-Encoding: chunked\r\n"
			}
			expect := ""
			if tt.expect {
				expect = "Expect: 100-continue\r\n"
			}
			io.WriteString(c, "POST /up HTTP/1.1\r\nHost: a\r\n"+expect+framing+"\r\n")
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if resp.StatusCode != 417 || resp.Close {
				t.Fatalf("got %d, close %v: want the 417 with the client connection kept", resp.StatusCode, resp.Close)
			}
			for i, p := range tt.after {
				if i > 0 {
					time.Sleep(100 * time.Millisecond) // the parts arrive apart
				}
				io.WriteString(c, p)
			}
			start := time.Now()
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			got, err := io.ReadAll(br)
			if tt.want == "" {
				if len(got) != 0 || err != nil {
					t.Fatalf("after the answer: %q %v, want a close and nothing else", got, err)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Fatalf("closed after %v, want it at timeout client", d)
				}
			} else if !strings.HasPrefix(string(got), tt.want) {
				t.Fatalf("after the answer: %q, want %q...", got, tt.want)
			}
			if l := srv.seen(); strings.Join(l, ",") != strings.Join(tt.lines, ",") {
				t.Fatalf("servers read %q, want %q", l, tt.lines)
			}
		})
	}
}

// TestFinalAnswerBeforeBodyLog: the log line of such an exchange is written once the
// body transfer ended, with HAProxy's termination state: the client closing while its
// body is awaited is CD, its silence past timeout client cD, a server that does not
// read the body for timeout server sD, an invalid chunk in place of the body PD (as
// Debian's haproxy logs them).
func TestFinalAnswerBeforeBodyLog(t *testing.T) {
	const req = "POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 100000000\r\n\r\n"
	tests := []struct {
		name   string
		req    string
		close  bool // the server closes after its answer
		client func(c net.Conn, br *bufio.Reader)
		want   string
	}{
		{"the client closes: CD", "", true, func(c net.Conn, br *bufio.Reader) {
			http.ReadResponse(br, nil)
			time.Sleep(100 * time.Millisecond)
		}, `app/s1 \S+ 417 \d+ - - CD-- `},
		{"the client is silent: cD", "", true, func(c net.Conn, br *bufio.Reader) {
			http.ReadResponse(br, nil)
			io.Copy(io.Discard, br)
		}, `app/s1 \S+ 417 \d+ - - cD-- `},
		{"a request in place of a chunked body: PD", "POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n", true, func(c net.Conn, br *bufio.Reader) {
			http.ReadResponse(br, nil)
			io.WriteString(c, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
			io.Copy(io.Discard, br)
		}, `app/s1 \S+ 417 \d+ - - PD-- `},
		{"the server does not read the body: sD", "", false, func(c net.Conn, br *bufio.Reader) {
			http.ReadResponse(br, nil)
			go io.Copy(io.Discard, br)
			chunk := make([]byte, 64<<10)
			for range 1500 {
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
		}, `app/s1 \S+ 417 \d+ - - sD-- `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &expectServer{}
			addr, _ := rawServer(t, srv.serve("HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n", tt.close))
			be := newBackend(addr)
			be.Retries = 0
			be.Timeouts.Server = 500 * time.Millisecond
			f := newFixture(t, be, func(fe *config.Frontend, _ *config.Global) { fe.Timeouts.Client = 500 * time.Millisecond })
			sink := &lineSink{}
			withLog(t, f, sink, nil)
			c, br := dialProxy(t, f)
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if tt.req == "" {
				tt.req = req
			}
			io.WriteString(c, tt.req)
			tt.client(c, br)
			c.Close()
			want := regexp.MustCompile(tt.want)
			if l := waitLines(t, sink, 1)[0]; !want.MatchString(l) {
				t.Fatalf("%q does not match %s", l, want)
			}
		})
	}
}
