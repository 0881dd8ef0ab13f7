package http1

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// checkRequest runs the whole verdict procedure a proxy runs: find the head, parse it,
// then validate the body that follows.
func checkRequest(raw []byte) (r *Request, body int, headErr, bodyErr error) {
	r = new(Request)
	end := EndOfHead(raw)
	if end < 0 {
		return r, 0, ErrNeedMore, nil
	}
	if err := r.Parse(raw[:end]); err != nil {
		return r, 0, err, nil
	}
	if r.Len != end {
		return r, 0, fmt.Errorf("parsed %d bytes, head is %d", r.Len, end), nil
	}
	rest := raw[end:]
	switch r.Framing {
	case FrameLength:
		return r, int(r.ContentLength), nil, nil
	case FrameChunked:
		var c Chunked
		n, done, err := c.Feed(rest)
		if err != nil {
			return r, n, nil, err
		}
		if !done {
			return r, n, nil, errors.New("chunked body incomplete")
		}
		return r, n, nil, nil
	}
	return r, 0, nil, nil
}

func TestSmugglingCorpus(t *testing.T) {
	data, err := os.ReadFile("testdata/smuggling.txt")
	if err != nil {
		t.Fatal(err)
	}
	vs, err := LoadCorpus(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < 50 {
		t.Fatalf("corpus has %d vectors, want at least 50", len(vs))
	}
	for _, v := range vs {
		t.Run(v.Name, func(t *testing.T) {
			r, body, herr, berr := checkRequest(v.Raw)
			switch {
			case v.Reject:
				var e *Error
				if !errors.As(herr, &e) || e.Status != v.Status {
					t.Fatalf("head error = %v, want a %d *Error", herr, v.Status)
				}
			case v.BodyBad:
				if herr != nil {
					t.Fatalf("head error = %v, want the head accepted", herr)
				}
				if berr == nil {
					t.Fatalf("body accepted (%d bytes), want it refused", body)
				}
			default:
				if herr != nil || berr != nil {
					t.Fatalf("head error %v, body error %v, want accepted", herr, berr)
				}
				if r.Framing != v.Framing {
					t.Errorf("framing = %v, want %v", r.Framing, v.Framing)
				}
				if r.Has(FCLAndTE) != v.Close {
					t.Errorf("CL with TE = %v, want %v", r.Has(FCLAndTE), v.Close)
				}
				if strings.HasPrefix(v.Name, "cl-") && strings.Contains(v.Name, "identical") && !r.Has(FCLMulti) {
					t.Errorf("repeated content-length not flagged")
				}
				if v.Body >= 0 && body != v.Body {
					t.Errorf("body length = %d, want %d", body, v.Body)
				}
			}
		})
	}
}

func TestRequestFields(t *testing.T) {
	raw := []byte("POST /p?q=1 HTTP/1.1\r\nHost: example\r\ncontent-LENGTH: 12\r\nConnection: keep-alive, X-Drop\r\nExpect: 100-Continue\r\nX-Drop: 1\r\nUpgrade: websocket\r\n\r\n")
	var r Request
	if err := r.Parse(raw); err != nil {
		t.Fatal(err)
	}
	if string(r.MethodSp.Of(raw)) != "POST" || r.Method != MethodPOST || string(r.Target.Of(raw)) != "/p?q=1" || r.Minor != 1 {
		t.Fatalf("request line: %q %q minor %d", r.MethodSp.Of(raw), r.Target.Of(raw), r.Minor)
	}
	if r.NHeaders != 6 || r.Len != len(raw) {
		t.Fatalf("headers %d len %d", r.NHeaders, r.Len)
	}
	if v, ok := r.Get(raw, "host"); !ok || string(v) != "example" {
		t.Fatalf("host = %q %v", v, ok)
	}
	if _, ok := r.Get(raw, "missing"); ok {
		t.Fatal("found a missing header")
	}
	want := FHasCL | FConnKeepAlive | FConnOther | FExpect100 | FUpgrade | FHasHost
	if r.Flags&want != want || r.ContentLength != 12 || r.Framing != FrameLength {
		t.Fatalf("flags %b cl %d framing %v", r.Flags, r.ContentLength, r.Framing)
	}
	if !r.ConnectionNames(raw, []byte("x-drop")) || r.ConnectionNames(raw, []byte("host")) {
		t.Fatal("ConnectionNames")
	}
	if !r.KeepAlive() {
		t.Fatal("1.1 keep-alive")
	}
}

func TestKeepAlive(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want bool
	}{
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
		{"GET / HTTP/1.0\r\n\r\n", false},
		{"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
	} {
		var r Request
		if err := r.Parse([]byte(tc.raw)); err != nil {
			t.Fatal(err)
		}
		if r.KeepAlive() != tc.want {
			t.Errorf("%q: keep-alive %v", tc.raw, !tc.want)
		}
	}
}

func TestTooManyHeaders(t *testing.T) {
	for _, n := range []int{MaxHeaders, MaxHeaders + 1} {
		var sb strings.Builder
		sb.WriteString("GET / HTTP/1.0\r\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&sb, "X-%d: v\r\n", i)
		}
		sb.WriteString("\r\n")
		var r Request
		err := r.Parse([]byte(sb.String()))
		if n <= MaxHeaders && err != nil {
			t.Errorf("%d headers: %v", n, err)
		}
		if n > MaxHeaders && err != ErrTooManyHeaders {
			t.Errorf("%d headers: %v, want too many", n, err)
		}
	}
}

func TestEndOfHead(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"GET / HTTP/1.1\r\n\r\n", 18},
		{"GET / HTTP/1.1\r\n\r\nBODY", 18},
		{"GET / HTTP/1.1\r\nA: b\r\n", -1},
		{"GET / HTTP/1.1\r\nA: b\r\n\r", -1},
		{"GET / HTTP/1.1\n\n", 16},
		{"\r\n\r\nGET / HTTP/1.1\r\n\r\n", 22},
		{"", -1},
	} {
		if got := EndOfHead([]byte(tc.in)); got != tc.want {
			t.Errorf("EndOfHead(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestResponse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		raw     string
		method  Method
		status  int
		framing Framing
		err     bool
		clte    bool
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", MethodGET, 200, FrameLength, false, false},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", MethodGET, 200, FrameChunked, false, false},
		{"close-delimited", "HTTP/1.1 200 OK\r\n\r\n", MethodGET, 200, FrameClose, false, false},
		{"te-not-chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", MethodGET, 200, FrameClose, false, false},
		{"chunked-then-gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", MethodGET, 200, FrameClose, false, false},
		{"cl-and-te", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", MethodGET, 200, FrameChunked, false, true},
		{"head", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", MethodHEAD, 200, FrameNone, false, false},
		{"204", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", MethodGET, 204, FrameNone, false, false},
		{"304", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", MethodGET, 304, FrameNone, false, false},
		{"100", "HTTP/1.1 100 Continue\r\n\r\n", MethodPOST, 100, FrameNone, false, false},
		{"cl-zero", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", MethodGET, 200, FrameNone, false, false},
		{"no-reason", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", MethodGET, 200, FrameNone, false, false},
		{"empty-reason", "HTTP/1.0 404 \r\n\r\n", MethodGET, 404, FrameClose, false, false},
		{"cl-conflict", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", MethodGET, 0, 0, true, false},
		{"bad-status", "HTTP/1.1 20 OK\r\n\r\n", MethodGET, 0, 0, true, false},
		{"status-600", "HTTP/1.1 600 OK\r\n\r\n", MethodGET, 0, 0, true, false},
		{"http2", "HTTP/2.0 200 OK\r\n\r\n", MethodGET, 0, 0, true, false},
		{"bare-lf", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", MethodGET, 0, 0, true, false},
		{"nul-value", "HTTP/1.1 200 OK\r\nX: \x00\r\n\r\n", MethodGET, 0, 0, true, false},
		{"fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", MethodGET, 0, 0, true, false},
		{"chunked-twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", MethodGET, 0, 0, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Response
			raw := []byte(tc.raw)
			err := r.Parse(raw)
			if tc.err {
				var e *Error
				if !errors.As(err, &e) || e.Status != 502 {
					t.Fatalf("err = %v, want a 502 *Error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tc.status || r.BodyFraming(tc.method) != tc.framing || r.Has(FCLAndTE) != tc.clte || r.Len != len(raw) {
				t.Fatalf("status %d framing %v clte %v len %d", r.Status, r.BodyFraming(tc.method), r.Has(FCLAndTE), r.Len)
			}
		})
	}
}

// TestChunkedSplit feeds a valid body one byte at a time and in two halves at every
// split point: the verdict and the end offset must not depend on how bytes arrive.
func TestChunkedSplit(t *testing.T) {
	body := []byte("4;x=\"a b\"\r\nwiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nT: 1\r\n\r\nNEXT")
	end := len(body) - 4
	for split := 0; split <= len(body); split++ {
		var c Chunked
		n1, done, err := c.Feed(body[:split])
		if err != nil {
			t.Fatalf("split %d: %v", split, err)
		}
		if done {
			if n1 != end {
				t.Fatalf("split %d: end %d", split, n1)
			}
			continue
		}
		n2, done, err := c.Feed(body[split:])
		if err != nil || !done || n1+n2 != end {
			t.Fatalf("split %d: n %d+%d done %v err %v", split, n1, n2, done, err)
		}
	}
	var c Chunked
	total := 0
	for i := 0; i < len(body); i++ {
		n, done, err := c.Feed(body[i : i+1])
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if done {
			break
		}
	}
	if total != end || !c.Done() || !c.Trailers {
		t.Fatalf("byte at a time: %d, done %v", total, c.Done())
	}
}

func TestChunkedLimits(t *testing.T) {
	long := "1;" + strings.Repeat("a", maxChunkLine) + "\r\nx\r\n0\r\n\r\n"
	var c Chunked
	if _, _, err := c.Feed([]byte(long)); err == nil {
		t.Fatal("accepted an over-long chunk line")
	}
	var sb strings.Builder
	sb.WriteString("0\r\n")
	for sb.Len() < maxTrailerBytes+10 {
		sb.WriteString("X: 0123456789\r\n")
	}
	c.Reset()
	if _, _, err := c.Feed([]byte(sb.String())); err == nil {
		t.Fatal("accepted an over-long trailer section")
	}
	c.Reset()
	if _, _, err := c.Feed([]byte("7fffffffffffffff\r\n")); err != nil {
		t.Fatalf("largest chunk size refused: %v", err)
	}
	c.Reset()
	if _, _, err := c.Feed([]byte("8000000000000000\r\n")); err == nil {
		t.Fatal("accepted a chunk size over int64")
	}
}

func TestParseAllocs(t *testing.T) {
	raw := []byte("GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: bench\r\nAccept: */*\r\nCookie: a=b; SRV=s1\r\n\r\n")
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nSet-Cookie: x=y\r\n\r\n")
	var r Request
	var s Response
	var c Chunked
	body := []byte("5\r\nhello\r\n0\r\n\r\n")
	n := testing.AllocsPerRun(100, func() {
		if EndOfHead(raw) < 0 || r.Parse(raw) != nil || s.Parse(resp) != nil {
			t.Fatal("parse")
		}
		c.Reset()
		if _, done, err := c.Feed(body); !done || err != nil {
			t.Fatal("chunked")
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per parse", n)
	}
}

func BenchmarkParseRequest(b *testing.B) {
	raw := []byte("GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: text/html,application/xhtml+xml\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\nCookie: SRV=s1; session=abcdef0123456789\r\n\r\n")
	var r Request
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if EndOfHead(raw) < 0 || r.Parse(raw) != nil {
			b.Fatal("parse")
		}
	}
}

// TestLaxParsing: ParseLax relaxes exactly what HAProxy 2.6's accept-invalid-http-request
// and accept-invalid-http-response relax (configuration.txt, and checked against Debian's
// haproxy): header names, target bytes above 0x7e and '#', odd versions and HTTP/0.9 in
// requests; header names and multi-digit versions in responses. What they do not cover
// stays refused.
func TestLaxParsing(t *testing.T) {
	for _, tc := range []struct {
		raw          string
		strict, lax  bool // accepted
		minor        uint8
		noVersion    bool
		headers, len int // with lax (len: 0 for the whole input)
	}{
		{"GET / HTTP/1.1\r\nHost: a\r\nX A: 1\r\n\r\n", false, true, 1, false, 2, 0},
		{"GET / HTTP/1.1\r\nHost: a\r\nX(A): 1\r\n\r\n", false, true, 1, false, 2, 0},
		{"GET / HTTP/1.1\r\nHost: a\r\nX\x00\xffA : 1\r\n\r\n", false, true, 1, false, 2, 0},
		{"GET / HTTP/1.1\r\nHost: a\r\n: 1\r\n\r\n", false, false, 0, false, 0, 0},
		{"GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x00b\r\n\r\n", false, false, 0, false, 0, 0},
		{"GET / HTTP/1.1\r\nHost: a\r\nX-A: a\r\n b\r\n\r\n", false, false, 0, false, 0, 0},
		{"GET / HTTP/1.1\nHost: a\r\n\r\n", false, false, 0, false, 0, 0},
		{"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", false, true, 1, false, 1, 0},
		{"GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", false, true, 1, false, 1, 0},
		{"GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", false, false, 0, false, 0, 0},
		{"GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", false, false, 0, false, 0, 0},
		{"GET / RTSP/1.0\r\nHost: a\r\n\r\n", false, true, 0, false, 1, 0},
		{"GET / HTTP/1.10\r\nHost: a\r\n\r\n", false, true, 0, false, 1, 0},
		{"GET / HTTP/11.1\r\nHost: a\r\n\r\n", false, true, 0, false, 1, 0},
		{"GET / HTTP/1\r\n\r\n", false, true, 0, false, 0, 0},
		{"GET / HTTP/2.0\r\nHost: a\r\n\r\n", false, false, 0, false, 0, 0},
		{"GET / http/1.1\r\nHost: a\r\n\r\n", false, false, 0, false, 0, 0},
		{"GET / HTTP/1.1 x\r\nHost: a\r\n\r\n", false, false, 0, false, 0, 0},
		{"GET / HTTP/1.\r\nHost: a\r\n\r\n", false, false, 0, false, 0, 0},
		{"GET /\r\n", false, true, 0, true, 0, 7},
		{"\r\nGET /x?y\r\nHost: a\r\n\r\n", false, true, 0, true, 0, 12},
		{"GET /\n", false, false, 0, false, 0, 0},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true, true, 1, false, 1, 0},
	} {
		var r Request
		if err := r.Parse([]byte(tc.raw)); (err == nil) != tc.strict {
			t.Errorf("Parse(%q) = %v, want accepted %v", tc.raw, err, tc.strict)
		}
		err := r.ParseLax([]byte(tc.raw))
		if (err == nil) != tc.lax {
			t.Errorf("ParseLax(%q) = %v, want accepted %v", tc.raw, err, tc.lax)
			continue
		}
		if err != nil {
			continue
		}
		want := tc.len
		if want == 0 {
			want = len(tc.raw)
		}
		if r.Minor != tc.minor || r.Has(FNoVersion) != tc.noVersion || r.NHeaders != tc.headers || r.Len != want {
			t.Errorf("ParseLax(%q): minor %d, no version %v, %d headers, len %d; want %d %v %d %d", tc.raw, r.Minor, r.Has(FNoVersion), r.NHeaders, r.Len, tc.minor, tc.noVersion, tc.headers, want)
		}
		if tc.noVersion && EndOfSimpleRequest([]byte(tc.raw)) != want {
			t.Errorf("EndOfSimpleRequest(%q) = %d, want %d", tc.raw, EndOfSimpleRequest([]byte(tc.raw)), want)
		}
	}
	for _, tc := range []struct {
		raw         string
		strict, lax bool
		minor       uint8
		status      int
	}{
		{"HTTP/1.1 200 OK\r\nX A: a\r\nContent-Length: 2\r\n\r\n", false, true, 1, 200},
		{"HTTP/1.1 200 OK\r\nX\x00A: a\r\n\r\n", false, true, 1, 200},
		{"HTTP/1.1 200 OK\r\n: a\r\n\r\n", false, false, 0, 0},
		{"HTTP/1.10 200 OK\r\nContent-Length: 2\r\n\r\n", false, true, 0, 200},
		{"HTTP/11.1 404 Not Found\r\n\r\n", false, true, 0, 404},
		{"HTTP/1 204 No Content\r\n\r\n", false, true, 0, 204},
		{"HTTP/2.0 200 OK\r\n\r\n", false, false, 0, 0},
		{"RTSP/1.0 200 OK\r\n\r\n", false, false, 0, 0},
		{"HTTP/1.1 2000 OK\r\n\r\n", false, false, 0, 0},
		{"HTTP/1.1 200 OK\nContent-Length: 2\n\n", false, false, 0, 0},
		{"HTTP/1.1 200 OK\r\nX-A: a\r\n  b\r\n\r\n", false, false, 0, 0},
		{"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n", false, false, 0, 0},
		{"HTTP/1.0 200 OK\r\n\r\n", true, true, 0, 200},
	} {
		var r Response
		if err := r.Parse([]byte(tc.raw)); (err == nil) != tc.strict {
			t.Errorf("Parse(%q) = %v, want accepted %v", tc.raw, err, tc.strict)
		}
		err := r.ParseLax([]byte(tc.raw))
		if (err == nil) != tc.lax {
			t.Errorf("response ParseLax(%q) = %v, want accepted %v", tc.raw, err, tc.lax)
			continue
		}
		if err == nil && (r.Minor != tc.minor || r.Status != tc.status || r.Len != len(tc.raw)) {
			t.Errorf("response ParseLax(%q): minor %d status %d len %d", tc.raw, r.Minor, r.Status, r.Len)
		}
	}
}
