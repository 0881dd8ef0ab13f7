package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// commandServer answers the command line a client sends: "bad" → "BAD!!", "bye" →
// "BYE!! then more", "slow" → "HEL", a pause, "LO!!", "short" → "HI" and nothing more,
// anything else → "HELLO" and an echo of what follows.
func commandServer(t *testing.T) string {
	return serveTCP(t, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		switch strings.TrimSpace(line) {
		case "bad":
			io.WriteString(c, "BAD!!")
		case "bye":
			io.WriteString(c, "BYE!! then more")
		case "slow":
			io.WriteString(c, "HEL")
			time.Sleep(100 * time.Millisecond)
			io.WriteString(c, "LO!!")
		case "short":
			io.WriteString(c, "HI")
		default:
			io.WriteString(c, "HELLO")
		}
		io.Copy(c, br)
	})
}

func tcpResponseConfig(bind, bind2, srv string) string {
	return fmt.Sprintf(`defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
listen l
    bind %s
    tcp-response inspect-delay 1s
    tcp-response content reject if { res.payload(0,3) -m bin 424144 }
    tcp-response content close if { res.payload(0,3) -m bin 425945 }
    tcp-response content accept if { res.len ge 5 }
    tcp-response content reject if WAIT_END
    server s %s
listen nodelay
    bind %s
    tcp-response content reject if { res.payload(0,3) -m bin 424144 }
    tcp-response content close if { res.len lt 4 }
    server s %s
`, bind, srv, bind2, srv)
}

// TestTCPResponseRulesMatchHAProxy: tcp-response content rules in mode tcp through
// Debian's haproxy and tandem: the client gets the same bytes and the same end
// (reject, close after the held bytes, accept and echo, reject at the delay).
func TestTCPResponseRulesMatchHAProxy(t *testing.T) {
	srv := commandServer(t)
	hAddr, tAddr, hAddr2, tAddr2 := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	sock := filepath.Join(t.TempDir(), "h.sock")
	startHAProxy(t, "global\n    stats socket "+sock+"\n"+tcpResponseConfig(hAddr, hAddr2, srv), sock)
	startTandem(t, tcpResponseConfig(tAddr, tAddr2, srv), tAddr)
	run := func(addr, cmd string) string {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, cmd+"\n")
		if cmd == "echo" {
			time.Sleep(50 * time.Millisecond)
			io.WriteString(c, "ping")
		}
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(2500 * time.Millisecond))
		var got []byte
		buf := make([]byte, 256)
		end := "open"
		for i := 0; i < 100; i++ {
			n, err := c.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
					end = "closed early"
					if strings.Contains(err.Error(), "reset") {
						end = "reset"
					} else if time.Since(start) > 700*time.Millisecond {
						end = "closed at the delay"
					}
				}
				break
			}
		}
		return fmt.Sprintf("%q %s", got, end)
	}
	for _, cmd := range []string{"bad", "bye", "slow", "echo", "short"} {
		h, tn := run(hAddr, cmd), run(tAddr, cmd)
		if h != tn {
			t.Errorf("%s:\n haproxy %s\n tandem  %s", cmd, h, tn)
		} else {
			t.Logf("%s: %s", cmd, h)
		}
	}
	// Without tcp-response inspect-delay the rules see the first bytes, once.
	for _, cmd := range []string{"bad", "slow", "short", "echo"} {
		h, tn := run(hAddr2, cmd), run(tAddr2, cmd)
		if h != tn {
			t.Errorf("no delay, %s:\n haproxy %s\n tandem  %s", cmd, h, tn)
		} else {
			t.Logf("no delay, %s: %s", cmd, h)
		}
	}
}
