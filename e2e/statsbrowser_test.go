package e2e

import (
	"bufio"
	"context"
	"fmt"
	"image/png"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingForwarder forwards loopback connections to target and counts the request
// lines that start with prefix (what a browser asked for).
func countingForwarder(t *testing.T, target, prefix string) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer s.Close()
				go func() { io.Copy(c, s); c.Close() }()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if strings.HasPrefix(line, prefix) {
						n.Add(1)
					}
					if _, werr := io.WriteString(s, line); werr != nil || err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), &n
}

func chromiumArgs(t *testing.T) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--user-data-dir=" + t.TempDir(), "--window-size=1400,1000"}
}

// TestStatsPageRefreshesAndShowsKilledServerDown is what a person watching the page
// sees: a browser left on the stats page reloads it every `stats refresh` by itself, and
// after a web server is killed its row turns red (DOWN, HAProxy's #ff9090).
func TestStatsPageRefreshesAndShowsKilledServerDown(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium missing (Debian package chromium)")
		}
		t.Skip("chromium not installed")
	}
	web1, web2 := startWeb(t, "web1"), startWeb(t, "web2")
	statsAddr, frontAddr := freeAddr(t), freeAddr(t)
	startTandem(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    timeout check 500ms
listen stats
    bind %s
    stats enable
    stats uri /monitor
    stats refresh 1s
frontend web
    bind %s
    default_backend app
backend app
    option httpchk GET /
    server web1 %s check inter 100ms fall 2 rise 2
    server web2 %s check inter 100ms fall 2 rise 2
`, statsAddr, frontAddr, web1.addr, web2.addr), frontAddr)

	// 1. The refresh: a browser left on the page asks for it again and again.
	via, loads := countingForwarder(t, statsAddr, "GET /monitor")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	browser := exec.CommandContext(ctx, chromium, append(chromiumArgs(t), "--remote-debugging-port=0", "http://"+via+"/monitor")...)
	if err := browser.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(8 * time.Second)
	for loads.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	browser.Process.Kill()
	browser.Wait()
	if n := loads.Load(); n < 3 {
		t.Fatalf("the browser loaded the page %d times in 8s with stats refresh 1s: it does not refresh", n)
	}

	// 2. Kill web1: once the checks mark it DOWN, the page shows its row in red.
	web1.srv.Close()
	c := client(false)
	for i := 0; ; i++ {
		_, csv := body(t, c, "http://"+statsAddr+"/monitor;csv")
		if csvStatus(t, csv, "app", "web1") == "DOWN" {
			break
		}
		if i > 100 {
			t.Fatalf("web1 not DOWN 3s after it was killed:\n%s", csv)
		}
		time.Sleep(30 * time.Millisecond)
	}
	dom, err := exec.CommandContext(ctx, chromium, append(chromiumArgs(t), "--dump-dom", "http://"+statsAddr+"/monitor")...).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`<tr class="active_down" id="app/web1"[^>]*>.*web1.*DOWN`).Match(dom) {
		t.Errorf("the rendered page has no DOWN row for web1")
	}
	shot := filepath.Join(t.TempDir(), "down.png")
	if err := exec.CommandContext(ctx, chromium, append(chromiumArgs(t), "--screenshot="+shot, "http://"+statsAddr+"/monitor")...).Run(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if n := countColour(img, 0xff, 0x90, 0x90); n < 2000 {
		t.Errorf("screenshot has %d pixels of the DOWN colour #ff9090, want a row's worth", n)
	}
}
