package tcpproxy

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/logging"
)

// logSink collects what a stdout log target writes.
type logSink struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *logSink) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestTerminationStates: a session that fails once data flowed logs the side and the
// reason in its termination state, as HAProxy 2.6 (checked side by side in
// e2e/h1diff_cases_test.go): CD/SD a side reset, cD/sD a side silent past its timeout.
func TestTerminationStates(t *testing.T) {
	reset := func(c net.Conn) {
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}
	tests := []struct {
		name           string
		client, server time.Duration // timeout client, timeout server
		srv            func(c net.Conn)
		cli            func(c net.Conn)
		want           string
	}{
		{"clean end", 2 * time.Second, 2 * time.Second, func(c net.Conn) {
			io.ReadFull(c, make([]byte, 5))
			io.WriteString(c, "bye")
		}, func(c net.Conn) {
			io.WriteString(c, "hello")
			io.ReadAll(c)
		}, " 3 -- "},
		{"client silent past timeout client", 200 * time.Millisecond, 5 * time.Second, func(c net.Conn) {
			io.ReadAll(c)
		}, func(c net.Conn) {
			io.WriteString(c, "hello")
			io.ReadAll(c)
		}, " 0 cD "},
		{"server silent past timeout server", 5 * time.Second, 200 * time.Millisecond, func(c net.Conn) {
			io.ReadAll(c)
		}, func(c net.Conn) {
			io.WriteString(c, "hello")
			io.ReadAll(c)
		}, " 0 sD "},
		{"server resets", 2 * time.Second, 2 * time.Second, func(c net.Conn) {
			io.ReadFull(c, make([]byte, 5))
			io.WriteString(c, "bye")
			time.Sleep(50 * time.Millisecond)
			reset(c)
		}, func(c net.Conn) {
			io.WriteString(c, "hello")
			io.ReadAll(c)
		}, " 3 SD "},
		{"client resets", 2 * time.Second, 2 * time.Second, func(c net.Conn) {
			io.ReadAll(c)
		}, func(c net.Conn) {
			io.WriteString(c, "hello")
			time.Sleep(100 * time.Millisecond)
			reset(c)
		}, " 0 CD "},
	}
	eachMode(t, func(t *testing.T, m mode) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				srv := serve(t, tt.srv)
				sink := &logSink{}
				sys, err := logging.New(nil, logging.Options{Stdout: sink})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(sys.Close)
				b := &config.Backend{Name: "be", Timeouts: config.Timeouts{Connect: time.Second, Server: tt.server}}
				b.Servers = []*config.Server{{Name: "s1", Addr: netip.MustParseAddrPort(srv), Weight: 1}}
				fe := &config.Frontend{Name: "fe", Mode: config.ModeTCP, TCPLog: true, DefaultBackend: b,
					Timeouts: config.Timeouts{Client: tt.client},
					Logs:     []config.LogTarget{{Address: "stdout", Format: "raw", Facility: "local0"}}}
				l, err := sys.Logger(fe)
				if err != nil || l == nil {
					t.Fatalf("logger: %v %v", l, err)
				}
				h := NewHandler(&Route{Frontend: fe, Pool: backend.New(b, backend.NewStates()), Log: l}, slog.New(slog.DiscardHandler))
				c := dial(t, listen(t, h, m, "127.0.0.1:0"))
				c.SetDeadline(time.Now().Add(5 * time.Second))
				tt.cli(c)
				c.Close()
				deadline := time.Now().Add(5 * time.Second)
				for !strings.Contains(sink.String(), "\n") && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				if line := sink.String(); !strings.Contains(line, " fe be/s1 ") || !strings.Contains(line, tt.want) {
					t.Fatalf("log line %q, want %q in it", line, tt.want)
				}
			})
		}
	})
}
