package check

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"tandem/internal/config"
	"tandem/internal/testaddr"
)

// serve answers every connection on a loopback listener with reply(request line).
func serve(t testing.TB, reply func(first string) string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				br := bufio.NewReader(c)
				first, _ := br.ReadString('\n')
				for strings.Contains(first, "HTTP/") { // drain the head
					l, err := br.ReadString('\n')
					if err != nil || l == "\r\n" {
						break
					}
				}
				c.Write([]byte(reply(first)))
			}()
		}
	}()
	return ln.Addr().String()
}

// closedAddr is an address where connections are refused for the whole test.
func closedAddr(t *testing.T) string { return testaddr.Dead(t) }

func ctx1s(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestTCPCheck(t *testing.T) {
	up := serve(t, func(string) string { return "" })
	if r := (&TCP{Addr: up}).Check(ctx1s(t)); r.Status != L4OK {
		t.Errorf("listening: %+v", r)
	}
	r := (&TCP{Addr: closedAddr(t)}).Check(ctx1s(t))
	if r.Status != L4CON || r.Info != "Connection refused" {
		t.Errorf("closed port: %+v, want L4CON \"Connection refused\"", r)
	}
}

func TestHTTPCheck(t *testing.T) {
	resp := func(code int, reason, body string) func(string) string {
		return func(string) string {
			return "HTTP/1.1 " + itoa(code) + " " + reason + "\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body
		}
	}
	tests := []struct {
		name   string
		expect string
		reply  func(string) string
		status Status
		code   int
		info   string
	}{
		{"default 200", "", resp(200, "OK", ""), L7OK, 200, "OK"},
		{"default 302", "", resp(302, "Found", ""), L7OK, 302, "Found"},
		{"default 503", "", resp(503, "Service Unavailable", ""), L7STS, 503, "Service Unavailable"},
		{"status 200 gets 503", "status 200", resp(503, "Service Unavailable", ""), L7STS, 503, "Service Unavailable"},
		{"status list", "status 200,204-206", resp(205, "Reset", ""), L7OK, 205, "Reset"},
		{"negated status", "! status 500", resp(404, "Not Found", ""), L7OK, 404, "Not Found"},
		{"rstatus", "rstatus ^2", resp(299, "X", ""), L7OK, 299, "X"},
		{"string found", "string ready", resp(200, "OK", "all ready now"), L7OK, 200, "OK"},
		{"string missing", "string ready", resp(200, "OK", "busy"), L7RSP, 200, "TCPCHK did not match content 'ready'"},
		{"rstring", "rstring ^ok$", resp(200, "OK", "ok"), L7OK, 200, "OK"},
		{"junk", "", func(string) string { return "SSH-2.0-OpenSSH\r\n" }, L7RSP, 0, "Invalid HTTP response"},
		{"empty", "", func(string) string { return "" }, L7RSP, 0, "Empty response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := serve(t, tt.reply)
			h, err := NewHTTP(addr, config.HealthCheck{HTTP: true, Method: "GET", URI: "/health", Version: "HTTP/1.0", Expect: tt.expect})
			if err != nil {
				t.Fatal(err)
			}
			r := h.Check(ctx1s(t))
			if r.Status != tt.status || r.Code != tt.code || r.Info != tt.info {
				t.Errorf("got %v %d %q, want %v %d %q", r.Status, r.Code, r.Info, tt.status, tt.code, tt.info)
			}
		})
	}
}

func TestHTTPCheckRequest(t *testing.T) {
	got := make(chan string, 1)
	addr := serve(t, func(first string) string { got <- first; return "HTTP/1.0 200 OK\r\n\r\n" })
	h, _ := NewHTTP(addr, config.HealthCheck{HTTP: true, Method: "GET", URI: "/health", Version: "HTTP/1.1", Headers: []string{"X-A: b"}})
	if !strings.Contains(string(h.Request()), "Host: "+addr+"\r\n") || !strings.HasSuffix(string(h.Request()), "X-A: b\r\nHost: "+addr+"\r\nConnection: close\r\n\r\n") {
		t.Errorf("request = %q", h.Request())
	}
	h.Check(ctx1s(t))
	if l := <-got; l != "GET /health HTTP/1.1\r\n" {
		t.Errorf("request line %q", l)
	}
}

