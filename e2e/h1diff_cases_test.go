package e2e

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// The cases of the HTTP/1 differential suite (h1diff_test.go), by family.

const okResp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

// onlyHeaderDiffers checks an intended difference: the two results are the same but
// for the header line (canonical form, "name: value") that only one proxy sends, to the
// server (atServer) or to the client; tandemHas says which one.
func onlyHeaderDiffers(atServer bool, line string, tandemHas bool) func(h, t *dResult) error {
	name, _, _ := strings.Cut(line, ":")
	return func(h, t *dResult) error {
		hc, tc := *h, *t
		hc.server, tc.server = nil, nil
		for _, s := range h.server {
			hc.server = append(hc.server, withoutHeader(s, name))
		}
		for _, s := range t.server {
			tc.server = append(tc.server, withoutHeader(s, name))
		}
		hc.client, tc.client = withoutHeader(h.client, name), withoutHeader(t.client, name)
		if d := compareDiff(&hc, &tc); d != "" {
			return fmt.Errorf("differs in %s beyond the %s header", d, name)
		}
		hs, ts := canonHTTP(h.client), canonHTTP(t.client)
		if atServer {
			hs, ts = canonHTTP(strings.Join(h.server, "")), canonHTTP(strings.Join(t.server, ""))
		}
		want := "\r\n" + line + "\r\n"
		if strings.Contains(ts, want) != tandemHas || strings.Contains(hs, want) == tandemHas {
			return fmt.Errorf("%q is not sent by %s alone", line, map[bool]string{true: "tandem", false: "HAProxy"}[tandemHas])
		}
		return nil
	}
}

// get is a keep-alive GET of /path.
func get(path string) string { return "GET /" + path + " HTTP/1.1\r\nHost: h\r\n\r\n" }

// readLine reads one CRLF-ended line (at most 3 s).
func (s *dServer) readLine() string {
	s.c.SetReadDeadline(time.Now().Add(3 * time.Second))
	var b []byte
	one := make([]byte, 1)
	for !strings.HasSuffix(string(b), "\r\n") {
		if _, err := s.read(one); err != nil {
			break
		}
		b = append(b, one[0])
	}
	return string(b)
}

// readBody reads the body the request head announces (content-length or chunked, with
// trailers).
func (s *dServer) readBody(head string) {
	lower := strings.ToLower(head)
	if i := strings.Index(lower, "\r\ncontent-length:"); i >= 0 {
		v := lower[i+len("\r\ncontent-length:"):]
		v = strings.TrimSpace(v[:strings.Index(v, "\r\n")])
		n, _ := strconv.Atoi(v)
		s.readN(n)
		return
	}
	if !strings.Contains(lower, "transfer-encoding: chunked") {
		return
	}
	for range 10000 {
		line := s.readLine()
		n, err := strconv.ParseInt(strings.TrimSpace(strings.SplitN(line, ";", 2)[0]), 16, 64)
		if err != nil {
			return
		}
		if n == 0 {
			for range 100 { // trailers, then the empty line
				if l := s.readLine(); l == "\r\n" || l == "" {
					return
				}
			}
			return
		}
		s.readN(int(n) + 2)
	}
}

// serveOK answers every request of the connection with okResp, after its body.
func serveOK(s *dServer, _ int) {
	for range 100 {
		head := s.readHead()
		if !strings.HasSuffix(head, "\r\n\r\n") {
			return
		}
		s.readBody(head)
		s.send(okResp)
	}
}

