package httpproxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"tandem/internal/config"
)

// earlyServer answers 413 as soon as it has a request head; then, with keepReading, it
// reads (and drops) the body until the proxy closes, else it closes after closeAfter.
func earlyServer(t *testing.T, keepReading bool, closeAfter time.Duration) string {
	addr, _ := rawServer(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbig")
		if keepReading {
			io.Copy(io.Discard, br)
			return
		}
		time.Sleep(closeAfter)
	})
	return addr
}

// uploader sends a POST head announcing size bytes to c, then body bytes in 64 KiB
// pieces every pace, stopping after stopAt bytes (the client stalls), on a write error,
// or when stop is closed. sent counts what was written.
func uploader(c net.Conn, size, stopAt int64, pace time.Duration, sent *atomic.Int64, stop chan struct{}) {
	if _, err := io.WriteString(c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.FormatInt(size, 10)+"\r\n\r\n"); err != nil {
		return
	}
	chunk := make([]byte, 64<<10)
	for sent.Load() < stopAt && sent.Load() < size {
		select {
		case <-stop:
			return
		default:
		}
		n, err := c.Write(chunk)
		sent.Add(int64(n))
		if err != nil {
			return
		}
		time.Sleep(pace)
	}
}

// TestEarlyAnswerRelayedDuringUpload: a server that answers before the request body
// is complete (413 on a large upload) is relayed at once, as HAProxy does: not once the
// client sent the whole body, and not as a 408 at timeout client when the client stalls
// (curl stops an upload when it gets such an answer).
func TestEarlyAnswerRelayedDuringUpload(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stopAt int64 // the client stalls after this many body bytes
	}{
		{"client keeps sending", 1 << 40},
		{"client stalls", 256 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, newBackend(earlyServer(t, true, 0)), func(fe *config.Frontend, g *config.Global) {
				fe.Timeouts.Client = 3 * time.Second
			})
			c, br := dialProxy(t, f)
			const size = 8 << 20 // 128 pieces of 64 KiB, 5 ms apart: 640 ms at least
			var sent atomic.Int64
			stop := make(chan struct{})
			defer close(stop)
			start := time.Now()
			go uploader(c, size, tc.stopAt, 5*time.Millisecond, &sent, stop)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no response: %v", err)
			}
			took, at := time.Since(start), sent.Load()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 413 || string(b) != "big" {
				t.Fatalf("got %d %q, want the server's 413", resp.StatusCode, b)
			}
			if at >= size/2 || took > time.Second {
				t.Fatalf("413 relayed after %v, with %d of %d body bytes sent: want it at once", took, at, size)
			}
		})
	}
}

// TestEarlyAnswerNotDestroyedByReset: when the proxy closes after an early answer while
// the client is still uploading, it closes with a FIN and discards what the client still
// sends for a while, instead of closing with unread bytes, which sends an RST: a client
// that sends its whole body before it reads the answer (as many do) would fail its
// writes with a reset and never read the answer (on some systems the RST also drops
// what the client had received and not read yet).
func TestEarlyAnswerNotDestroyedByReset(t *testing.T) {
	for _, tc := range []struct {
		name, expect string
		closeAfter   time.Duration // the server closes this long after its answer
	}{
		{"server closes", "", 50 * time.Millisecond},
		// Expect: 100-continue answered without a 100: the proxy cuts the body transfer
		// and closes, while this client sends its body anyway
		{"expect answered early", "Expect: 100-continue\r\n", 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, newBackend(earlyServer(t, false, tc.closeAfter)), nil)
			c, br := dialProxy(t, f)
			const size = 16 << 20
			if _, err := io.WriteString(c, "POST /up HTTP/1.1\r\nHost: x\r\n"+tc.expect+"Content-Length: "+strconv.Itoa(size)+"\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			chunk := make([]byte, 64<<10)
			for sent := 0; sent < size; sent += len(chunk) {
				if _, err := c.Write(chunk); err != nil {
					t.Fatalf("upload failed after %d of %d bytes: %v", sent, size, err)
				}
				if sent == 1<<20 {
					time.Sleep(100 * time.Millisecond) // the server has answered (and closed) by now
				}
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("the early answer was lost: %v", err)
			}
			b, err := io.ReadAll(resp.Body)
			if resp.StatusCode != 413 || string(b) != "big" || err != nil {
				t.Fatalf("got %d %q %v, want the server's 413", resp.StatusCode, b, err)
			}
			if rest, err := io.ReadAll(br); len(rest) != 0 || err != nil {
				t.Fatalf("after the answer: %q %v, want a FIN", rest, err)
			}
		})
	}
}
