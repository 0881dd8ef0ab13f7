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

	"tandem/internal/stick"
)

// statusServer answers each request with the status its path names (/404 → 404),
// 200 otherwise.
func statusServer(t *testing.T) string {
	addr, _ := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			code := 200
			fmt.Sscanf(req.URL.Path, "/%d", &code)
			fmt.Fprintf(c, "HTTP/1.1 %d X\r\nContent-Length: 2\r\n\r\nok", code)
		}
	})
	return addr
}

const trackCfg = `defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:1
    stick-table type ip size 10 expire 30s store http_req_cnt,http_err_cnt,http_fail_cnt,conn_cur,conn_cnt,bytes_in_cnt,bytes_out_cnt
    tcp-request connection reject if { src_conn_cur ge 2 }
    tcp-request connection track-sc1 src
    tcp-request content reject if { req.hdr(x-drop) -m found }
    http-request track-sc0 src
    http-request deny deny_status 429 if { sc0_http_req_cnt gt 20 }
    default_backend be
backend be
    server s {s}
`

// TestTrackLoopback: tcp-request connection rules track the source for the connection
// and refuse a third concurrent one (src_conn_cur); tcp-request content rules close a
// request without an answer; http-request track-sc0 tracks each request; requests,
// 4xx (errors), 5xx but 501 (failures) and bytes are counted; the request's tracker
// ends with it and the connection's with the connection.
func TestTrackLoopback(t *testing.T) {
	h, addr := rulesProxy(t, strings.ReplaceAll(trackCfg, "{s}", statusServer(t)), nil)
	tab := h.route.Load().r.Tables["fe"]
	k, _ := tab.KeyAddr(netip.MustParseAddr("127.0.0.1"))
	get := func(d stick.Data) uint64 {
		e := tab.Lookup(k, time.Now())
		if e == nil {
			return 0
		}
		v, _ := e.Get(d, time.Now())
		return v
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	do := func(path string) int {
		t.Helper()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, p := range []string{"/", "/404", "/503", "/501", "/"} {
		do(p)
	}
	// The last request's tracker ends just after its response is sent.
	for deadline := time.Now().Add(3 * time.Second); get(stick.ConnCur) != 1 && time.Now().Before(deadline); {
		time.Sleep(2 * time.Millisecond)
	}
	// Each request counts on sc1 (the connection's) and on sc0 (its own), one entry.
	for _, c := range []struct {
		d    stick.Data
		want uint64
	}{{stick.HTTPReqCnt, 10}, {stick.HTTPErrCnt, 2}, {stick.HTTPFailCnt, 2}, {stick.ConnCur, 1}, {stick.ConnCnt, 6}} {
		if got := get(c.d); got != c.want {
			t.Errorf("%v = %d, want %d", c.d, got, c.want)
		}
	}
	if get(stick.BytesInCnt) == 0 || get(stick.BytesOutCnt) == 0 {
		t.Errorf("bytes not counted: in %d out %d", get(stick.BytesInCnt), get(stick.BytesOutCnt))
	}

	// A second connection is tracked; a third is refused at once.
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	deadline := time.Now().Add(3 * time.Second)
	for get(stick.ConnCur) != 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// Refused with a reset, as HAProxy does: it may come before the dial returns.
	if c3, err := net.Dial("tcp", addr); err == nil {
		c3.SetDeadline(time.Now().Add(3 * time.Second))
		fmt.Fprintf(c3, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if b, err := io.ReadAll(c3); len(b) != 0 || err == nil || !strings.Contains(err.Error(), "reset") {
			t.Errorf("third connection: got %q, %v; want a reset without an answer", b, err)
		}
		c3.Close()
	} else if !strings.Contains(err.Error(), "reset") {
		t.Fatal(err)
	}
	c2.Close()

	// tcp-request content reject: closed without an answer.
	c.SetDeadline(time.Now().Add(3 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Drop: 1\r\n\r\n")
	if b, err := io.ReadAll(br); len(b) != 0 || err != nil && !strings.Contains(err.Error(), "reset") {
		t.Errorf("content reject: got %q, %v", b, err)
	}
	c.Close()
	for get(stick.ConnCur) != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := get(stick.ConnCur); got != 0 {
		t.Errorf("conn_cur = %d after every connection closed, want 0", got)
	}
}

// TestBackendContentRulesHTTP: the chosen backend's tcp-request content rules run on
// each request after the frontend's rules and use_backend; a reject closes the
// connection without an answer.
func TestBackendContentRulesHTTP(t *testing.T) {
	text := `defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:1
    default_backend be
backend be
    tcp-request content reject if { req.hdr(x-no) -m found }
    server s {s}
`
	_, addr := rulesProxy(t, strings.ReplaceAll(text, "{s}", statusServer(t)), nil)
	for _, c := range []struct {
		hdr    string
		answer bool
	}{{"", true}, {"X-No: 1\r\n", false}} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(3 * time.Second))
		fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n", c.hdr)
		b, _ := io.ReadAll(conn)
		conn.Close()
		if got := strings.HasPrefix(string(b), "HTTP/1.1 200"); got != c.answer {
			t.Errorf("%q: answered %q", c.hdr, b)
		}
	}
}