// finalThenOK answers the first request head at once with 417 and closes, without
// reading a body; later connections are served by serveOK.
func finalThenOK(s *dServer, n int) {
	if n > 0 {
		serveOK(s, n)
		return
	}
	s.readHead()
	s.send("HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
}

// serveWith reads one request head and body and sends resp, then closes.
func serveWith(resp string) func(*dServer, int) {
	return func(s *dServer, _ int) {
		s.readBody(s.readHead())
		s.send(resp)
	}
}

// settle reads one whole response (at most 3 s), then what else comes within 300 ms:
// well inside the keep-alive timeout, so whether the proxy closed is told reliably.
func (k *dClient) settle() {
	k.readResponse(3 * time.Second)
	if k.end == "open" {
		k.readFor(300 * time.Millisecond)
	}
}

// keepAliveCases: what the proxy does with an idle connection.
func keepAliveCases() []diffCase {
	var cs []diffCase
	for i := range 2 {
		name := fmt.Sprintf("keepalive_timeout_%d", i)
		cs = append(cs, diffCase{name: name, server: serveOK, client: func(k *dClient) {
			k.send(get(name))
			k.readResponse(3 * time.Second)
			k.readFor(dtHTTPRequest + 500*time.Millisecond) // closed at timeout http-keep-alive
		}})
	}
	return cs
}

// twoRequests sends a first request whole, reads its response, then sends second as
// send says, and reads the second response.
func twoRequests(name string, send func(k *dClient, req string)) func(*dClient) {
	return func(k *dClient) {
		k.send(get(name + "/1"))
		k.readResponse(2 * time.Second)
		send(k, get(name+"/2"))
		k.readFor(dtHTTPRequest + 700*time.Millisecond)
	}
}

// parts sends req in n parts (cut evenly), gap apart, then reads.
func parts(n int, gap time.Duration) func(k *dClient, req string) {
	return func(k *dClient, req string) {
		var cuts []int
		for i := 1; i < n; i++ {
			cuts = append(cuts, i*len(req)/n)
		}
		k.sendParts(req, gap, cuts...)
	}
}

// fragmentCases: a request head that arrives in pieces, for the first request of a
// connection and for a later one, around timeout http-request (1 s).
func fragmentCases() []diffCase {
	var cs []diffCase
	margin := 300 * time.Millisecond
	gaps := []struct {
		tag string
		n   int
		gap time.Duration
	}{
		{"2seg_1ms", 2, time.Millisecond},
		{"2seg_60ms", 2, 60 * time.Millisecond},
		{"2seg_300ms", 2, 300 * time.Millisecond},
		{"4seg_60ms", 4, 60 * time.Millisecond},
		{"3seg_300ms", 3, 300 * time.Millisecond},
		{"2seg_under", 2, dtHTTPRequest - margin},
		{"2seg_over", 2, dtHTTPRequest + margin},
	}
	for _, g := range gaps {
		first := "frag_first_" + g.tag
		cs = append(cs, diffCase{name: first, server: serveOK, client: func(k *dClient) {
			parts(g.n, g.gap)(k, get(first))
			k.readFor(dtHTTPRequest + 500*time.Millisecond)
		}})
		later := "frag_later_" + g.tag
		cs = append(cs, diffCase{name: later, server: serveOK, client: twoRequests(later, parts(g.n, g.gap))})
	}
	cs = append(cs,
		diffCase{name: "frag_first_bytewise", server: serveOK, client: func(k *dClient) {
			k.sendBytes(get("frag_first_bytewise"), time.Millisecond)
			k.settle()
		}},
		diffCase{name: "frag_later_bytewise", server: serveOK, client: twoRequests("frag_later_bytewise", func(k *dClient, req string) {
			k.sendBytes(req, time.Millisecond)
		})},
		// parked between requests (idle > 50 ms), then resumed
		diffCase{name: "park_resume", server: serveOK, client: twoRequests("park_resume", func(k *dClient, req string) {
			time.Sleep(150 * time.Millisecond)
			k.send(req)
		})},
		diffCase{name: "park_resume_frag", server: serveOK, client: twoRequests("park_resume_frag", func(k *dClient, req string) {
			time.Sleep(150 * time.Millisecond)
			parts(3, 100*time.Millisecond)(k, req)
		})},
		// nothing sent: 408 after timeout http-request
		diffCase{name: "frag_nothing", server: serveOK, client: func(k *dClient) {
			k.readFor(dtHTTPRequest + 500*time.Millisecond)
		}},
	)
	return cs
}

// bodyCases: request bodies that arrive in pieces, 100-continue and trailers.
func bodyCases() []diffCase {
	post := func(path, hdr, body string) string {
		return "POST /" + path + " HTTP/1.1\r\nHost: h\r\n" + hdr + "\r\n" + body
	}
	chunked := "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
	trailers := "5\r\nhello\r\n0\r\nX-Sum: 5\r\n\r\n"
	return []diffCase{
		{name: "body_cl_parts", server: serveOK, client: func(k *dClient) {
			req := post("body_cl_parts", "Content-Length: 11\r\n", "hello world")
			k.sendParts(req, 60*time.Millisecond, len(req)-11, len(req)-6, len(req)-2)
			k.readResponse(2 * time.Second)
		}},
		{name: "body_chunked_parts", server: serveOK, client: func(k *dClient) {
			req := post("body_chunked_parts", "Transfer-Encoding: chunked\r\n", chunked)
			k.sendParts(req, 60*time.Millisecond, len(req)-len(chunked), len(req)-len(chunked)+2, len(req)-10, len(req)-3)
			k.readResponse(2 * time.Second)
		}},
		{name: "body_chunked_bytewise", server: serveOK, client: func(k *dClient) {
			req := post("body_chunked_bytewise", "Transfer-Encoding: chunked\r\n", chunked)
			k.send(req[:len(req)-len(chunked)])
			k.sendBytes(chunked, time.Millisecond)
			k.readResponse(2 * time.Second)
		}},
		{name: "body_trailers", server: serveOK, client: func(k *dClient) {
			k.send(post("body_trailers", "Transfer-Encoding: chunked\r\n", trailers))
			k.readResponse(2 * time.Second)
		}},
		{name: "body_trailers_parts", server: serveOK, client: func(k *dClient) {
			req := post("body_trailers_parts", "Transfer-Encoding: chunked\r\n", trailers)
			k.sendParts(req, 60*time.Millisecond, len(req)-8, len(req)-2)
			k.readResponse(2 * time.Second)
		}},
		{name: "body_resp_chunked_trailers", server: serveWith("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + trailers), client: func(k *dClient) {
			k.send(get("body_resp_chunked_trailers"))
			k.readFor(500 * time.Millisecond)
		}},
		{name: "body_gap_under_client", be: []string{"timeout server 5s"}, server: serveOK, client: func(k *dClient) {
			req := post("body_gap_under_client", "Content-Length: 11\r\n", "hello world")
			k.sendParts(req, dtClient-300*time.Millisecond, len(req)-6)
			k.readResponse(time.Second)
		}},
		{name: "body_gap_over_client", be: []string{"timeout server 5s"}, server: serveOK, client: func(k *dClient) {
			req := post("body_gap_over_client", "Content-Length: 11\r\n", "hello world")
			k.sendParts(req, dtClient+300*time.Millisecond, len(req)-6)
			k.readResponse(time.Second)
		}},
		{name: "continue_100", server: func(s *dServer, _ int) {
			head := s.readHead()
			s.send("HTTP/1.1 100 Continue\r\n\r\n")
			s.readBody(head)
			s.send(okResp)
		}, client: func(k *dClient) {
			k.send(post("continue_100", "Content-Length: 5\r\nExpect: 100-continue\r\n", ""))
			k.readFor(300 * time.Millisecond)
			k.send("hello")
			k.readResponse(2 * time.Second)
		}},
		{name: "continue_final", server: func(s *dServer, _ int) {
			s.readHead()
			s.send("HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		}, client: func(k *dClient) {
			k.send(post("continue_final", "Content-Length: 5\r\nExpect: 100-continue\r\n", ""))
			k.settle()
		}},
		// after a final answer that came before the body, the server gone: the body is
		// still read whole, then the next request is served; what is sent in place of
		// the body is read as the body, never as a request
		{name: "continue_final_body_then_get", server: finalThenOK, client: func(k *dClient) {
			k.send(post("continue_final_body_then_get", "Content-Length: 5\r\nExpect: 100-continue\r\n", ""))
			k.readResponse(time.Second)
			k.send("hello")
			time.Sleep(100 * time.Millisecond)
			k.send(get("continue_final_body_then_get/next"))
			k.settle()
		}},
		{name: "continue_final_smuggle", server: finalThenOK, client: func(k *dClient) {
			k.send(post("continue_final_smuggle", "Content-Length: 5\r\nExpect: 100-continue\r\n", ""))
			k.readResponse(time.Second)
			k.send(get("continue_final_smuggle/x"))
			k.settle()
		}},
		{name: "continue_final_chunked_smuggle", server: finalThenOK, client: func(k *dClient) {
			k.send(post("continue_final_chunked_smuggle", "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n", ""))
			k.readResponse(time.Second)
			k.send(get("continue_final_chunked_smuggle/x"))
			k.settle()
		}},
		{name: "continue_final_silent", server: finalThenOK, client: func(k *dClient) {
			k.send(post("continue_final_silent", "Content-Length: 5\r\nExpect: 100-continue\r\n", ""))
			k.readFor(dtClient + 500*time.Millisecond)
		}},
		{name: "final_before_body_then_get", server: finalThenOK, client: func(k *dClient) {
			k.send(post("final_before_body_then_get", "Content-Length: 5\r\n", ""))
			k.readResponse(time.Second)
			k.send("hello")
			time.Sleep(100 * time.Millisecond)
			k.send(get("final_before_body_then_get/next"))
			k.settle()
		}},
	}
}

// tunnelCases: an Upgrade and TCP mode.
func tunnelCases() []diffCase {
	echo := func(s *dServer, _ int) {
		s.c.SetReadDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 100)
		for range 10 {
			n, err := s.read(buf)
			if err != nil {
				return
			}
			s.send(strings.ToUpper(string(buf[:n])))
		}
	}
	return []diffCase{
		{name: "upgrade_ws_nokey", server: func(s *dServer, n int) {
			s.readHead()
			s.send("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
			echo(s, n)
		}, client: func(k *dClient) {
			k.send("GET /upgrade_ws_nokey HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
			k.readFor(400 * time.Millisecond)
			k.send("ping")
			k.readFor(400 * time.Millisecond)
			k.sendParts("frag", 60*time.Millisecond, 2)
			k.readFor(400 * time.Millisecond)
		}},
		{name: "upgrade_ws_key", server: func(s *dServer, n int) {
			s.readHead()
			s.send("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
			echo(s, n)
		}, client: func(k *dClient) {
			k.send("GET /upgrade_ws_key HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
			k.readFor(400 * time.Millisecond)
			k.send("ping")
			k.readFor(400 * time.Millisecond)
		}},
		{name: "upgrade_other", server: func(s *dServer, n int) {
			s.readHead()
			s.send("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n")
			echo(s, n)
		}, client: func(k *dClient) {
			k.send("GET /upgrade_other HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n")
			k.readFor(400 * time.Millisecond)
			k.send("ping")
			k.readFor(400 * time.Millisecond)
		}},
		{name: "upgrade_tunnel_server_reset", server: func(s *dServer, n int) {
			s.readHead()
			s.send("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n")
			s.readN(4)
			s.send("PONG")
			time.Sleep(100 * time.Millisecond)
			s.reset()
		}, client: func(k *dClient) {
			k.send("GET /upgrade_tunnel_server_reset HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n")
			k.readFor(200 * time.Millisecond)
			k.send("ping")
			k.settle()
		}},
		{name: "upgrade_tunnel_client_reset", server: func(s *dServer, n int) {
			s.readHead()
			s.send("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n")
			s.drain(time.Second)
		}, client: func(k *dClient) {
			k.send("GET /upgrade_tunnel_client_reset HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n")
			k.readFor(200 * time.Millisecond)
			k.abort()
		}},
		{name: "upgrade_tunnel_timeout", fe: []string{"timeout client 500ms"}, be: []string{"timeout server 5s"}, server: func(s *dServer, n int) {
			s.readHead()
			s.send("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n")
			s.drain(2 * time.Second)
		}, client: func(k *dClient) {
			k.send("GET /upgrade_tunnel_timeout HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n")
			k.readFor(1500 * time.Millisecond)
		}},
		{name: "upgrade_ws_list_nokey", server: serveWith("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"), client: func(k *dClient) {
			k.send("GET /upgrade_ws_list_nokey HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: foo, WebSocket\r\nSec-WebSocket-Version: 13\r\n\r\n")
			k.settle()
		}},
		{name: "upgrade_ws_noaccept", server: serveWith("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"), client: func(k *dClient) {
			k.send("GET /upgrade_ws_noaccept HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
			k.settle()
		}},
		{name: "upgrade_unrequested_101", server: serveWith("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n"), client: func(k *dClient) {
			k.send(get("upgrade_unrequested_101"))
			k.settle()
		}},
		{name: "upgrade_without_connection", server: serveOK, client: func(k *dClient) {
			k.send("GET /upgrade_without_connection HTTP/1.1\r\nHost: h\r\nUpgrade: foo\r\n\r\n")
			k.settle()
		}, diff: "an Upgrade header that Connection does not name is not forwarded (HAProxy forwards it)",
			check: onlyHeaderDiffers(true, "upgrade: foo", false)},
		{name: "upgrade_refused", server: serveWith("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno"), client: func(k *dClient) {
			k.send("GET /upgrade_refused HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
			k.readResponse(time.Second)
		}},
		{name: "tcp_echo", tcp: true, server: echo, client: func(k *dClient) {
			k.send("hello")
			k.readFor(400 * time.Millisecond)
			k.sendParts("in parts", 60*time.Millisecond, 3, 5)
			k.readFor(300 * time.Millisecond)
		}},
		{name: "tcp_halfclose", tcp: true, server: func(s *dServer, _ int) {
			s.drain(time.Second) // until the client's FIN
			s.send("bye")
		}, client: func(k *dClient) {
			k.send("hello")
			k.c.(*net.TCPConn).CloseWrite()
			k.settle()
		}},
		{name: "tcp_client_timeout", tcp: true, fe: []string{"timeout client 500ms"}, be: []string{"timeout server 5s"}, server: func(s *dServer, _ int) {
			s.drain(2 * time.Second)
		}, client: func(k *dClient) {
			k.send("hello")
			k.readFor(1500 * time.Millisecond)
		}},
		{name: "tcp_server_timeout", tcp: true, be: []string{"timeout server 500ms"}, server: func(s *dServer, _ int) {
			s.drain(2 * time.Second)
		}, client: func(k *dClient) {
			k.send("hello")
			k.readFor(1500 * time.Millisecond)
		}},
		{name: "tcp_server_reset", tcp: true, server: func(s *dServer, _ int) {
			s.readN(5)
			s.send("bye")
			time.Sleep(100 * time.Millisecond)
			s.reset()
		}, client: func(k *dClient) {
			k.send("hello")
			k.readFor(time.Second)
		}},
		{name: "tcp_client_reset", tcp: true, server: func(s *dServer, _ int) {
			s.drain(time.Second)
		}, client: func(k *dClient) {
			k.send("hello")
			time.Sleep(200 * time.Millisecond)
			k.abort()
		}},
		{name: "tcp_server_closes", tcp: true, server: func(s *dServer, _ int) {
			s.readN(5)
			s.send("bye")
		}, client: func(k *dClient) {
			k.send("hello")
			k.settle()
		}},
	}
}

// earlyCases: the server answers or closes before the request is whole, the client
// leaves early, bodies end badly (issue 9 §2 and §3).
func earlyCases() []diffCase {
	big := strings.Repeat("x", 64<<10)
	upload := func(path string) string {
		return fmt.Sprintf("POST /%s HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n", path, 4*len(big))
	}
	body := func(n int) string {
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", n)
	}
	return []diffCase{
		{name: "early_413_upload", server: func(s *dServer, _ int) {
			s.readHead()
			s.readN(1000)
			s.send("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			s.drain(300 * time.Millisecond)
		}, client: func(k *dClient) {
			k.send(upload("early_413_upload"))
			k.send(big)
			k.settle()
		}},
		{name: "early_401_keep", server: func(s *dServer, _ int) {
			s.readHead()
			s.send("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
			s.drain(time.Second)
		}, client: func(k *dClient) {
			k.send(upload("early_401_keep"))
			k.send(big)
			k.settle()
		}},
		{name: "close_no_answer", server: func(s *dServer, _ int) {
			s.readHead()
		}, client: func(k *dClient) {
			k.send(get("close_no_answer"))
			k.settle()
		}},
		{name: "server_own_502", server: serveWith("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbad"), client: func(k *dClient) {
			k.send(get("server_own_502"))
			k.settle()
		}},
		{name: "server_own_502_close", server: serveWith("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad"), client: func(k *dClient) {
			k.send("GET /server_own_502_close HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
			k.settle()
		}},
		{name: "server_close_delimited", server: serveWith("HTTP/1.1 200 OK\r\n\r\nuntil the end"), client: func(k *dClient) {
			k.send(get("server_close_delimited"))
			k.settle()
		}},
		{name: "server_garbage", server: serveWith("NOT HTTP AT ALL\r\n\r\n"), client: func(k *dClient) {
			k.send(get("server_garbage"))
			k.settle()
		}},
		{name: "server_fin_mid_body", server: serveWith(body(100) + "only part"), client: func(k *dClient) {
			k.send(get("server_fin_mid_body"))
			k.settle()
		}},
		{name: "server_rst_mid_body", server: func(s *dServer, _ int) {
			s.readHead()
			s.send(body(100) + "only part")
			time.Sleep(50 * time.Millisecond)
			s.reset()
		}, client: func(k *dClient) {
			k.send(get("server_rst_mid_body"))
			k.settle()
		}},
		{name: "server_bad_chunk_mid_body", server: func(s *dServer, _ int) {
			s.readHead()
			s.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
			time.Sleep(200 * time.Millisecond) // apart: a bad chunk in the first buffer is a 502
			s.send("zz\r\nbad\r\n")
			s.drain(300 * time.Millisecond)
		}, client: func(k *dClient) {
			k.send(get("server_bad_chunk_mid_body"))
			k.settle()
		}},
		{name: "server_chunk_overflow", server: serveWith("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nhello\r\n"), client: func(k *dClient) {
			k.send(get("server_chunk_overflow"))
			k.settle()
		}},
		{name: "server_stall_mid_body", server: func(s *dServer, _ int) {
			s.readHead()
			s.send(body(100) + "only part")
			s.drain(dtServer + 500*time.Millisecond)
		}, client: func(k *dClient) {
			k.send(get("server_stall_mid_body"))
			k.readFor(dtServer + 500*time.Millisecond)
		}},
		{name: "client_close_mid_response", be: []string{"timeout server 5s"}, server: func(s *dServer, _ int) {
			s.readHead()
			s.send(body(100) + "only part")
			s.drain(1200 * time.Millisecond) // the client has reset the connection by then
			s.send(strings.Repeat("y", 91))
		}, client: func(k *dClient) {
			k.send(get("client_close_mid_response"))
			k.readFor(500 * time.Millisecond)
			k.abort()
		}},
		{name: "client_close_waiting", server: func(s *dServer, _ int) {
			s.readHead()
			time.Sleep(500 * time.Millisecond)
			s.send(okResp)
		}, client: func(k *dClient) {
			k.send(get("client_close_waiting"))
			time.Sleep(100 * time.Millisecond)
			k.abort()
		}},
		{name: "client_halfclose_waiting", server: func(s *dServer, _ int) {
			s.readHead()
			time.Sleep(300 * time.Millisecond)
			s.send(okResp)
		}, client: func(k *dClient) {
			k.send(get("client_halfclose_waiting"))
			k.c.(*net.TCPConn).CloseWrite()
			k.settle()
		}},
		{name: "upload_server_timeout", server: func(s *dServer, _ int) {
			s.readHead()
			s.drain(dtClient + time.Second)
		}, client: func(k *dClient) {
			k.send(upload("upload_server_timeout") + "part of it")
			k.readFor(dtClient + 500*time.Millisecond)
		}},
		{name: "client_timeout_upload", fe: []string{"timeout client 500ms"}, be: []string{"timeout server 1500ms"}, server: func(s *dServer, _ int) {
			s.readHead()
			s.drain(dtClient + time.Second)
		}, client: func(k *dClient) {
			k.send(upload("client_timeout_upload") + "part of it")
			k.readFor(dtClient + 500*time.Millisecond)
		}},
		{name: "server_timeout_head", server: func(s *dServer, _ int) {
			s.readHead()
			s.drain(dtServer + 500*time.Millisecond)
		}, client: func(k *dClient) {
			k.send(get("server_timeout_head"))
			k.readFor(dtServer + 500*time.Millisecond)
		}},
		{name: "early_413_close", server: func(s *dServer, _ int) {
			s.readHead()
			s.send("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		}, client: func(k *dClient) {
			k.send(upload("early_413_close"))
			k.send(big)
			k.settle()
		}},
		{name: "bad_chunk_request_later", server: serveOK, client: func(k *dClient) {
			k.send("POST /bad_chunk_request_later HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
			time.Sleep(100 * time.Millisecond)
			k.send("zz\r\nhello\r\n0\r\n\r\n")
			k.settle()
		}},
		{name: "pipelined", server: serveOK, client: func(k *dClient) {
			k.send(get("pipelined/1") + get("pipelined/2"))
			k.readResponses(2, 3*time.Second)
			k.readFor(300 * time.Millisecond)
		}},
		{name: "http10", server: serveWith("HTTP/1.0 200 OK\r\n\r\nold"), client: func(k *dClient) {
			k.send("GET /http10 HTTP/1.0\r\n\r\n")
			k.settle()
		}, diff: "to an HTTP/1.0 client, tandem adds Connection: close to a response that ends with the connection",
			check: onlyHeaderDiffers(false, "connection: close", true)},
		{name: "client_abort_upload", server: func(s *dServer, _ int) {
			s.readHead()
			s.drain(time.Second)
		}, client: func(k *dClient) {
			k.send(upload("client_abort_upload") + "part of it")
			time.Sleep(300 * time.Millisecond)
		}},
		{name: "client_stops_reading", be: []string{"timeout server 5s"}, server: func(s *dServer, _ int) {
			s.readHead()
			s.c.SetWriteDeadline(time.Now().Add(dtClient + time.Second))
			s.c.Write([]byte(body(64 << 20)))
			for range 64 {
				if _, err := s.c.Write([]byte(strings.Repeat("z", 1<<20))); err != nil {
					return
				}
			}
		}, client: func(k *dClient) {
			k.send(get("client_stops_reading"))
			time.Sleep(dtClient + 500*time.Millisecond)
		}},
		{name: "empty_line_first", server: serveOK, client: func(k *dClient) {
			k.send("\r\n" + get("empty_line_first"))
			k.readResponse(time.Second)
		}},
		{name: "bad_chunk_request", server: serveOK, client: func(k *dClient) {
			k.send("POST /bad_chunk_request HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
			k.settle()
		}},
	}
}

// backpressureCases: big bodies through a slow reader.
func backpressureCases() []diffCase {
	const n = 4 << 20
	return []diffCase{
		{name: "bp_chunked_download_slow_reader", server: func(s *dServer, _ int) {
			s.readHead()
			s.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			s.c.Write([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"))
			chunk := fmt.Sprintf("%x\r\n%s\r\n", 64<<10, strings.Repeat("c", 64<<10))
			for range n / (64 << 10) {
				s.c.Write([]byte(chunk))
			}
			s.c.Write([]byte("0\r\n\r\n"))
		}, client: func(k *dClient) {
			k.send(get("bp_chunked_download_slow_reader"))
			time.Sleep(300 * time.Millisecond) // buffers fill
			k.readUntilSuffix("\r\n0\r\n\r\n", 5*time.Second)
			k.readFor(300 * time.Millisecond)
		}},
		{name: "bp_download_slow_reader", server: func(s *dServer, _ int) {
			s.readHead()
			s.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			s.c.Write([]byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", n)))
			s.c.Write([]byte(strings.Repeat("d", n)))
		}, client: func(k *dClient) {
			k.send(get("bp_download_slow_reader"))
			time.Sleep(300 * time.Millisecond) // buffers fill
			k.readResponse(5 * time.Second)
		}},
		{name: "bp_upload_slow_server", server: func(s *dServer, _ int) {
			s.readHead()
			time.Sleep(300 * time.Millisecond)
			s.readN(n)
			s.send(okResp)
		}, client: func(k *dClient) {
			k.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			k.send(fmt.Sprintf("POST /bp_upload_slow_server HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n", n))
			k.send(strings.Repeat("u", n))
			k.readResponse(5 * time.Second)
		}},
	}
}

// h1DiffCases is the whole suite.
func h1DiffCases() []diffCase {
	var cs []diffCase
	cs = append(cs, fragmentCases()...)
	cs = append(cs, bodyCases()...)
	cs = append(cs, tunnelCases()...)
	cs = append(cs, earlyCases()...)
	cs = append(cs, backpressureCases()...)
	cs = append(cs, keepAliveCases()...)
	return cs
}
