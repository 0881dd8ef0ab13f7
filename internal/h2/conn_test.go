package h2

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// echoEngine stands in for the HTTP/1 engine: it reads one HTTP/1.1 request from the
// stream adapter and answers with what it saw, as a chunked response with a trailer
// when the path is /chunked, else with a content-length.
func echoEngine(c net.Conn, done func()) {
	go func() {
		defer done()
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		var head bytes.Buffer
		fmt.Fprintf(&head, "%s %s host=%s cookie=%q te=%q len=%d\n", req.Method, req.RequestURI, req.Host,
			req.Header.Get("Cookie"), req.TransferEncoding, len(body))
		switch {
		case strings.HasPrefix(req.URL.Path, "/big/"):
			var n int
			fmt.Sscanf(req.URL.Path, "/big/%d", &n)
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: keep-alive\r\n\r\n", n)
			chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
			for n > 0 {
				k := min(n, len(chunk))
				if _, err := c.Write(chunk[:k]); err != nil {
					return
				}
				n -= k
			}
		case req.URL.Path == "/sum":
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%d", len(fmt.Sprint(len(body))), len(body))
		case req.URL.Path == "/chunked":
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n%x\r\n%s\r\n0\r\nX-T: yes\r\n\r\n", head.Len(), head.Bytes())
		default:
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nKeep-Alive: timeout=5\r\nX-Up: A\r\n\r\n%s", head.Len(), head.Bytes())
		}
		io.Copy(io.Discard, br) // until EOF: the stream ends
	}()
}

// startServer serves h2c on a loopback listener until the test ends.
func startServer(t *testing.T, o Options, serve ServeFunc) (addr string, sv *Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sv = NewServer()
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		sv.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				Serve(c, o, sv, serve)
			}()
		}
	}()
	return ln.Addr().String(), sv
}

func h2cClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}, Timeout: 20 * time.Second}
}

func TestServeTranslatesBothWays(t *testing.T) {
	o := DefaultOptions()
	o.Scheme = "http"
	addr, _ := startServer(t, o, echoEngine)
	cl := h2cClient()
	req, _ := http.NewRequest("GET", "http://"+addr+"/x?y=1", nil)
	req.Header.Add("Cookie", "a=1")
	req.Header.Add("Cookie", "b=2")
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
		t.Fatalf("proto %s status %d", resp.Proto, resp.StatusCode)
	}
	want := fmt.Sprintf("GET /x?y=1 host=%s cookie=\"a=1; b=2\" te=[] len=0\n", addr)
	if string(b) != want {
		t.Fatalf("engine saw %q, want %q", b, want)
	}
	if resp.Header.Get("Keep-Alive") != "" || resp.Header.Get("X-Up") != "A" {
		t.Fatalf("headers %v: hop-by-hop kept or end-to-end lost", resp.Header)
	}

	// chunked response with a trailer
	resp, err = cl.Get("http://" + addr + "/chunked")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(b), "GET /chunked") || resp.Trailer.Get("X-T") != "yes" {
		t.Fatalf("chunked: body %q trailer %v", b, resp.Trailer)
	}

	// a body without content-length reaches the engine chunked
	pr, pw := io.Pipe()
	go func() {
		pw.Write(bytes.Repeat([]byte("z"), 100000))
		pw.Close()
	}()
	resp, err = cl.Post("http://"+addr+"/sum", "text/plain", pr)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "100000" {
		t.Fatalf("upload: engine counted %q bytes", b)
	}
}

// TestShortBodyAgainstContentLengthIsReset: END_STREAM on DATA that fall short of the
// request's content-length makes it malformed (RFC 9113 §8.1.1): the stream is reset,
// the body is never whole for the engine.
func TestShortBodyAgainstContentLengthIsReset(t *testing.T) {
	o := DefaultOptions()
	o.Scheme = "http"
	addr, _ := startServer(t, o, echoEngine)
	r := dialRaw(t, addr)
	fields := hf(":method", "POST", ":scheme", "http", ":authority", "a", ":path", "/sum", "content-length", "5")
	if err := r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: r.block(fields), EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	if err := r.fr.WriteData(1, true, []byte("ab")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		n, ended := r.rsts, r.ended[1]
		r.mu.Unlock()
		if ended {
			t.Fatal("the stream was answered: the short body was taken as whole")
		}
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no RST_STREAM for a body shorter than its content-length")
}
