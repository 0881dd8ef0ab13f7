package http1

import (
	"bytes"
	"os"
	"testing"
)

func corpusSeeds(f *testing.F) {
	data, err := os.ReadFile("testdata/smuggling.txt")
	if err != nil {
		f.Fatal(err)
	}
	vs, err := LoadCorpus(data)
	if err != nil {
		f.Fatal(err)
	}
	for _, v := range vs {
		f.Add(v.Raw)
	}
}

// FuzzRequest checks that parsing never panics and that an accepted head obeys the
// strict rules: every line ends in CRLF, no control bytes in values, names are tokens,
// framing is coherent.
func FuzzRequest(f *testing.F) {
	corpusSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		end := EndOfHead(raw)
		if end < 0 {
			return
		}
		var r Request
		err := r.Parse(raw[:end])
		if err != nil {
			// a delimited head is either accepted or refused with a status
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %v for a delimited head %q", err, raw[:end])
			}
			return
		}
		head := raw[:r.Len]
		if bytes.Contains(head, []byte("\x00")) || bytes.Count(head, []byte("\n")) != bytes.Count(head, []byte("\r\n")) {
			t.Fatalf("accepted a head with NUL or bare LF: %q", head)
		}
		for i := 0; i < r.NHeaders; i++ {
			h := r.Headers[i]
			if !IsToken(h.Name.Of(raw)) {
				t.Fatalf("accepted header name %q", h.Name.Of(raw))
			}
			for _, c := range h.Value.Of(raw) {
				if (c < 0x20 && c != '\t') || c == 0x7f {
					t.Fatalf("accepted control byte %#x in a value", c)
				}
			}
		}
		if r.NHeaders > MaxHeaders {
			t.Fatal("too many headers accepted")
		}
		if r.Has(FHasTE) && (r.Framing != FrameChunked || r.Minor == 0) {
			t.Fatalf("TE accepted with framing %v", r.Framing)
		}
		if r.Has(FHasCL) && r.ContentLength < 0 {
			t.Fatal("negative content-length")
		}
		if r.Has(FHasCL) && r.Has(FHasTE) && !r.Has(FCLAndTE) {
			t.Fatal("CL and TE not flagged")
		}
		if r.Framing == FrameChunked {
			var c Chunked
			c.Feed(raw[end:])
		}
	})
}

// FuzzResponse checks that response parsing never panics and never accepts control bytes.
func FuzzResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.0 304 Not Modified\r\nSet-Cookie: a=b\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		end := EndOfHead(raw)
		if end < 0 {
			return
		}
		var r Response
		if err := r.Parse(raw[:end]); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %v for a delimited head %q", err, raw[:end])
			}
			return
		}
		if r.Status < 100 || r.Status > 599 {
			t.Fatalf("status %d accepted", r.Status)
		}
		head := raw[:r.Len]
		if bytes.Count(head, []byte("\n")) != bytes.Count(head, []byte("\r\n")) || bytes.Contains(head, []byte("\x00")) {
			t.Fatalf("accepted %q", head)
		}
		for _, m := range []Method{MethodGET, MethodHEAD} {
			fr := r.BodyFraming(m)
			if (m == MethodHEAD || r.Status == 204 || r.Status == 304 || r.Status < 200) && fr != FrameNone {
				t.Fatalf("framing %v for status %d method %d", fr, r.Status, m)
			}
		}
	})
}

