package h2

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

func hf(kv ...string) []hpack.HeaderField {
	var fs []hpack.HeaderField
	for i := 0; i+1 < len(kv); i += 2 {
		fs = append(fs, hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return fs
}

var base = []string{":method", "GET", ":scheme", "https", ":authority", "example.com", ":path", "/p?q=1"}

func req(extra ...string) []hpack.HeaderField {
	return hf(append(append([]string{}, base...), extra...)...)
}

// TestTranslateRequestRefusesMalformed: each request RFC 9113 §8 calls malformed is a
// stream error, never an HTTP/1 request.
func TestTranslateRequestRefusesMalformed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields []hpack.HeaderField
		end    bool
	}{
		{"§8.3.1 no :method", hf(":scheme", "https", ":path", "/", ":authority", "a"), true},
		{"§8.3.1 no :path", hf(":method", "GET", ":scheme", "https", ":authority", "a"), true},
		{"§8.3.1 empty :path", hf(":method", "GET", ":scheme", "https", ":path", ""), true},
		{"§8.3.1 no :scheme", hf(":method", "GET", ":path", "/", ":authority", "a"), true},
		{"§8.3 duplicated :path", req(":path", "/x"), true},
		{"§8.3 unknown pseudo-header", req(":foo", "x"), true},
		{"§8.3 response pseudo-header in a request", req(":status", "200"), true},
		{"§8.3 pseudo-header after a regular field", hf(":method", "GET", "accept", "*", ":scheme", "https", ":path", "/"), true},
		{"§8.2.1 upper-case name", req("Accept", "*"), true},
		{"§8.2.1 CR in value", req("x-a", "a\rb"), true},
		{"§8.2.1 LF in value", req("x-a", "a\nHost: evil"), true},
		{"§8.2.1 NUL in value", req("x-a", "a\x00b"), true},
		{"§8.2.1 space in name", req("x a", "b"), true},
		{"§8.2.1 colon in name", req("x:a", "b"), true},
		{"§8.2.1 delimiter in name", req("x(a)", "b"), true},
		{"§8.2.1 non-ASCII name", req("x\xe9", "b"), true},
		{"§8.2.1 leading space in value", req("x-a", " b"), true},
		{"§8.2.2 connection", req("connection", "close"), true},
		{"§8.2.2 keep-alive", req("keep-alive", "timeout=5"), true},
		{"§8.2.2 proxy-connection", req("proxy-connection", "x"), true},
		{"§8.2.2 transfer-encoding", req("transfer-encoding", "chunked"), false},
		{"§8.2.2 upgrade", req("upgrade", "h2c"), true},
		{"§8.2.2 te other than trailers", req("te", "gzip"), true},
		{"§8.1.1 content-length with no DATA", req("content-length", "5"), true},
		{"§8.1.1 content-length not a number", req("content-length", "5x"), false},
		{"§8.1.1 two content-lengths that differ", req("content-length", "5", "content-length", "6"), false},
		{"§8.3.1 :authority and host name different hosts", req("host", "evil.example"), true},
		{"§8.3.1 userinfo in :authority", hf(":method", "GET", ":scheme", "https", ":authority", "u@h", ":path", "/"), true},
		{"§8.5 CONNECT with :path", hf(":method", "CONNECT", ":authority", "h:443", ":path", "/"), false},
		{"§8.5 CONNECT without :authority", hf(":method", "CONNECT"), false},
		{"space in :path", req2(":path", "/a b"), true},
		{"space in :method", req2(":method", "G T"), true},
		{"delimiter in :method", req2(":method", "GE/T"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := TranslateRequest(tc.fields, tc.end, "https")
			if err == nil {
				t.Fatalf("accepted, would forward:\n%s", r.Head)
			}
		})
	}
}

// req2 is base with one pseudo-header's value replaced.
func req2(name, value string) []hpack.HeaderField {
	fs := hf(base...)
	for i := range fs {
		if fs[i].Name == name {
			fs[i].Value = value
		}
	}
	return fs
}

