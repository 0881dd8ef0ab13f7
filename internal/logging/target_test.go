package logging

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tandem/internal/config"
)

func TestFraming(t *testing.T) {
	h := &header{tag: "haproxy", pid: 24496}
	now := time.Date(2026, 11, 2, 10, 19, 11, 316120e3, time.UTC)
	msg := []byte("127.0.0.1:42684 [02/Nov/2026:10:19:11.310] fe be/s1")
	// The expected lines are HAProxy 2.6's, captured from its datagrams (day padded
	// with a space in rfc3164, as RFC 3164 §4.1.2 says).
	tests := []struct {
		fr   Framing
		host string
		want string
	}{
		{FrameLocal, "", "<134>Nov  2 10:19:11 haproxy[24496]: " + string(msg) + "\n"},
		{FrameRFC3164, "lb1", "<134>Nov  2 10:19:11 lb1 haproxy[24496]: " + string(msg) + "\n"},
		{FrameRFC5424, "", "<134>1 2026-11-02T10:19:11.316120+00:00 - haproxy 24496 - - " + string(msg) + "\n"},
		{FramePriority, "", "<134>" + string(msg) + "\n"},
		{FrameShort, "", "<6>" + string(msg) + "\n"},
		{FrameTimed, "", "<6>2026-11-02T10:19:11.316120+00:00 " + string(msg) + "\n"},
		{FrameISO, "", "2026-11-02T10:19:11.316120+00:00 " + string(msg) + "\n"},
		{FrameRaw, "", string(msg) + "\n"},
	}
	for _, tt := range tests {
		hh := *h
		hh.hostname = tt.host
		if got := string(appendFramed(nil, tt.fr, &hh, 16, LevelInfo, now, msg, 1024)); got != tt.want {
			t.Errorf("framing %d:\n got %q\nwant %q", tt.fr, got, tt.want)
		}
	}
	// len: the whole line, newline included, holds in the limit
	got := appendFramed(nil, FrameLocal, h, 16, LevelInfo, now, msg, 50)
	if len(got) != 50 || got[49] != '\n' || !strings.HasPrefix(string(got), "<134>Nov  2 10:19:11 haproxy[24496]: 127.0.0.1") {
		t.Errorf("len 50: %q (%d bytes)", got, len(got))
	}
}

func TestParseNames(t *testing.T) {
	if n, err := FacilityCode("local0"); err != nil || n != 16 {
		t.Errorf("local0 = %d, %v", n, err)
	}
	if n, err := LevelCode("warning"); err != nil || n != 4 {
		t.Errorf("warning = %d, %v", n, err)
	}
	if _, err := FacilityCode("local9"); err == nil {
		t.Error("local9 accepted")
	}
	if _, err := ParseFraming("json"); err == nil {
		t.Error("json accepted")
	}
}

// blockingWriter never returns from Write until released: a log server that hangs.
type blockingWriter struct{ release chan struct{} }

func (b *blockingWriter) Write(p []byte) (int, error) { <-b.release; return len(p), nil }

// TestSendNeverBlocks: with the sender stuck on a hanging writer, Log returns at once
// and the lines beyond the queue are counted as dropped.
func TestSendNeverBlocks(t *testing.T) {
	bw := &blockingWriter{release: make(chan struct{})}
	sys, err := New(&config.Global{Logs: []config.LogTarget{{Address: "stdout", Facility: "local0"}}},
		Options{Stdout: bw, QueueLen: 8})
	if err != nil {
		t.Fatal(err)
	}
	fe := &config.Frontend{Name: "fe", HTTPLog: true, Logs: []config.LogTarget{{Global: true}}}
	l, err := sys.Logger(fe)
	if err != nil || l == nil {
		t.Fatal(l, err)
	}
	r := haproxyRecord()
	start := time.Now()
	for i := 0; i < 1000; i++ {
		l.Log(r)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("1000 lines to a hanging target took %v", d)
	}
	tg := sys.Targets()[0]
	// 8 queued and at most one in the writer: the rest were dropped
	if drops := tg.Drops(); drops < 1000-9 {
		t.Fatalf("drops = %d, want at least %d", drops, 1000-9)
	}
	close(bw.release)
	sys.Close()
	if tg.Sent()+tg.Drops() != 1000 {
		t.Fatalf("sent %d + dropped %d != 1000", tg.Sent(), tg.Drops())
	}
}