func TestHTTPCheckTimeout(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() { // accept, never answer
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	h, _ := NewHTTP(ln.Addr().String(), config.HealthCheck{HTTP: true})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if r := h.Check(ctx); r.Status != L7TOUT {
		t.Errorf("got %+v, want L7TOUT", r)
	}
}

func TestTCPRules(t *testing.T) {
	addr := serve(t, func(first string) string {
		if first == "PING\r\n" {
			return "+PONG\r\n"
		}
		return "-ERR\r\n"
	})
	rules := []config.TCPCheckRule{{Action: "send", Data: "PING\r\n"}, {Action: "expect", Match: "string", Pattern: "+PONG"}}
	tr, err := NewTCPRules(addr, rules)
	if err != nil {
		t.Fatal(err)
	}
	if r := tr.Check(ctx1s(t)); r.Status != L4OK {
		t.Errorf("PING/PONG: %+v", r)
	}
	rules[0].Data = "QUIT\r\n"
	if r := tr.Check(ctx1s(t)); r.Status != L6RSP {
		t.Errorf("wrong answer: %+v, want L6RSP", r)
	}
	neg, _ := NewTCPRules(addr, []config.TCPCheckRule{{Action: "send", Data: "PING\r\n"}, {Action: "expect", Negate: true, Match: "rstring", Pattern: "^-ERR"}})
	if r := neg.Check(ctx1s(t)); r.Status != L4OK {
		t.Errorf("negated expect, good answer: %+v", r)
	}
	neg.Rules[0].Data = "QUIT\r\n"
	if r := neg.Check(ctx1s(t)); r.Status != L6RSP {
		t.Errorf("negated expect, unwanted answer: %+v, want L6RSP", r)
	}
}

func TestParseAgentReply(t *testing.T) {
	tests := []struct {
		in   string
		want AgentReply
	}{
		{"75%\n", AgentReply{Weight: 75, MaxConn: -1}},
		{"drain", AgentReply{Weight: -1, MaxConn: -1, Admin: "drain"}},
		{"up,ready 100%", AgentReply{Weight: 100, MaxConn: -1, Admin: "ready", Oper: "up"}},
		{"down#disk full\r\nignored", AgentReply{Weight: -1, MaxConn: -1, Oper: "down", Desc: "disk full"}},
		{"MAINT\tmaxconn:30", AgentReply{Weight: -1, MaxConn: 30, Admin: "maint"}},
		{"stopped", AgentReply{Weight: -1, MaxConn: -1, Oper: "stopped"}},
		{"fail # broken", AgentReply{Weight: -1, MaxConn: -1, Oper: "fail", Desc: "broken"}},
		{"garbage -5% x%", AgentReply{Weight: -1, MaxConn: -1}},
	}
	for _, tt := range tests {
		if got := ParseAgentReply(tt.in); got != tt.want {
			t.Errorf("%q: %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseAgentReply(f *testing.F) {
	for _, s := range []string{"75%", "drain", "up ready 50%", "down#x", "maxconn:10", "", "%,,\t#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := ParseAgentReply(s)
		if r.Weight < -1 || r.Weight > 1000 || r.MaxConn < -1 {
			t.Fatalf("%q: %+v", s, r)
		}
	})
}

func FuzzParseExpect(f *testing.F) {
	for _, s := range []string{"status 200", "! rstring ^ok", "status 200-299,304", "string x y", "min-recv 3 status 200", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpect(s)
		if err != nil {
			return
		}
		e.judge(200, []byte("body")) // must not panic
	})
}

func itoa(n int) string { return strconv.Itoa(n) }
