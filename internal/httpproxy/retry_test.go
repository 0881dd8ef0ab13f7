package httpproxy

import (
	"bufio"
	"net"
	"net/http"
	"testing"

	"tandem/internal/config"
	"tandem/internal/testaddr"
)

// closer reads a request head and closes without answering (a server that dies mid-request).
func closer(c net.Conn) {
	br := bufio.NewReader(c)
	http.ReadRequest(br)
}

// answer503 answers every request with 503.
func answer503(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		c.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"))
	}
}

func TestRetryOn(t *testing.T) {
	tests := []struct {
		name    string
		retryOn config.RetryOn
		bad     func(net.Conn)
		body    string // request body (fits the buffer: replayable)
		want    int
	}{
		{"empty-response replayed elsewhere", config.RetryEmptyResponse, closer, "", 200},
		{"empty-response not in the set", config.RetryConnFailure, closer, "", 502},
		{"all-retryable-errors covers empty", config.RetryAllRetryable, closer, "", 200},
		{"503 replayed", config.Retry503, answer503, "", 200},
		{"503 not in the set", config.RetryAllRetryable &^ config.Retry503, answer503, "", 503},
		{"POST with a buffered body replayed", config.RetryAllRetryable, closer, "hello", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad, _ := rawServer(t, tt.bad)
			good, _ := httpServer(t, nameServer("web2"))
			be := newBackend(bad, good)
			be.Balance.Algo = config.AlgoFirst // every request starts on the bad server
			be.Retries, be.Redispatch, be.RetryOn = 3, true, tt.retryOn
			be.RedispatchEvery = 1
			f := newFixture(t, be, nil)
			req := "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
			if tt.body != "" {
				req = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n" + tt.body
			}
			resp, body, err := f.rawExchange(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d (%q), want %d", resp.StatusCode, body, tt.want)
			}
			if tt.want == 200 && body != "Hello from web2" {
				t.Fatalf("body %q", body)
			}
		})
	}
}

// Redispatch moves to another server than the one that failed, even when the balancer
// would pick the failed one again (balance first).
func TestRedispatchAvoidsFailedServer(t *testing.T) {
	refused := testaddr.Dead(t)
	a2, _ := httpServer(t, nameServer("web2"))
	be := newBackend(refused, a2)
	be.Balance.Algo = config.AlgoFirst
	be.Retries, be.Redispatch = 2, true
	f := newFixture(t, be, nil)
	resp, body, err := f.rawExchange("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if err != nil || resp.StatusCode != 200 || body != "Hello from web2" {
		t.Fatalf("%v %v %q", resp, err, body)
	}
	if got := f.pool.Servers[0].ConnErr.Load(); got != 2 {
		t.Errorf("connection errors on the dead server = %d, want 2 (first try and retry 1; retry 2 redispatches)", got)
	}
}
