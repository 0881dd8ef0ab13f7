package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKilledServerShowsDownOnPageAndCSV: with health checks on, killing a web server
// turns its row DOWN on the stats page and in the CSV (with the check's reason), and
// `disable health` over the socket makes it unchecked again, as HAProxy does.
func TestKilledServerShowsDownOnPageAndCSV(t *testing.T) {
	web1, web2 := startWeb(t, "web1"), startWeb(t, "web2")
	sock := filepath.Join(t.TempDir(), "admin.sock")
	statsAddr, frontAddr := freeAddr(t), freeAddr(t)
	p := startTandem(t, fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    timeout check 500ms
listen stats
    bind %s
    stats enable
    stats uri /monitor
    stats refresh 5s
frontend web
    bind %s
    default_backend app
backend app
    option httpchk GET /
    server web1 %s check inter 100ms fall 2 rise 2
    server web2 %s check inter 100ms fall 2 rise 2
`, sock, statsAddr, frontAddr, web1.addr, web2.addr), frontAddr)
	c := client(false)
	csv := func() string {
		_, b := body(t, c, "http://"+statsAddr+"/monitor;csv")
		return b
	}
	waitStatus := func(want string) string {
		t.Helper()
		var last string
		for i := 0; i < 100; i++ {
			last = csv()
			if csvStatus(t, last, "app", "web1") == want {
				return last
			}
			time.Sleep(30 * time.Millisecond)
		}
		t.Fatalf("web1 never became %s:\n%s\n%s", want, last, p.stderr)
		return ""
	}
	waitStatus("UP")
	web1.srv.Close() // the web server dies: listener and connections
	got := waitStatus("DOWN")
	if csvStatus(t, got, "app", "web2") != "UP" {
		t.Fatalf("web2 is not UP:\n%s", got)
	}
	if !strings.Contains(got, "L4CON") {
		t.Errorf("the CSV does not carry the check status L4CON:\n%s", got)
	}
	_, page := body(t, c, "http://"+statsAddr+"/monitor")
	if !strings.Contains(page, "DOWN") || !strings.Contains(page, "web1") {
		t.Fatalf("the page does not show web1 DOWN")
	}
	for i := 0; i < 10; i++ {
		if _, s := body(t, c, "http://"+frontAddr+"/"); s != "web2" {
			t.Fatalf("request %d went to %q with web1 DOWN", i, s)
		}
	}
	runCtl := func(cmd ...string) {
		if code, out, errOut := runTandem(t, append([]string{"ctl", "-s", sock}, cmd...)...); code != 0 || out != "" || errOut != "" {
			t.Fatalf("ctl %v: %d %q %q", cmd, code, out, errOut)
		}
	}
	runCtl("disable", "health", "app/web1")
	if s := csvStatus(t, csv(), "app", "web1"); s != "no check" && s != "UP" {
		t.Fatalf("after disable health web1 is %q, want unchecked (no check)", s)
	}
	runCtl("enable", "health", "app/web1")
	waitStatus("DOWN")
	if !strings.Contains(p.stderr.String(), "Server app/web1 is DOWN") {
		t.Errorf("no HAProxy-style transition log line:\n%s", p.stderr)
	}
}
