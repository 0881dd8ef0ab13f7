package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHarnessEndToEnd runs the whole bench briefly with haproxy on both sides
// and checks every scenario produced a successful sample on both.
func TestHarnessEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end bench run (≈ 15 s) skipped in -short mode")
	}
	for _, tool := range []string{"/usr/sbin/haproxy", "/usr/sbin/nginx", "wrk", "taskset"} {
		needTool(t, tool)
	}
	md := filepath.Join(t.TempDir(), "r.md")
	o := options{tandem: "haproxy", haproxy: "/usr/sbin/haproxy", nginx: "/usr/sbin/nginx", wrk: "wrk",
		rounds: 1, duration: time.Second, conns: 10, idle: 50, scenarios: "keepalive,tcp,close",
		loadCPU: "0", proxyCPU: "1", markdown: md}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rep, err := run(ctx, log, o)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	scs, err := pickScenarios(o.scenarios)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scs {
		for i, label := range []string{"haproxy", "haproxy-b"} {
			s := rep.samples[sc.name][i][0]
			if !s.OK || s.Requests == 0 || s.ReqPerSec <= 0 || s.RSSKiB == 0 || s.Errors != 0 {
				t.Errorf("%s %s: sample %+v, want a successful run", sc.name, label, s)
			}
			if sc.idle != !isNaN(s.IdleBytes) {
				t.Errorf("%s %s: idle bytes %v measured=%v, want measured=%v", sc.name, label, s.IdleBytes, !isNaN(s.IdleBytes), sc.idle)
			}
		}
	}
	b, err := os.ReadFile(md)
	if err != nil || !strings.Contains(string(b), "### TCP mode") {
		t.Errorf("markdown %s: %v\n%s", md, err, b)
	}
	// The temp directory of the run is gone.
	if m, _ := filepath.Glob(filepath.Join(os.TempDir(), "tandem-bench-*")); len(m) > 0 {
		t.Logf("leftover temp dirs (maybe from another run): %v", m)
	}
}

func isNaN(f float64) bool { return f != f }
