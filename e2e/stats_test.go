package e2e

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// statsSetup runs tandem with the seeds' `listen stats` block, a web frontend with the
// Prometheus rule, two web servers without health checks, an admin socket and a
// user-level socket.
type statsSetup struct {
	p                  *proc
	web1, web2         *web
	statsURL, frontURL string
	admin, user        string
}

func startStatsSetup(t *testing.T) *statsSetup {
	t.Helper()
	s := &statsSetup{web1: startWeb(t, "web1"), web2: startWeb(t, "web2")}
	dir := t.TempDir()
	s.admin, s.user = filepath.Join(dir, "admin.sock"), filepath.Join(dir, "user.sock")
	statsAddr, frontAddr := freeAddr(t), freeAddr(t)
	s.statsURL, s.frontURL = "http://"+statsAddr, "http://"+frontAddr
	cfg := fmt.Sprintf(`global
    stats socket %s mode 600 level admin
    stats socket %s level user
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
listen stats
    bind %s
    stats enable
    stats uri /monitor
    stats refresh 5s
frontend web
    bind %s
    http-request use-service prometheus-exporter if { path /metrics }
    default_backend app
backend app
    balance roundrobin
    server web1 %s
    server web2 %s
`, s.admin, s.user, statsAddr, frontAddr, s.web1.addr, s.web2.addr)
	s.p = startTandem(t, cfg, frontAddr)
	return s
}

func (s *statsSetup) ctl(t *testing.T, sock string, cmd ...string) string {
	t.Helper()
	_, out, errOut := runTandem(t, append([]string{"ctl", "-s", sock}, cmd...)...)
	if errOut != "" {
		t.Fatalf("tandem ctl %v: %s", cmd, errOut)
	}
	return out
}

// csvStatus returns the status column of pxname/svname in a CSV export.
func csvStatus(t *testing.T, csv, px, sv string) string {
	t.Helper()
	for _, l := range strings.Split(csv, "\n") {
		f := strings.Split(l, ",")
		if len(f) > 17 && f[0] == px && f[1] == sv {
			return f[17]
		}
	}
	t.Fatalf("no row %s/%s in\n%s", px, sv, csv)
	return ""
}

func TestStatsPageSocketAndMetrics(t *testing.T) {
	s := startStatsSetup(t)
	c := client(true)

	// The page and the CSV show every proxy and server.
	resp, err := c.Get(s.statsURL + "/monitor")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Refresh") != "5" {
		t.Fatalf("/monitor: %d, Refresh %q", resp.StatusCode, resp.Header.Get("Refresh"))
	}
	_, page := body(t, c, s.statsURL+"/monitor")
	for _, id := range []string{"stats/Frontend", "web/Frontend", "app/web1", "app/web2", "app/Backend"} {
		if !strings.Contains(page, `id="`+id+`"`) {
			t.Errorf("page lacks row %s", id)
		}
	}
	_, csv := body(t, c, s.statsURL+"/monitor;csv")
	for _, row := range []string{"stats,FRONTEND,", "stats,BACKEND,", "web,FRONTEND,", "app,web1,", "app,web2,", "app,BACKEND,"} {
		if !strings.Contains(csv, "\n"+row) {
			t.Errorf("csv lacks %s", row)
		}
	}
	if st := csvStatus(t, csv, "app", "web1"); st != "no check" {
		t.Errorf("web1 status %q, want \"no check\" (health checks off)", st)
	}

	// Traffic reaches both servers; the socket's show stat counts it.
	const n = 20
	for range n {
		if code, _ := body(t, c, s.frontURL+"/"); code != 200 {
			t.Fatalf("GET through tandem: %d", code)
		}
	}
	if s.web1.hits.Load() == 0 || s.web2.hits.Load() == 0 {
		t.Fatalf("hits web1 %d web2 %d: roundrobin should reach both", s.web1.hits.Load(), s.web2.hits.Load())
	}
	stat := s.ctl(t, s.admin, "show stat")
	if !strings.HasPrefix(stat, "# pxname,svname,qcur,qmax,scur,smax,slim,stot,") {
		t.Fatalf("show stat:\n%s", stat)
	}
	var total int
	for _, sv := range []string{"web1", "web2"} {
		for _, l := range strings.Split(stat, "\n") {
			if f := strings.Split(l, ","); len(f) > 7 && f[0] == "app" && f[1] == sv {
				v, _ := strconv.Atoi(f[7])
				total += v
			}
		}
	}
	if total != n {
		t.Errorf("stot of web1+web2 = %d, want %d", total, n)
	}

	// A level-user socket refuses admin commands with HAProxy's message.
	if got := s.ctl(t, s.user, "disable", "server", "app/web1"); got != "Permission denied\n" {
		t.Errorf("user socket: %q, want Permission denied", got)
	}

	// disable server stops its traffic; the page and CSV show MAINT; enable brings it back.
	if got := s.ctl(t, s.admin, "disable", "server", "app/web1"); got != "" {
		t.Fatalf("disable server: %q", got)
	}
	before := s.web1.hits.Load()
	for range 10 {
		body(t, c, s.frontURL+"/")
	}
	if got := s.web1.hits.Load(); got != before {
		t.Errorf("web1 got %d requests while disabled", got-before)
	}
	_, csv = body(t, c, s.statsURL+"/monitor;csv")
	if st := csvStatus(t, csv, "app", "web1"); st != "MAINT" {
		t.Errorf("disabled web1 shows %q, want MAINT", st)
	}
	_, page = body(t, c, s.statsURL+"/monitor")
	if !strings.Contains(page, `<tr class="maintain" id="app/web1"`) {
		t.Error("page does not show web1 in the maintenance colour")
	}
	s.ctl(t, s.admin, "enable", "server", "app/web1")
	before = s.web1.hits.Load()
	for range 10 {
		body(t, c, s.frontURL+"/")
	}
	if s.web1.hits.Load() == before {
		t.Error("web1 got no traffic after enable server")
	}

	// /metrics: HAProxy's names with the counts of what went through.
	_, metrics := body(t, c, s.frontURL+"/metrics")
	want := []string{
		`haproxy_frontend_http_requests_total{proxy="web"} ` + strconv.Itoa(n+20+1),
		`haproxy_frontend_http_responses_total{proxy="web",code="2xx"} ` + strconv.Itoa(n+20),
		`haproxy_backend_http_responses_total{proxy="app",code="2xx"} ` + strconv.Itoa(n+20),
		`haproxy_server_status{proxy="app",server="web1",state="UP"} 1`,
	}
	for _, w := range want {
		if !strings.Contains(metrics, w+"\n") {
			t.Errorf("metrics lack %q", w)
		}
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(metrics)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	} else if os.Getenv("CI") == "true" {
		t.Fatal("promtool missing (Debian package prometheus)")
	}
}