func TestUDPAndUnixTargets(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	sock := filepath.Join(t.TempDir(), "log.sock")
	ux, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ux.Close()
	g := &config.Global{Logs: []config.LogTarget{
		{Address: "ipv4@" + pc.LocalAddr().String(), Facility: "local0", Format: "rfc5424"},
		{Address: sock, Facility: "daemon", Level: "notice"},
	}}
	sys, err := New(g, Options{Tag: "tandem"})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	sys.Send(LevelInfo, []byte("info line"))     // unix target's max level is notice: filtered there
	sys.Send(LevelNotice, []byte("notice line")) // both
	buf := make([]byte, 2048)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for _, want := range []string{"<134>1 ", "<133>1 "} {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(buf[:n]); !strings.HasPrefix(got, want) || !strings.Contains(got, " - tandem ") {
			t.Errorf("udp: %q, want prefix %q", got, want)
		}
	}
	ux.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := ux.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:n]); !strings.HasPrefix(got, "<29>") || !strings.HasSuffix(got, "tandem["+strconv.Itoa(os.Getpid())+"]: notice line\n") {
		t.Errorf("unix: %q", got)
	}
}

func TestTargetErrors(t *testing.T) {
	for _, a := range []string{"tcp@127.0.0.1:514", "fd@5"} {
		if _, err := New(&config.Global{Logs: []config.LogTarget{{Address: a, Facility: "local0"}}}, Options{}); err == nil {
			t.Errorf("%s accepted", a)
		}
	}
}

// TestEvents: tandem's own slog records reach the global targets as syslog lines,
// with their attributes, at the mapped severity.
func TestEvents(t *testing.T) {
	var mu sync.Mutex
	var out strings.Builder
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	sys, err := New(&config.Global{Logs: []config.LogTarget{{Address: "stderr", Facility: "daemon", Format: "short"}}},
		Options{Stderr: w})
	if err != nil {
		t.Fatal(err)
	}
	ev := NewEvents(slog.LevelInfo)
	log := slog.New(Tee{A: slog.DiscardHandler, B: ev})
	log.Info("not yet") // no system: dropped
	ev.SetSystem(sys)
	log.With("backend", "app").WithGroup("srv").Warn("server is DOWN", "name", "s1", "reason", "Layer4 timeout")
	log.Debug("below the level")
	sys.Close()
	want := "<4>server is DOWN backend=app srv.name=s1 srv.reason=\"Layer4 timeout\"\n"
	if got := out.String(); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if ev.Enabled(context.Background(), slog.LevelDebug) {
		t.Error("debug enabled")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestLogTagAndHostname: global log-tag and log-send-hostname shape the header, so that
// rsyslog rules written for HAProxy (programname "haproxy") keep matching.
func TestLogTagAndHostname(t *testing.T) {
	var mu sync.Mutex
	var out strings.Builder
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	g := &config.Global{LogTag: "haproxy", LogSendHostname: true, LogHostname: "lb1",
		Logs: []config.LogTarget{{Address: "stdout", Facility: "local0"}, {Address: "stdout", Facility: "local1", Format: "rfc5424"}}}
	sys, err := New(g, Options{Stdout: w})
	if err != nil {
		t.Fatal(err)
	}
	sys.Send(LevelInfo, []byte("x"))
	sys.Close()
	pid := strconv.Itoa(os.Getpid())
	got := out.String()
	for _, want := range []string{" lb1 haproxy[" + pid + "]: x\n", " lb1 haproxy " + pid + " - - x\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
}
