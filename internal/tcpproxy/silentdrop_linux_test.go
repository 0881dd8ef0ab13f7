package tcpproxy

import (
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

const dropCfg = tcpDefaults + `frontend fe
    bind 127.0.0.1:9000
    tcp-request inspect-delay 1s
    tcp-request content silent-drop if { req.payload(0,4) -m bin 44524f50 }
    tcp-request content accept if { req.len ge 4 }
    default_backend be_a
backend be_a
    server a SRV_A
backend be_b
    server b SRV_B
`

// TestSilentDrop: tcp-request content silent-drop closes the connection without the
// client being told (TCP repair mode, as root): its read waits rather than seeing an
// end of stream or a reset; other connections are served.
func TestSilentDrop(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("TCP repair mode needs CAP_NET_ADMIN")
	}
	eachRulesMode(t, func(t *testing.T, m mode) {
		var na, nb atomic.Int32
		addr := rulesProxy(t, m, dropCfg, named(t, "a", &na), named(t, "b", &nb))
		c := dial(t, addr)
		io.WriteString(c, "DROP")
		c.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
		b := make([]byte, 8)
		n, err := c.Read(b)
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			t.Errorf("dropped connection: read %q, %v; want nothing until the deadline", b[:n], err)
		}
		c.Close()
		c = dial(t, addr)
		io.WriteString(c, "KEEP")
		got := make([]byte, len("a:KEEP"))
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "a:KEEP" {
			t.Errorf("got %q, %v", got, err)
		}
		c.Close()
	})
}
