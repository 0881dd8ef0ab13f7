package daemon

import (
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tandem/internal/config"
)

// Runtime API sockets follow the `stats socket` lines across reloads; frontend counters
// survive a reload.
func TestStatsSocketsAndCountersAcrossReload(t *testing.T) {
	dir := t.TempDir()
	sockA, sockB := filepath.Join(dir, "a.sock"), filepath.Join(dir, "b.sock")
	srv := banner(t, "hello")
	bind := freePort(t)
	var gen atomic.Int32
	load := func() (*config.Config, error) {
		cfg := tcpConfig(bind, srv)
		sock := sockA
		if gen.Load() > 0 {
			sock = sockB
		}
		cfg.Global.StatsSockets = []config.StatsSocket{{Address: sock, Level: "admin"}}
		return cfg, nil
	}
	d := New(Options{Log: slog.New(slog.DiscardHandler), Load: load, Version: "t"})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop(time.Second)
	ask := func(sock, cmd string) string {
		t.Helper()
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatalf("dial %s: %v", sock, err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, cmd+"\n")
		b, _ := io.ReadAll(c)
		return string(b)
	}
	c, err := net.Dial("tcp4", bind.String())
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(c)
	c.Close()
	stot := func(sock string) string {
		for _, l := range strings.Split(ask(sock, "show stat"), "\n") {
			if f := strings.Split(l, ","); len(f) > 7 && f[0] == "fe" && f[1] == "FRONTEND" {
				return f[7]
			}
		}
		return "?"
	}
	// The session was counted when it opened, before the greeting came through.
	if got := stot(sockA); got != "1" {
		t.Fatalf("fe stot = %s, want 1", got)
	}
	gen.Store(1)
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sockA); !os.IsNotExist(err) {
		t.Errorf("old socket %s still there after reload (err %v)", sockA, err)
	}
	if got := stot(sockB); got != "1" {
		t.Errorf("after reload fe stot = %s, want 1 (counters survive reloads)", got)
	}
}

// As HAProxy, a stats socket that cannot be opened stops the start, naming its line.
func TestStartFailsOnAStatsSocketItCannotOpen(t *testing.T) {
	bind := freePort(t)
	load := func() (*config.Config, error) {
		cfg := tcpConfig(bind, banner(t, "x"))
		cfg.Global.StatsSockets = []config.StatsSocket{{Pos: config.Pos{File: "h.cfg", Line: 3}, Address: filepath.Join(t.TempDir(), "no", "such", "dir", "a.sock")}}
		return cfg, nil
	}
	d := New(Options{Log: slog.New(slog.DiscardHandler), Load: load})
	err := d.Start()
	defer d.Stop(time.Second)
	if err == nil || !strings.HasPrefix(err.Error(), "h.cfg:3: stats socket ") {
		t.Fatalf("Start: %v, want h.cfg:3: stats socket ...", err)
	}
}
