package h2

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"tandem/internal/http1"
)

// frames builds a seed: the client's SETTINGS then one request.
func seedFrames(extra func(fr *http2.Framer, enc *hpack.Encoder, hb *bytes.Buffer)) []byte {
	var b bytes.Buffer
	fr := http2.NewFramer(&b, nil)
	fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range req("cookie", "a=1", "cookie", "b=2") {
		enc.WriteField(f)
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true})
	fr.WriteData(1, true, []byte("body"))
	if extra != nil {
		extra(fr, enc, &hb)
	}
	return b.Bytes()
}

// FuzzFrameReader feeds arbitrary frames after the preface to a connection whose
// streams go to an HTTP/1 engine stand-in: no panic, and the connection ends.
func FuzzFrameReader(f *testing.F) {
	f.Add(seedFrames(nil))
	f.Add(seedFrames(func(fr *http2.Framer, enc *hpack.Encoder, hb *bytes.Buffer) {
		fr.WritePing(false, [8]byte{1})
		fr.WriteWindowUpdate(0, 1<<30)
		fr.WriteRSTStream(1, http2.ErrCodeCancel)
		hb.Reset()
		enc.WriteField(hpack.HeaderField{Name: ":method", Value: "POST"})
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: hb.Bytes(), EndHeaders: false})
		fr.WriteContinuation(3, true, []byte{0x84})
		fr.WriteGoAway(0, http2.ErrCodeNo, nil)
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		cli, srv := net.Pipe()
		o := DefaultOptions()
		o.IdleTimeout = 20 * time.Millisecond
		done := make(chan struct{})
		go func() {
			Serve(srv, o, nil, echoEngine)
			close(done)
		}()
		go io.Copy(io.Discard, cli)
		cli.SetWriteDeadline(time.Now().Add(time.Second))
		cli.Write([]byte(preface))
		cli.Write(data)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Fatal("connection did not end")
		}
		cli.Close()
	})
}

// FuzzTranslateRequest: whatever header list HPACK decodes, an accepted request is
// a valid HTTP/1.1 head that the engine's parser reads with one header line per
// forwarded field (nothing smuggled in by CR/LF), and its body framing is known.
func FuzzTranslateRequest(f *testing.F) {
	f.Add(":method\x00GET\x00:scheme\x00https\x00:authority\x00a.b\x00:path\x00/x\x00cookie\x00a=1\x00cookie\x00b=2", true)
	f.Add(":method\x00POST\x00:scheme\x00http\x00:path\x00/\x00host\x00h\x00content-length\x003", false)
	f.Add(":method\x00CONNECT\x00:authority\x00h:1", false)
	f.Fuzz(func(t *testing.T, s string, end bool) {
		parts := strings.Split(s, "\x00")
		var fs []hpack.HeaderField
		for i := 0; i+1 < len(parts); i += 2 {
			fs = append(fs, hpack.HeaderField{Name: parts[i], Value: parts[i+1]})
		}
		r, err := TranslateRequest(fs, end, "https")
		if err != nil || r.Connect { // CONNECT: the engine refuses it as from HTTP/1
			return
		}
		var p http1.Request
		if err := p.Parse(r.Head); err == http1.ErrNoHost {
			return // neither :authority nor host: the engine answers 400, as to HTTP/1
		} else if err != nil {
			t.Fatalf("translated head does not parse: %v\n%q", err, r.Head)
		}
		if p.Len != len(r.Head) {
			t.Fatalf("head is %d bytes, parser read %d", len(r.Head), p.Len)
		}
		regular := 0
		cookie := false
		for _, f := range fs {
			switch {
			case f.Name[0] == ':', f.Name == "host":
			case f.Name == "cookie":
				cookie = true
			default:
				regular++
			}
		}
		if cookie {
			regular++
		}
		if p.Has(http1.FHasHost) {
			regular++
		}
		if r.Chunked {
			regular++
		}
		if p.NHeaders != regular {
			t.Fatalf("%d header lines for %d fields:\n%q", p.NHeaders, regular, r.Head)
		}
		if strings.ContainsAny(r.LogLine, "\r\n") {
			t.Fatalf("log line %q", r.LogLine)
		}
	})
}

// FuzzResponse: any bytes written by the engine translate or fail, never panic, and
// DATA carries no more than the bytes given.
func FuzzResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX: y\r\n\r\n"), 3)
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"), 1)
	f.Fuzz(func(t *testing.T, in []byte, step int) {
		step = max(1, step%64+1)
		r := &Response{}
		var s countSink
		for i := 0; i < len(in); i += step {
			if r.Feed(in[i:min(len(in), i+step)], &s) != nil {
				return
			}
		}
		if s.n > len(in) {
			t.Fatalf("%d DATA bytes out of %d", s.n, len(in))
		}
	})
}

type countSink struct{ n int }

func (s *countSink) headers([]hpack.HeaderField, bool) error { return nil }
func (s *countSink) data(p []byte, _ bool) error             { s.n += len(p); return nil }
