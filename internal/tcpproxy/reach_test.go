package tcpproxy

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

const reachCfg = tcpDefaults + `frontend fe
    bind 127.0.0.1:9000
    use_backend be_b if { src 127.0.0.1 }
    default_backend be_a
backend be_a
    server a SRV_A
backend be_b
    server b SRV_B send-proxy
`

// TestUseBackendSendProxy: a backend a use_backend rule picks, whose server wants a
// PROXY header, gets it on every path, though the default backend's servers want none
// (the reactor loops write no PROXY header: such sessions run on goroutines).
func TestUseBackendSendProxy(t *testing.T) {
	eachRulesMode(t, func(t *testing.T, m mode) {
		a := serve(t, func(c net.Conn) { io.WriteString(c, "plain") })
		b := serve(t, func(c net.Conn) {
			// It says what came before the client's "hello!", once that came.
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			var got []byte
			buf := make([]byte, 256)
			for !bytes.HasSuffix(got, []byte("hello!")) {
				n, err := c.Read(buf)
				got = append(got, buf[:n]...)
				if err != nil {
					break
				}
			}
			head, _, _ := bytes.Cut(got, []byte("hello!"))
			c.Write(head)
		})
		addr := rulesProxy(t, m, reachCfg, a, b)
		c := dial(t, addr)
		io.WriteString(c, "hello!")
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		got, err := io.ReadAll(c)
		if err != nil || !bytes.HasPrefix(got, []byte("PROXY TCP4 127.0.0.1 127.0.0.1 ")) {
			t.Fatalf("server b first read %q (%v); want a PROXY header", got, err)
		}
	})
}
