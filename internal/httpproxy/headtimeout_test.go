package httpproxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"tandem/internal/config"
	"tandem/internal/idlewait"
)

// headTimeout is timeout http-request in TestHeadTimeoutCountsLikeHAProxy.
const headTimeout = 800 * time.Millisecond

// splitHead cuts a request head into n pieces (n ≥ 2), the first being "GE".
func splitHead(n int) []string {
	const head = "GET /slow HTTP/1.1\r\nHost: x\r\nUser-Agent: pieces\r\n\r\n"
	parts := []string{head[:2]}
	rest := head[2:]
	for i := 1; i < n; i++ {
		k := len(rest) / (n - i)
		if i == n-1 {
			k = len(rest)
		}
		parts = append(parts, rest[:k])
		rest = rest[k:]
	}
	return parts
}

// TestHeadTimeoutCountsLikeHAProxy: timeout http-request bounds a request head as in
// HAProxy 2.6 (measured with Debian's haproxy on loopback): a new connection's first
// byte must come within it of the accept, then every head, the first or a later one on a
// keep-alive connection, must be whole within it of its own first byte. A head that
// arrives in pieces is served when its last piece comes 100 ms before that, whatever
// the gaps between pieces and however long the connection idled before, and answered
// 408 when it comes 100 ms after; with and without parking (the wait for a first byte
// parks after parkAfter).
func TestHeadTimeoutCountsLikeHAProxy(t *testing.T) {
	type tcase struct {
		name   string
		later  bool          // on a keep-alive connection, after a first exchange
		idle   time.Duration // before the first piece (from the accept, or the response)
		pieces int           // 0: send nothing
		late   bool          // the last piece comes 100 ms after the timeout, else 100 ms before
	}
	var cases []tcase
	for _, later := range []bool{false, true} {
		for _, sh := range []struct {
			idle   time.Duration
			pieces int
		}{
			{0, 2},                                  // "GE", then one long gap
			{0, 4},                                  // gaps of about 230 ms
			{0, 12},                                 // gaps of about 60 ms
			{300 * time.Millisecond, 2},             // parked before the first byte
			{300 * time.Millisecond, 4},             // same, then several pieces
			{100 * time.Millisecond, 13},            // parked, then gaps of about 60 ms
			{headTimeout - 100*time.Millisecond, 4}, // a first byte just in time, then pieces
		} {
			for _, late := range []bool{false, true} {
				name := fmt.Sprintf("first/idle%v/%dpieces", sh.idle, sh.pieces)
				if later {
					name = "later" + name[len("first"):]
				}
				if late {
					name += "/late"
				} else {
					name += "/intime"
				}
				cases = append(cases, tcase{name, later, sh.idle, sh.pieces, late})
			}
		}
	}
	cases = append(cases, tcase{"first/no byte in time", false, headTimeout + 100*time.Millisecond, 0, true})
	for _, park := range []bool{false, true} {
		var w *idlewait.Waiter
		if park {
			var err error
			if w, err = idlewait.New(10 * time.Millisecond); err != nil {
				t.Skipf("no idle waiter on this system: %v", err)
			}
			t.Cleanup(w.Close)
		}
		a, _ := httpServer(t, func(rw http.ResponseWriter, r *http.Request) { io.WriteString(rw, "ok") })
		f := newFixtureWith(t, newBackend(a), func(fe *config.Frontend, g *config.Global) {
			fe.Timeouts.HTTPRequest = headTimeout
			fe.Timeouts.HTTPKeepAlive = 5 * time.Second
		}, func(h *Handler) {
			if w != nil {
				h.Idle = w
			}
		})
		// The cases run at once (they wait, mostly): t.Parallel would run only
		// GOMAXPROCS of them at a time.
		errs := make([]error, len(cases))
		done := make(chan int, len(cases))
		for i, tc := range cases {
			go func() {
				errs[i] = splitHeadCase(f.addr, tc.later, tc.idle, tc.pieces, tc.late)
				done <- i
			}()
		}
		for range cases {
			<-done
		}
		for i, tc := range cases {
			t.Run(fmt.Sprintf("park=%v/%s", park, tc.name), func(t *testing.T) {
				if errs[i] != nil {
					t.Fatal(errs[i])
				}
			})
		}
	}
}

// splitHeadCase sends a head in pieces to addr (after a first exchange when later), its
// first piece idle after the start, its last 100 ms before headTimeout after the first
// or after it (late), and checks the answer: 200, or 408 at the timeout and a close.
// With no pieces, it sends nothing and expects a 408 headTimeout after the accept.
func splitHeadCase(addr string, later bool, idle time.Duration, pieces int, late bool) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	if later {
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			return fmt.Errorf("first request: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	start := time.Now()
	last := headTimeout - 100*time.Millisecond
	if late {
		last = headTimeout + 100*time.Millisecond
	}
	if pieces > 0 {
		time.Sleep(idle)
		start = time.Now() // the first byte
		parts := splitHead(pieces)
		gap := last / time.Duration(len(parts)-1)
		for i, p := range parts {
			time.Sleep(time.Until(start.Add(gap * time.Duration(i))))
			if _, err := io.WriteString(c, p); err != nil {
				break // closed on timeout
			}
		}
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return fmt.Errorf("no response: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if !late {
		if resp.StatusCode != 200 || string(b) != "ok" {
			return fmt.Errorf("head complete %v after its first byte: %d %q, want 200", last, resp.StatusCode, b)
		}
		return nil
	}
	if resp.StatusCode != 408 {
		return fmt.Errorf("head complete %v after its first byte: %d, want 408", last, resp.StatusCode)
	}
	if took < headTimeout-50*time.Millisecond {
		return fmt.Errorf("408 after %v, before timeout http-request (%v)", took, headTimeout)
	}
	if rest, _ := io.ReadAll(r); len(rest) != 0 {
		return fmt.Errorf("bytes after the 408: %q", rest)
	}
	return nil
}