// FuzzChunked checks that the decoder never panics, never reports more bytes than it was
// given, and reaches the same verdict whether bytes come at once or split in two.
func FuzzChunked(f *testing.F) {
	for _, s := range []string{
		"5\r\nhello\r\n0\r\n\r\n",
		"a;ext=1\r\n0123456789\r\n0\r\nT: v\r\n\r\n",
		"0\r\n\r\n",
		"fffffffffffffffff\r\n",
		"5\r\nhelloX0\r\n\r\n",
	} {
		f.Add([]byte(s), uint16(3))
	}
	f.Fuzz(func(t *testing.T, body []byte, split uint16) {
		var a Chunked
		n, done, err := a.Feed(body)
		if n < 0 || n > len(body) {
			t.Fatalf("consumed %d of %d", n, len(body))
		}
		s := int(split) % (len(body) + 1)
		var b Chunked
		n1, done1, err1 := b.Feed(body[:s])
		if err1 != nil || done1 {
			if (err1 != nil) != (err != nil) || done1 != done || n1 != n {
				t.Fatalf("split %d: (%d %v %v) vs whole (%d %v %v)", s, n1, done1, err1, n, done, err)
			}
			return
		}
		n2, done2, err2 := b.Feed(body[s:])
		if (err2 != nil) != (err != nil) || done2 != done || (err == nil && n1+n2 != n) {
			t.Fatalf("split %d: (%d+%d %v %v) vs whole (%d %v %v)", s, n1, n2, done2, err2, n, done, err)
		}
		if done && err == nil && !bytes.HasSuffix(body[:n], []byte("\r\n")) {
			t.Fatalf("done without final CRLF: %q", body[:n])
		}
	})
}

// FuzzParseLax checks ParseLax for requests and responses: it never panics, refuses
// only with an *Error, accepts no bare LF, no control bytes in values, no ':' in names,
// and reads every head that Parse accepts exactly as Parse does.
func FuzzParseLax(f *testing.F) {
	corpusSeeds(f)
	for _, s := range []string{
		"GET /\r\n", "GET / RTSP/1.0\r\nX A: b\r\n\r\n", "GET /caf\xc3\xa9#x HTTP/1.10\r\n\r\n",
		"HTTP/1.10 200 OK\r\nX\x00A: a\r\nContent-Length: 1\r\n\r\nx", "HTTP/1 204 x\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		end := EndOfHead(raw)
		if e := EndOfSimpleRequest(raw); e > 0 && (end < 0 || e < end) {
			end = e
		}
		if end < 0 {
			return
		}
		head := raw[:end]
		var strict, lax Request
		serr, lerr := strict.Parse(head), lax.ParseLax(head)
		var rs, rl Response
		rserr, rlerr := rs.Parse(head), rl.ParseLax(head)
		for _, err := range []error{lerr, rlerr} {
			if _, ok := err.(*Error); err != nil && !ok && err != ErrNeedMore {
				t.Fatalf("error %v for %q", err, head)
			}
		}
		if serr == nil && (lerr != nil || strict != lax) {
			t.Fatalf("strict accepted %q, lax: %v", head, lerr)
		}
		if rserr == nil && (rlerr != nil || rs != rl) {
			t.Fatalf("strict accepted response %q, lax: %v", head, rlerr)
		}
		check := func(h *Head) {
			b := raw[:h.Len]
			if bytes.Count(b, []byte("\n")) != bytes.Count(b, []byte("\r\n")) {
				t.Fatalf("accepted a bare LF: %q", b)
			}
			for i := 0; i < h.NHeaders; i++ {
				hd := h.Headers[i]
				if n := hd.Name.Of(raw); len(n) == 0 || bytes.ContainsAny(n, ":\r\n") {
					t.Fatalf("accepted header name %q", n)
				}
				for _, c := range hd.Value.Of(raw) {
					if (c < 0x20 && c != '\t') || c == 0x7f {
						t.Fatalf("accepted control byte %#x in a value", c)
					}
				}
			}
		}
		if lerr == nil {
			check(&lax.Head)
			if tg := lax.Target.Of(raw); len(tg) > 0 {
				if i, j := DefaultPortSpan(tg); i < 0 || i > j || j > len(tg) || i < j && tg[i] != ':' {
					t.Fatalf("DefaultPortSpan(%q) = %d, %d", tg, i, j)
				}
			}
		}
		if rlerr == nil {
			check(&rl.Head)
			if rl.Status < 100 || rl.Status > 599 {
				t.Fatalf("status %d accepted", rl.Status)
			}
		}
	})
}
