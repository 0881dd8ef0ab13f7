package httpproxy

import (
	"io"
	"net"
	"regexp"
	"strings"
	"testing"

	"tandem/internal/http1"
)

func TestUpgradesTo(t *testing.T) {
	tests := []struct {
		upgrade string
		want    bool
	}{
		{"websocket", true},
		{"WebSocket", true},
		{"foo, websocket", true},
		{"websocket/13", true},
		{" websocket ,h2c", true},
		{"websocket2", false},
		{"foo", false},
		{"", false},
	}
	for _, tt := range tests {
		raw := []byte("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: " + tt.upgrade + "\r\n\r\n")
		var req http1.Request
		if err := req.Parse(raw); err != nil {
			t.Fatalf("%q: %v", tt.upgrade, err)
		}
		if got := upgradesTo(&req.Head, raw, "websocket"); got != tt.want {
			t.Errorf("Upgrade: %q: upgradesTo websocket = %v, want %v", tt.upgrade, got, tt.want)
		}
	}
}

func FuzzUpgradesTo(f *testing.F) {
	f.Add("websocket")
	f.Add("foo, WebSocket/13,")
	f.Add(",,/")
	f.Fuzz(func(t *testing.T, v string) {
		raw := []byte("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: " + v + "\r\nSec-WebSocket-Key: k\r\n\r\n")
		var req http1.Request
		if req.Parse(raw) != nil {
			return
		}
		got := upgradesTo(&req.Head, raw, "websocket")
		if !strings.Contains(strings.ToLower(v), "websocket") && got {
			t.Fatalf("%q: websocket found where there is none", v)
		}
		if wsKeyMissing(&req.Head, raw) {
			t.Fatalf("%q: the key is there", v)
		}
	})
}

// TestWebsocketKeys: HAProxy 2.6 refuses a websocket upgrade request without
// Sec-WebSocket-Key (400, <BADREQ>) and a 101 to websocket without Sec-WebSocket-Accept
// (502, PH); a 101 to a request that asked for no upgrade is a 502 PH too.
func TestWebsocketKeys(t *testing.T) {
	const key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	tests := []struct {
		name, req, resp string
		status          string // of the response the client gets
		log             string
	}{
		{"no key: 400 BADREQ", "Connection: Upgrade\r\nUpgrade: websocket\r\n", "",
			"HTTP/1.1 400 ", `fe/<NOSRV> -1/-1/-1/-1/\d+ 400 0 - - PR-- .* "<BADREQ>"$`},
		{"no key, websocket in a list: 400 BADREQ", "Connection: Upgrade\r\nUpgrade: foo, WebSocket\r\n", "",
			"HTTP/1.1 400 ", `fe/<NOSRV> .* 400 0 - - PR-- `},
		{"no accept: 502 PH", "Connection: Upgrade\r\nUpgrade: websocket\r\n" + key,
			"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
			"HTTP/1.1 502 ", `app/s1 \S+ 502 \d+ - - PH-- `},
		{"101 nobody asked for: 502 PH", "",
			"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n",
			"HTTP/1.1 502 ", `app/s1 \S+ 502 \d+ - - PH-- `},
		{"key and accept: tunnel", "Connection: Upgrade\r\nUpgrade: websocket\r\n" + key,
			"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
			"HTTP/1.1 101 ", `app/s1 \S+ 101 \d+ - - ---- `},
		{"other protocol, no key: tunnel", "Connection: Upgrade\r\nUpgrade: foo\r\n",
			"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n",
			"HTTP/1.1 101 ", `app/s1 \S+ 101 \d+ - - ---- `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, _ := rawServer(t, func(c net.Conn) {
				readHeadOf(c)
				io.WriteString(c, tt.resp)
			})
			be := newBackend(addr)
			be.Retries = 0
			f := newFixture(t, be, nil)
			sink := &lineSink{}
			withLog(t, f, sink, nil)
			c, br := dialProxy(t, f)
			io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: a\r\n"+tt.req+"\r\n")
			line, _ := br.ReadString('\n')
			if !strings.HasPrefix(line, tt.status) {
				t.Fatalf("got %q, want %q", line, tt.status)
			}
			c.Close()
			want := regexp.MustCompile(tt.log)
			if l := waitLines(t, sink, 1)[0]; !want.MatchString(l) {
				t.Fatalf("%q does not match %s", l, want)
			}
		})
	}
}
