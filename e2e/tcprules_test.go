package e2e

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tcpNamedServer says its name, then echoes; it serves on loopback for the test.
func tcpNamedServer(t *testing.T, name string) string {
	return serveTCP(t, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, name+":")
		io.Copy(c, c)
	})
}

func tcpRulesConfig(bind, a, b string) string {
	return fmt.Sprintf(`defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind %s
    tcp-request connection reject if { src 127.0.0.2 }
    tcp-request inspect-delay 1s
    tcp-request content reject if { req.payload(0,4) -m bin 51554954 }
    tcp-request content accept if { req.len ge 5 }
    tcp-request content reject if WAIT_END
    use_backend be_b if { req.payload(0,1) -m bin 42 }
    default_backend be_a
backend be_a
    server a %s
backend be_b
    server b %s
`, bind, a, b)
}

// tcpScript is what a client sends: chunks with pauses before them, then optionally a
// half-close; it reports what came back before the proxy closed (or 1.5 s passed)
// and when the close came: early (before 700 ms), at the 1 s inspect delay, or not
// at all (open).
func tcpScript(t *testing.T, addr string, chunks []string, halfClose bool, from string) string {
	d := net.Dialer{Timeout: 2 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		if strings.Contains(err.Error(), "reset") {
			return `"" reset` // the reset came before the dial returned
		}
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	for _, ch := range chunks {
		if strings.HasPrefix(ch, "~") {
			time.Sleep(100 * time.Millisecond)
			ch = ch[1:]
		}
		io.WriteString(c, ch)
	}
	if halfClose {
		c.(*net.TCPConn).CloseWrite()
	}
	c.SetReadDeadline(time.Now().Add(2500 * time.Millisecond))
	var got []byte
	buf := make([]byte, 256)
	when := "open"
	for i := 0; i < 100; i++ {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				if strings.Contains(err.Error(), "reset") {
					when = "reset"
					break
				}
				switch d := time.Since(start); {
				case d < 700*time.Millisecond: // the pauses add 100 ms at most
					when = "closed early"
				default:
					when = "closed at the delay"
				}
			}
			break
		}
	}
	return fmt.Sprintf("%q %s", got, when)
}

// TestTCPContentRulesMatchHAProxy: the same clients through Debian's haproxy and
// tandem in mode tcp with tcp-request inspect-delay, content rules that wait for bytes
// (req.len, req.payload, WAIT_END) and use_backend on the first byte: the same bytes
// come back, and connections close at the same moment (at once, or at the delay).
func TestTCPContentRulesMatchHAProxy(t *testing.T) {
	a, b := tcpNamedServer(t, "a"), tcpNamedServer(t, "b")
	hAddr, tAddr := freeAddr(t), freeAddr(t)
	sock := filepath.Join(t.TempDir(), "h.sock")
	startHAProxy(t, "global\n    stats socket "+sock+"\n"+tcpRulesConfig(hAddr, a, b), sock)
	startTandem(t, tcpRulesConfig(tAddr, a, b), tAddr)
	for _, c := range []struct {
		name      string
		chunks    []string
		halfClose bool
		from      string
	}{
		{"accepted after more bytes, routed on the first", []string{"B", "~CDEF"}, false, ""},
		{"default backend", []string{"hello"}, false, ""},
		{"rejected on its first four bytes", []string{"QUIT"}, false, ""},
		{"rejected once the four bytes are there", []string{"QUI", "~T"}, false, ""},
		{"too short: rejected at the delay", []string{"x"}, false, ""},
		{"nothing: rejected at the delay", nil, false, ""},
		{"half-closed early: final at once", []string{"AB"}, true, ""},
		{"half-closed with enough bytes", []string{"Bxyzw"}, true, ""},
		{"refused by tcp-request connection: reset", nil, false, "127.0.0.2"}, // no bytes: a reset, not a FIN the kernel turns into one
	} {
		h := tcpScript(t, hAddr, c.chunks, c.halfClose, c.from)
		tn := tcpScript(t, tAddr, c.chunks, c.halfClose, c.from)
		if h != tn {
			t.Errorf("%s:\n haproxy %s\n tandem  %s", c.name, h, tn)
		} else {
			t.Logf("%s: %s", c.name, h)
		}
	}
}

func tcpHTTPRoutingConfig(bind, a, b string) string {
	return fmt.Sprintf(`defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind %s
    tcp-request inspect-delay 1s
    tcp-request content accept if HTTP
    use_backend be_b if { req.hdr(host) -i b.example }
    default_backend be_a
backend be_a
    server a %s
backend be_b
    server b %s
`, bind, a, b)
}

// TestTCPHTTPRoutingMatchesHAProxy: in mode tcp, content rules wait for a whole HTTP
// head (HTTP, i.e. req.proto_http) and use_backend routes on its Host header, as
// Debian's haproxy does; bytes that are not HTTP go to the default backend at once.
func TestTCPHTTPRoutingMatchesHAProxy(t *testing.T) {
	a, b := tcpNamedServer(t, "a"), tcpNamedServer(t, "b")
	hAddr, tAddr := freeAddr(t), freeAddr(t)
	sock := filepath.Join(t.TempDir(), "h.sock")
	startHAProxy(t, "global\n    stats socket "+sock+"\n"+tcpHTTPRoutingConfig(hAddr, a, b), sock)
	startTandem(t, tcpHTTPRoutingConfig(tAddr, a, b), tAddr)
	for _, c := range []struct {
		name   string
		chunks []string
	}{
		{"host b, head in two parts", []string{"GET / HTTP/1.1\r\nHo", "~st: b.example\r\n\r\n"}},
		{"host a", []string{"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"}},
		{"not HTTP", []string{"hello\n"}},
	} {
		h := tcpScript(t, hAddr, c.chunks, false, "")
		tn := tcpScript(t, tAddr, c.chunks, false, "")
		if h != tn {
			t.Errorf("%s:\n haproxy %s\n tandem  %s", c.name, h, tn)
		} else {
			t.Logf("%s: %s", c.name, h)
		}
	}
}
