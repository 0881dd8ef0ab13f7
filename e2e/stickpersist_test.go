package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func stickPersistConfig(sock, httpBind, tcpBind string, w [3]*web) string {
	return fmt.Sprintf(`global
    stats socket %s mode 600 level admin
defaults
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    mode http
    bind %s
    use_backend resp if { path_beg /r }
    default_backend app
backend app
    mode http
    balance roundrobin
    stick-table type string len 32 size 100 expire 30s
    stick on req.hdr(x-user) if { req.hdr(x-user) -m found }
    server s1 %s
    server s2 %s
    server s3 %s
backend resp
    mode http
    balance roundrobin
    stick-table type string len 32 size 100 expire 30s
    stick match req.hdr(x-sticky)
    stick store-response res.hdr(x-tag)
    server s1 %s
    server s2 %s
    server s3 %s
listen tcp
    mode tcp
    bind %s
    balance roundrobin
    stick-table type ip size 100 expire 30s
    stick on src
    server s1 %s
    server s2 %s
    server s3 %s
`, sock, httpBind, w[0].addr, w[1].addr, w[2].addr, w[0].addr, w[1].addr, w[2].addr, tcpBind, w[0].addr, w[1].addr, w[2].addr)
}

// tagWebs are three web servers answering with their name, in the body and in X-Tag.
func tagWebs(t *testing.T) [3]*web {
	var ws [3]*web
	for i := range ws {
		name := fmt.Sprintf("w%d", i+1)
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			rw.Header().Set("X-Tag", name)
			io.WriteString(rw, name)
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		ws[i] = &web{name: name, addr: ln.Addr().String()}
	}
	return ws
}

// persistRun sends the same requests to addr (HTTP, each on its own connection) and
// returns which web server answered each.
func persistRun(t *testing.T, httpAddr, tcpAddr string) []string {
	var out []string
	get := func(addr, path string, hdr map[string]string) string {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		req := "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
		for k, v := range hdr {
			req += k + ": " + v + "\r\n"
		}
		io.WriteString(c, req+"\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s %s: %v", addr, path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return fmt.Sprintf("%d %s", resp.StatusCode, b)
	}
	for _, u := range []string{"alice", "bob", "alice", "carol", "", "bob", "dave", "alice", "", "carol"} {
		h := map[string]string{}
		if u != "" {
			h["X-User"] = u
		}
		out = append(out, "on "+u+": "+get(httpAddr, "/", h))
	}
	// store-response: the server's name is the key; a request naming it sticks to it.
	for _, s := range []string{"", "w3", "w3", "w1", "nobody", "w2", "w3"} {
		h := map[string]string{}
		if s != "" {
			h["X-Sticky"] = s
		}
		out = append(out, "match "+s+": "+get(httpAddr, "/r", h))
	}
	// mode tcp, stick on src: every connection of this source goes where the first went.
	for i := 0; i < 4; i++ {
		out = append(out, "tcp: "+get(tcpAddr, "/", nil))
	}
	return out
}

var tableLineRE = regexp.MustCompile(`0x[0-9a-f]+: `)
var expRE = regexp.MustCompile(` exp=\d+`)

// TestStickPersistenceMatchesHAProxy: stick on (HTTP header key, and src in mode tcp),
// stick match with stick store-response: the same requests reach the same servers
// through Debian's haproxy and tandem, and `show table` lists the same entries (keys,
// server_id).
func TestStickPersistenceMatchesHAProxy(t *testing.T) {
	w := tagWebs(t)
	dir := t.TempDir()
	hSock, tSock := filepath.Join(dir, "h.sock"), filepath.Join(dir, "t.sock")
	hHTTP, hTCP, tHTTP, tTCP := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	startHAProxy(t, stickPersistConfig(hSock, hHTTP, hTCP, w), hSock)
	startTandem(t, stickPersistConfig(tSock, tHTTP, tTCP, w), tHTTP)
	h, tn := persistRun(t, hHTTP, hTCP), persistRun(t, tHTTP, tTCP)
	for i := range h {
		if h[i] != tn[i] {
			t.Errorf("request %d:\n haproxy %s\n tandem  %s", i, h[i], tn[i])
		}
	}
	t.Logf("\n%s", strings.Join(h, "\n"))
	for _, tbl := range []string{"app", "resp", "tcp"} {
		norm := func(s string) string {
			s = tableLineRE.ReplaceAllString(s, "")
			return strings.TrimSpace(expRE.ReplaceAllString(s, ""))
		}
		hs, ts := norm(ask(t, hSock, "show table "+tbl)), norm(ask(t, tSock, "show table "+tbl))
		if hs != ts {
			t.Errorf("show table %s:\nhaproxy:\n%s\ntandem:\n%s", tbl, hs, ts)
		}
	}
}
