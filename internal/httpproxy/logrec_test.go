package httpproxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/logging"
)

// lineSink collects what a stdout log target writes.
type lineSink struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *lineSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *lineSink) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Split(strings.TrimSuffix(s.b.String(), "\n"), "\n")
}

// withLog swaps a traffic logger writing raw lines to sink into the fixture.
func withLog(t testing.TB, f *fixture, sink *lineSink, tweak func(fe *config.Frontend)) {
	t.Helper()
	fe := *f.fe
	fe.HTTPLog = true
	fe.Logs = []config.LogTarget{{Address: "stdout", Format: "raw", Facility: "local0"}}
	if tweak != nil {
		tweak(&fe)
	}
	sys, err := logging.New(nil, logging.Options{Stdout: sink})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sys.Close)
	l, err := sys.Logger(&fe)
	if err != nil || l == nil {
		t.Fatalf("logger: %v %v", l, err)
	}
	f.h.Swap(&Route{Frontend: &fe, Backends: map[string]*backend.Pool{f.be.Name: f.pool},
		Global: &config.Global{BufSize: config.DefaultBufSize, MaxRewrite: config.DefaultMaxRewrite}, Log: l})
}

// waitLines waits (bounded) until sink holds n lines.
func waitLines(t *testing.T, sink *lineSink, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ls := sink.lines()
		if len(ls) >= n && ls[0] != "" {
			return ls
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d log lines after 5s, want %d: %q", len(ls), n, ls)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var keepAliveLine = regexp.MustCompile(`^127\.0\.0\.1:\d+ \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] fe app/s[12] \d+/0/\d+/\d+/\d+ 200 69 - - ---- 1/1/0/0/0 0/0 \{bench\|kacli\} "GET /index\.html HTTP/1\.1"$`)

func TestKeepAliveLogsEachRequest(t *testing.T) {
	be := newBackend(fastServer(t), fastServer(t))
	f := newFixture(t, be, nil)
	sink := &lineSink{}
	withLog(t, f, sink, func(fe *config.Frontend) {
		fe.Captures = []config.HeaderCapture{{Name: "Host", Len: 10}, {Name: "User-Agent", Len: 5}}
	})
	k := newKAClient(t, f.addr, len(fixedResponse))
	for i := 0; i < 10; i++ {
		if err := k.do(); err != nil {
			t.Fatal(err)
		}
	}
	for i, l := range waitLines(t, sink, 10) {
		if !keepAliveLine.MatchString(l) {
			t.Fatalf("line %d: %q is not the expected httplog line", i, l)
		}
	}
}

// TestKeepAliveLoggingZeroAllocs: with option httplog on, a keep-alive request still
// allocates nothing: the record is reused and the line formatted into a pooled buffer.
func TestKeepAliveLoggingZeroAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts need a normal build (-race allocates)")
	}
	be := newBackend(fastServer(t))
	f := newFixture(t, be, nil)
	sink := &lineSink{}
	withLog(t, f, sink, func(fe *config.Frontend) {
		fe.Captures = []config.HeaderCapture{{Name: "Host", Len: 10}}
	})
	k := newKAClient(t, f.addr, len(fixedResponse))
	for i := 0; i < 50; i++ {
		if err := k.do(); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(300, func() {
		if err := k.do(); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("allocations per logged keep-alive request: %v", allocs)
	if allocs > 0.05 {
		t.Fatalf("%v allocations per logged request, want 0", allocs)
	}
}

// TestErrorLogLines: the status, termination state and timers HAProxy logs when the
// server fails (configuration.txt §8.5).
func TestErrorLogLines(t *testing.T) {
	closing, _ := rawServer(t, func(c net.Conn) { // reads the request, closes without answering
		bufio.NewReader(c).ReadString('\n')
	})
	silent, _ := rawServer(t, func(c net.Conn) { // never answers
		io.Copy(io.Discard, c)
	})
	tests := []struct {
		name, server string
		want         *regexp.Regexp
	}{
		{"server closes: 502 SH", closing, regexp.MustCompile(` fe app/s1 0/0/\d+/-1/\d+ 502 \d+ - - SH-- 1/1/0/0/0 0/0 "GET / HTTP/1.1"$`)},
		{"server timeout: 504 sH", silent, regexp.MustCompile(` fe app/s1 0/0/\d+/-1/\d+ 504 \d+ - - sH-- 1/1/0/0/0 0/0 "GET / HTTP/1.1"$`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := newBackend(tt.server)
			be.Timeouts.Server = 300 * time.Millisecond
			f := newFixture(t, be, nil)
			sink := &lineSink{}
			withLog(t, f, sink, nil)
			c, br := dialProxy(t, f)
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			if _, err := http.ReadResponse(br, nil); err != nil {
				t.Fatal(err)
			}
			if l := waitLines(t, sink, 1)[0]; !tt.want.MatchString(l) {
				t.Fatalf("%q does not match %s", l, tt.want)
			}
		})
	}
}

// BenchmarkProxyKeepAliveLogged is BenchmarkProxyKeepAlive with option httplog and a
// capture, the lines going to a UDP syslog listener on loopback: the cost of logging
// per request.
func BenchmarkProxyKeepAliveLogged(b *testing.B) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, _, err := pc.(*net.UDPConn).ReadFromUDPAddrPort(buf); err != nil {
				return
			}
		}
	}()
	be := newBackend(fastServer(b))
	f := newFixture(b, be, nil)
	withLog(b, f, &lineSink{}, func(fe *config.Frontend) {
		fe.Logs = []config.LogTarget{{Address: pc.LocalAddr().String(), Facility: "local0"}}
		fe.Captures = []config.HeaderCapture{{Name: "Host", Len: 10}}
	})
	k := newKAClient(b, f.addr, len(fixedResponse))
	for i := 0; i < 10; i++ {
		if err := k.do(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := k.do(); err != nil {
			b.Fatal(err)
		}
	}
}
