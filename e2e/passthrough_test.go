package e2e

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// rawHello returns the ClientHello Go's client sends for sni and alpn.
func rawHello(t *testing.T, sni string, alpn ...string) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go tls.Client(a, &tls.Config{ServerName: sni, NextProtos: alpn, InsecureSkipVerify: true}).Handshake()
	b.SetReadDeadline(time.Now().Add(2 * time.Second))
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(b, hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(b, body); err != nil {
		t.Fatal(err)
	}
	return append(hdr, body...)
}

// splitRecords puts the handshake message of a one-record hello in two records.
func splitRecords(hello []byte, at int) []byte {
	body := hello[5:]
	rec := func(b []byte) []byte {
		return append([]byte{22, hello[1], hello[2], byte(len(b) >> 8), byte(len(b))}, b...)
	}
	return append(rec(body[:at]), rec(body[at:])...)
}

// startNamedSink answers each connection, once the client has half-closed, with its
// name, the byte count and a digest of what it received.
func startNamedSink(t *testing.T, name string) string {
	t.Helper()
	return serveTCP(t, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		b, _ := io.ReadAll(c)
		fmt.Fprintf(c, "%s %s", name, digest(b))
	})
}

func digest(b []byte) string { s := sha256.Sum256(b); return fmt.Sprintf("n=%d sha=%x", len(b), s[:6]) }

// TestPassthroughMatchesHAProxy routes TLS connections by their ClientHello in mode
// tcp (inspect-delay, accept if req_ssl_hello_type 1, use_backend on req_ssl_sni and
// req.ssl_alpn) through Debian's haproxy and tandem: the hello in one segment, over 3
// TCP segments, a 2 KB hello, a non-TLS first byte, a hello cut short. The backend
// chosen, the bytes it received (unchanged) and when must agree. A hello over 2 TLS
// records is checked on tandem alone: HAProxy 2.6 reads only the first record.
func TestPassthroughMatchesHAProxy(t *testing.T) {
	hap := needTool(t, "haproxy")
	sinks := map[string]string{}
	for _, n := range []string{"a", "b", "h2", "def"} {
		sinks[n] = startNamedSink(t, n)
	}
	var long []string
	for i := 0; len(strings.Join(long, "")) < 2100; i++ {
		long = append(long, fmt.Sprintf("proto-%02d-%s", i, strings.Repeat("x", 50)))
	}
	helloA, helloB := rawHello(t, "a.example"), rawHello(t, "B.Example")
	big := rawHello(t, "b.example", long...)
	if len(big) < 2048 {
		t.Fatalf("the big hello is %d bytes", len(big))
	}
	type tcase struct {
		name   string
		chunks [][]byte
		wait   bool // the client stops sending without closing (a hello cut short)
	}
	thirds := func(b []byte) [][]byte { n := len(b) / 3; return [][]byte{b[:n], b[n : 2*n], b[2*n:]} }
	cases := []tcase{
		{"one segment", [][]byte{helloA}, false},
		{"3 TCP segments", thirds(helloB), false},
		{"2 KB hello", [][]byte{big[:1000], big[1000:]}, false},
		{"alpn h2 first", [][]byte{rawHello(t, "", "h2", "http/1.1")}, false},
		{"alpn h2 second", [][]byte{rawHello(t, "", "http/1.1", "h2")}, false},
		{"sni not routed", [][]byte{rawHello(t, "c.example")}, false},
		{"sni exact", [][]byte{rawHello(t, "exact.example")}, false},
		{"sni exact, other case", [][]byte{rawHello(t, "Exact.Example")}, false},
		{"not TLS", [][]byte{[]byte("GET / HTTP/1.0\r\n\r\n")}, false},
		{"hello cut short", [][]byte{helloA[:40]}, true},
		{"hello then data", [][]byte{append(append([]byte{}, helloA...), "\x17\x03\x03\x00\x01z"...)}, false},
	}
	send := func(addr string, tc tcase) string {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			return err.Error()
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(8 * time.Second))
		c.(*net.TCPConn).SetNoDelay(true)
		var all []byte
		start := time.Now()
		for i, ch := range tc.chunks {
			if i > 0 {
				time.Sleep(60 * time.Millisecond) // separate segments
			}
			c.Write(ch)
			all = append(all, ch...)
		}
		if !tc.wait {
			c.(*net.TCPConn).CloseWrite()
		} else {
			go func() { // after the inspect delay, the client gives up sending
				time.Sleep(1500 * time.Millisecond)
				c.(*net.TCPConn).CloseWrite()
			}()
		}
		b, err := io.ReadAll(c)
		took := "at once"
		if time.Since(start) > 700*time.Millisecond {
			took = "after the inspect delay"
		}
		got := string(b)
		if err != nil && !errors.Is(err, io.EOF) {
			got += " (" + err.Error() + ")"
		}
		if name, rest, ok := strings.Cut(got, " "); ok && rest == digest(all) {
			got = name + " got the bytes unchanged"
		}
		return fmt.Sprintf("%s: %s, %s", tc.name, got, took)
	}
	run := func(start func(cfg, addr string), extra ...tcase) []string {
		addr := freeAddr(t)
		start(fmt.Sprintf(`defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend pt
    bind %s
    tcp-request inspect-delay 1s
    tcp-request content accept if { req_ssl_hello_type 1 }
    use_backend a if { req_ssl_sni -i a.example }
    use_backend b if { req.ssl_sni -i b.example }
    use_backend h2 if { req.ssl_alpn h2 }
    use_backend a if { req.ssl_sni exact.example }
    default_backend def
backend a
    server s %s
backend b
    server s %s
backend h2
    server s %s
backend def
    server s %s
`, addr, sinks["a"], sinks["b"], sinks["h2"], sinks["def"]), addr)
		var out []string
		for _, tc := range append(cases, extra...) {
			out = append(out, send(addr, tc))
		}
		return out
	}
	want := run(func(cfg, addr string) {
		cmd := startHAProxyCmd(t, hap, cfg)
		_ = cmd
		if c, err := waitConn(addr); err != nil {
			t.Fatal(err)
		} else {
			c.Close()
		}
	})
	t.Logf("haproxy:\n%s", strings.Join(want, "\n"))
	got := run(func(cfg, addr string) {
		startTandem(t, cfg, addr)
	}, tcase{"2 TLS records", [][]byte{splitRecords(helloA, 50)}, false})
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("differ\nhaproxy: %s\ntandem:  %s", want[i], got[i])
		}
	}
	if w := "2 TLS records: a got the bytes unchanged, at once"; got[len(got)-1] != w {
		t.Errorf("tandem: %s, want %s", got[len(got)-1], w)
	}
	if !bytes.Contains([]byte(strings.Join(want, "\n")), []byte("3 TCP segments: b got the bytes unchanged")) ||
		!bytes.Contains([]byte(strings.Join(want, "\n")), []byte("sni exact, other case: def")) {
		t.Error("haproxy did not route the split hello: the test does not exercise it")
	}
}