// TestStatsPageInChromium loads the page in headless Chromium and checks what a person
// sees: the server rows, a DOWN server in red and a server in maintenance in HAProxy's
// MAINT colour.
func TestStatsPageInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium missing (Debian package chromium)")
		}
		t.Skip("chromium not installed")
	}
	s := startStatsSetup(t)
	s.ctl(t, s.admin, "set", "server", "app/web2", "state", "maint")
	s.ctl(t, s.admin, "set", "server", "app/web1", "health", "down")
	run := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
			"--disable-component-update", "--disable-sync", "--user-data-dir=" + t.TempDir(), "--window-size=1400,1000"}
		cmd := exec.CommandContext(ctx, chromium, append(base, args...)...)
		cmd.Dir = t.TempDir()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium %v: %v", args, err)
		}
		return out
	}
	dom := string(run("--dump-dom", s.statsURL+"/monitor"))
	for _, re := range []string{
		`<tr class="active_down" id="app/web1"[^>]*>.*web1.*DOWN`,
		`<tr class="maintain" id="app/web2"[^>]*>.*web2.*MAINT`,
		`<tr class="frontend" id="web/Frontend"`,
	} {
		if !regexp.MustCompile(re).MatchString(dom) {
			t.Errorf("rendered DOM does not match %s", re)
		}
	}
	shot := filepath.Join(t.TempDir(), "stats.png")
	run("--screenshot="+shot, s.statsURL+"/monitor")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// HAProxy's colours: maintenance #c07820, DOWN #ff9090 (the legend has a small swatch of
	// each: a row is thousands of pixels).
	if n := countColour(img, 0xc0, 0x78, 0x20); n < 2000 {
		t.Errorf("screenshot has %d pixels of the MAINT colour #c07820, want a row's worth", n)
	}
	if n := countColour(img, 0xff, 0x90, 0x90); n < 2000 {
		t.Errorf("screenshot has %d pixels of the DOWN colour #ff9090, want a row's worth", n)
	}
}

func countColour(img image.Image, r, g, b uint8) int {
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if uint8(cr>>8) == r && uint8(cg>>8) == g && uint8(cb>>8) == b {
				n++
			}
		}
	}
	return n
}
