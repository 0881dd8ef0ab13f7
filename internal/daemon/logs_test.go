package daemon

import (
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"tandem/internal/config"
	"tandem/internal/logging"
)

func udpSink(t *testing.T) (net.PacketConn, string) {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc, pc.LocalAddr().String()
}

// readLine returns the next datagram, or "" after a bounded wait.
func readLine(pc net.PacketConn, within time.Duration) string {
	buf := make([]byte, 4096)
	pc.SetReadDeadline(time.Now().Add(within))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

// readTraffic returns the next local0.info datagram (a traffic line), skipping events.
func readTraffic(pc net.PacketConn, within time.Duration) string {
	end := time.Now().Add(within)
	for time.Now().Before(end) {
		if l := readLine(pc, time.Until(end)); strings.HasPrefix(l, "<134>") || l == "" {
			return l
		}
	}
	return ""
}

// TestReloadMovesLogTargets: the tcplog lines and tandem's own events follow the log
// targets of the configuration running; after a reload the old target hears nothing.
func TestReloadMovesLogTargets(t *testing.T) {
	pcA, addrA := udpSink(t)
	pcB, addrB := udpSink(t)
	bind, srv := freePort(t), banner(t, "hello")
	withLog := func(target string) *config.Config {
		c := tcpConfig(bind, srv)
		c.Global.Logs = []config.LogTarget{{Address: target, Facility: "local0"}}
		c.Frontends[0].TCPLog = true
		c.Frontends[0].Logs = []config.LogTarget{{Global: true}}
		return c
	}
	l := &loader{}
	l.set(withLog(addrA), nil)
	ev := logging.NewEvents(slog.LevelInfo)
	d := New(Options{Log: slog.New(ev), Load: l.load, Events: ev})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop(time.Second)

	if got, err := get(bind.String()); err != nil || got != "hello" {
		t.Fatalf("get: %q %v", got, err)
	}
	line := readTraffic(pcA, 5*time.Second)
	if !strings.HasPrefix(line, "<134>") || !strings.Contains(line, " fe be/s1 ") {
		t.Fatalf("target A: %q, want a tcplog line", line)
	}
	l.set(withLog(addrB), nil)
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	d.log.Info("reloaded")
	if ev := readLine(pcB, 5*time.Second); !strings.HasPrefix(ev, "<133>") || !strings.HasSuffix(ev, ": reloaded\n") {
		t.Fatalf("target B: %q, want the event as local0.notice", ev)
	}
	if got, err := get(bind.String()); err != nil || got != "hello" {
		t.Fatalf("get after reload: %q %v", got, err)
	}
	if line := readTraffic(pcB, 5*time.Second); !strings.Contains(line, " fe be/s1 ") {
		t.Fatalf("target B: %q, want a tcplog line", line)
	}
	if line := readTraffic(pcA, 200*time.Millisecond); line != "" {
		t.Fatalf("target A still receives after the reload: %q", line)
	}
	st := d.LogStats()
	if len(st) != 1 || st[0].Address != addrB || st[0].Sent < 2 || st[0].Dropped != 0 {
		t.Fatalf("log stats after the reload: %+v", st)
	}
}