func TestTranslateRequestWritesHTTP1(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fields  []hpack.HeaderField
		end     bool
		head    string
		logLine string
	}{
		{"GET with cookie crumbs joined (§8.2.3)", req("cookie", "a=1", "accept", "*/*", "cookie", "b=2"), true,
			"GET /p?q=1 HTTP/1.1\r\nhost: example.com\r\naccept: */*\r\ncookie: a=1; b=2\r\n\r\n",
			"GET https://example.com/p?q=1 HTTP/2.0"},
		{"host from :authority, same host kept once", req("host", "EXAMPLE.com"), true,
			"GET /p?q=1 HTTP/1.1\r\nhost: example.com\r\n\r\n", "GET https://example.com/p?q=1 HTTP/2.0"},
		{"host alone", hf(":method", "GET", ":scheme", "http", ":path", "/", "host", "h"), true,
			"GET / HTTP/1.1\r\nhost: h\r\n\r\n", "GET / HTTP/2.0"},
		{"body without content-length goes chunked", req(), false,
			"GET /p?q=1 HTTP/1.1\r\nhost: example.com\r\ntransfer-encoding: chunked\r\n\r\n", ""},
		{"content-length kept", req("content-length", "3"), false,
			"GET /p?q=1 HTTP/1.1\r\nhost: example.com\r\ncontent-length: 3\r\n\r\n", ""},
		{"te: trailers allowed", req("te", "trailers"), true,
			"GET /p?q=1 HTTP/1.1\r\nhost: example.com\r\nte: trailers\r\n\r\n", ""},
		{"OPTIONS *", hf(":method", "OPTIONS", ":scheme", "https", ":authority", "a", ":path", "*"), true,
			"OPTIONS * HTTP/1.1\r\nhost: a\r\n\r\n", ""},
		{"CONNECT", hf(":method", "CONNECT", ":authority", "h:443"), false,
			"CONNECT h:443 HTTP/1.1\r\nhost: h:443\r\n\r\n", "CONNECT h:443 HTTP/2.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := TranslateRequest(tc.fields, tc.end, "https")
			if err != nil {
				t.Fatal(err)
			}
			if string(r.Head) != tc.head {
				t.Fatalf("head\n%q\nwant\n%q", r.Head, tc.head)
			}
			if tc.logLine != "" && r.LogLine != tc.logLine {
				t.Fatalf("log line %q, want %q", r.LogLine, tc.logLine)
			}
		})
	}
}

func TestValidateTrailers(t *testing.T) {
	b, err := ValidateTrailers(hf("grpc-status", "0", "x-t", "v"))
	if err != nil || string(b) != "0\r\ngrpc-status: 0\r\nx-t: v\r\n\r\n" {
		t.Fatalf("%q %v", b, err)
	}
	for _, bad := range [][]hpack.HeaderField{hf(":path", "/"), hf("X-T", "v"), hf("x-t", "a\r\nb"), hf("connection", "close")} {
		if _, err := ValidateTrailers(bad); err == nil {
			t.Errorf("trailers %v accepted", bad)
		}
	}
}

// sink records what a Response translator sends.
type sink struct {
	frames []string
}

func (s *sink) headers(fs []hpack.HeaderField, end bool) error {
	var b strings.Builder
	b.WriteString("H")
	if end {
		b.WriteString("!")
	}
	for _, f := range fs {
		b.WriteString(" " + f.Name + "=" + f.Value)
	}
	s.frames = append(s.frames, b.String())
	return nil
}

func (s *sink) data(p []byte, end bool) error {
	e := ""
	if end {
		e = "!"
	}
	s.frames = append(s.frames, "D"+e+" "+string(p))
	return nil
}

func TestResponseTranslation(t *testing.T) {
	for _, tc := range []struct {
		name string
		head bool
		in   string
		want string
		done bool
	}{
		{"content-length, hop-by-hop removed, names lower-cased",
			false, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\nX-End: 2\r\n\r\nhi",
			"H :status=200 content-length=2 x-end=2|D! hi", true},
		{"chunked decoded, trailers as trailing HEADERS", false,
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nGrpc-Status: 0\r\n\r\n",
			"H :status=200|D abcde|H! grpc-status=0", true},
		{"chunked without trailers", false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
			"H :status=200|D! a", true},
		{"interim 100 then final", false, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
			"H :status=100|H! :status=204", true},
		{"HEAD has no body", true, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "H! :status=200 content-length=5", true},
		{"body until close", false, "HTTP/1.1 200 OK\r\n\r\nabc", "H :status=200|D abc", false},
		{"a coding other than chunked last: until close, content-length dropped (RFC 9112 §6.3)", false,
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\nX-A: 1\r\n\r\nabc", "H :status=200 x-a=1|D abc", false},
	} {
		for _, step := range []int{1, 3, 1000} { // bytes arriving in pieces
			s := &sink{}
			r := &Response{Head: tc.head}
			for i := 0; i < len(tc.in); i += step {
				if err := r.Feed([]byte(tc.in[i:min(len(tc.in), i+step)]), s); err != nil {
					t.Fatalf("%s (step %d): %v", tc.name, step, err)
				}
			}
			got := strings.Join(merge(s.frames), "|")
			if got != tc.want || r.Done() != tc.done {
				t.Fatalf("%s (step %d):\n got %s done %v\nwant %s done %v", tc.name, step, got, r.Done(), tc.want, tc.done)
			}
		}
	}
}

// merge joins consecutive DATA records (the pieces a small step makes).
func merge(fs []string) []string {
	var out []string
	for _, f := range fs {
		if n := len(out); n > 0 && strings.HasPrefix(f, "D") && out[n-1][:2] == "D " && f != "D " {
			if strings.HasPrefix(f, "D! ") {
				out[n-1] = "D! " + out[n-1][2:] + f[3:]
			} else {
				out[n-1] += f[2:]
			}
			continue
		}
		if f == "D " {
			continue // an empty piece
		}
		out = append(out, f)
	}
	return out
}

func TestResponseRefusesSwitchAndGarbage(t *testing.T) {
	for _, in := range []string{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", "garbage\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab"} {
		r := &Response{}
		if err := r.Feed([]byte(in), &sink{}); err == nil {
			t.Errorf("accepted %q", in)
		}
	}
	_ = bytes.MinRead
}
