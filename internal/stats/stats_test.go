package stats

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/config/haproxy"
	"tandem/internal/proxystats"
)

const testCfg = `
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen stats
    bind 127.0.0.1:1
    stats enable
    stats uri /monitor
    stats refresh 5s
    stats auth admin:s3cret
    stats admin if TRUE
frontend web
    bind 127.0.0.1:2
    default_backend app
backend app
    server web1 127.0.0.1:8001
    server web2 127.0.0.1:8002 check
    server web3 127.0.0.1:8003 backup
`

type fixture struct {
	src   *Source
	cfg   *config.Config
	pools map[string]*backend.Pool
	now   time.Time
}

func newFixture(t *testing.T, text string) *fixture {
	t.Helper()
	cfg, err := haproxy.Parse("t.cfg", []byte(text), haproxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	states := backend.NewStates()
	pools := map[string]*backend.Pool{}
	for _, b := range cfg.Backends {
		pools[b.Name] = backend.New(b, states)
	}
	f := &fixture{cfg: cfg, pools: pools, now: time.Unix(1_800_000_000, 0)}
	f.src = &Source{
		Config:    func() *config.Config { return cfg },
		Pools:     func() map[string]*backend.Pool { return pools },
		Frontends: proxystats.NewRegistry(),
		Process:   Process{Pid: 42, Version: "test", Start: f.now.Add(-90 * time.Second), MaxConn: 100, MaxSock: 300, Nbthread: 1},
		Now:       func() time.Time { return f.now },
	}
	return f
}

func (f *fixture) server(bk, name string) *backend.Server {
	_, sv, err := f.src.Server(bk, name)
	if err != nil {
		panic(err)
	}
	return sv
}

// HAProxy 2.6's header, captured from Debian's haproxy (testdata).
func TestCSVHeaderIsHAProxys(t *testing.T) {
	b, err := os.ReadFile("testdata/haproxy26-show-stat.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.SplitN(string(b), "\n", 2)[0] + "\n"
	if got := CSVHeader(); got != want {
		t.Errorf("header differs from HAProxy 2.6's\n got %q\nwant %q", got, want)
	}
}

// Every row fills the same columns as HAProxy 2.6's row of the same kind.
func TestCSVRowsFillHAProxysColumns(t *testing.T) {
	b, _ := os.ReadFile("testdata/haproxy26-show-stat.csv")
	pattern := func(line string) string {
		var p []byte
		for _, v := range strings.Split(line, ",") {
			if v == "" {
				p = append(p, '_')
			} else {
				p = append(p, 'x')
			}
		}
		return string(p)
	}
	want := map[string]string{}
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Split(l, ",")
		if len(f) < 2 {
			continue
		}
		key := f[1]
		if key != "FRONTEND" && key != "BACKEND" {
			key = "server:" + f[17] // by status: "no check" vs checked
		}
		if _, ok := want[key]; !ok && f[0] != "stats" {
			want[key] = pattern(l)
		}
	}
	f := newFixture(t, testCfg)
	// web2 as HAProxy showed it: checked, refused, DOWN.
	f.server("app", "web2").SetUp(false)
	f.src.Check = func(sv *backend.Server) (CheckInfo, bool) {
		return CheckInfo{Enabled: true, Status: "L4CON", Info: "Connection refused", Desc: "Layer4 connection problem",
			Fails: 1, Downs: 1, Rise: 2, Fall: 3}, sv.Cfg.Name == "web2"
	}
	var out bytes.Buffer
	WriteCSV(&out, f.src.Rows())
	checked := 0
	for _, l := range strings.Split(out.String(), "\n")[1:] {
		fs := strings.Split(l, ",")
		if len(fs) < 2 || fs[0] == "stats" {
			continue
		}
		key := fs[1]
		if key != "FRONTEND" && key != "BACKEND" {
			key = "server:" + fs[17]
		}
		w, ok := want[key]
		if !ok {
			continue
		}
		checked++
		if got := pattern(l); got != w {
			t.Errorf("%s row: filled columns differ from HAProxy's\n got %s\nwant %s\nline %s", key, got, w, l)
		}
	}
	if checked < 4 {
		t.Fatalf("compared %d rows, want frontend, backend, an unchecked and a DOWN server", checked)
	}
}

func TestRowsOrderAndCounters(t *testing.T) {
	f := newFixture(t, testCfg)
	web1 := f.server("app", "web1")
	web1.Total.Add(7)
	web1.BytesIn.Add(100)
	web1.Responses[1].Add(7)
	fe := f.src.Frontends.Frontend("web")
	fe.SessionOpen(f.now)
	fe.Request(f.now)
	fe.Response(200)
	fe.Bytes(10, 20)
	var got []string
	for _, r := range f.src.Rows() {
		got = append(got, r.PxName+"/"+r.SvName)
	}
	want := "stats/FRONTEND stats/BACKEND web/FRONTEND app/web1 app/web2 app/web3 app/BACKEND"
	if strings.Join(got, " ") != want {
		t.Fatalf("rows = %v, want %s", got, want)
	}
	m := map[string]Row{}
	for _, r := range f.src.Rows() {
		m[r.PxName+"/"+r.SvName] = r
	}
	if r := m["app/web1"]; r.STot != 7 || r.BIn != 100 || r.Hrsp[1] != 7 || r.ReqTot != 7 {
		t.Errorf("web1 = %+v", r)
	}
	if r := m["app/BACKEND"]; r.STot != 7 || r.Act != 2 || r.Bck != 1 || r.Weight != 2 || r.Status != "UP" {
		t.Errorf("backend = stot %d act %d bck %d weight %d %s", r.STot, r.Act, r.Bck, r.Weight, r.Status)
	}
	if r := m["web/FRONTEND"]; r.STot != 1 || r.SCur != 1 || r.ReqTot != 1 || r.Hrsp[1] != 1 || r.BOut != 20 || r.Status != "OPEN" {
		t.Errorf("frontend = %+v", r)
	}
}

func TestServerStatusAndColour(t *testing.T) {
	tests := []struct {
		name        string
		set         func(sv *backend.Server)
		check       *CheckInfo
		status, cls string
	}{
		{"ready, no check", func(*backend.Server) {}, nil, "no check", "active_no_check"},
		{"maint", func(sv *backend.Server) { sv.SetAdmin(backend.AdminMaint) }, nil, "MAINT", "maintain"},
		{"drain", func(sv *backend.Server) { sv.SetAdmin(backend.AdminDrain) }, nil, "DRAIN", "active_draining"},
		{"down", func(sv *backend.Server) { sv.SetUp(false) }, nil, "DOWN", "active_down"},
		{"weight 0", func(sv *backend.Server) { sv.SetWeight(0) }, nil, "NOLB", "active_nolb"},
		{"checked up", func(*backend.Server) {}, &CheckInfo{Enabled: true, Rise: 2, Fall: 3, Health: 4}, "UP", "active_up"},
		{"going down", func(*backend.Server) {}, &CheckInfo{Enabled: true, Rise: 2, Fall: 3, Health: 3}, "UP 2/3", "active_going_down"},
		{"going up", func(sv *backend.Server) { sv.SetUp(false) }, &CheckInfo{Enabled: true, Rise: 2, Fall: 3, Health: 1}, "DOWN 1/2", "active_going_up"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, testCfg)
			sv := f.server("app", "web1")
			tc.set(sv)
			if tc.check != nil {
				f.src.Check = func(*backend.Server) (CheckInfo, bool) { return *tc.check, true }
			}
			for _, r := range f.src.Rows() {
				if r.SvName == "web1" {
					if r.Status != tc.status || rowClass(&r) != tc.cls {
						t.Errorf("status %q class %q, want %q %q", r.Status, rowClass(&r), tc.status, tc.cls)
					}
				}
			}
		})
	}
}

func newService(t *testing.T, f *fixture, name string) *Service {
	t.Helper()
	return NewService(f.src, f.cfg.Frontend(name), http.NotFoundHandler(), f.src.Frontends.Frontend(name))
}

func get(h http.Handler, target, user, pass string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", target, nil)
	if user != "" {
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestPageAuthAndFormats(t *testing.T) {
	f := newFixture(t, testCfg)
	f.server("app", "web2").SetAdmin(backend.AdminMaint)
	h := newService(t, f, "stats").Handler()
	if w := get(h, "/monitor", "", ""); w.Code != 401 || !strings.Contains(w.Header().Get("WWW-Authenticate"), `realm="HAProxy Statistics"`) {
		t.Errorf("no credentials: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	if w := get(h, "/monitor", "admin", "wrong"); w.Code != 401 {
		t.Errorf("wrong password: %d", w.Code)
	}
	w := get(h, "/monitor", "admin", "s3cret")
	body := w.Body.String()
	if w.Code != 200 || w.Header().Get("Refresh") != "5" || w.Header().Get("Content-Type") != "text/html" {
		t.Fatalf("page: %d refresh %q type %q", w.Code, w.Header().Get("Refresh"), w.Header().Get("Content-Type"))
	}
	for _, want := range []string{`id="app/web1"`, `id="app/web2"`, `id="app/web3"`, `id="web/Frontend"`, `id="app/Backend"`,
		`<tr class="maintain" id="app/web2" data-status="MAINT">`, `<tr class="backup_no_check" id="app/web3"`, `.maintain {background: #c07820;}`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	w = get(h, "/monitor;csv;norefresh", "admin", "s3cret")
	if w.Header().Get("Refresh") != "" || !strings.HasPrefix(w.Body.String(), "# pxname,svname,") || !strings.Contains(w.Body.String(), "\napp,web2,") {
		t.Errorf("csv: refresh %q body %q", w.Header().Get("Refresh"), w.Body.String()[:40])
	}
	if w := get(h, "/monitor;norefresh", "admin", "s3cret"); w.Header().Get("Refresh") != "" {
		t.Errorf(";norefresh still refreshes")
	}
	// The answers count in the frontend's counters, as HAProxy's do.
	c := f.src.Frontends.Frontend("stats").Snapshot(f.now)
	if c.Intercepted != 5 || c.Responses[1] != 3 || c.Responses[3] != 2 || c.BytesOut == 0 {
		t.Errorf("stats frontend counters %+v: want 5 intercepted, 3 2xx, 2 4xx", c)
	}
}

func TestAdminActionsFromThePage(t *testing.T) {
	f := newFixture(t, testCfg)
	h := newService(t, f, "stats").Handler()
	post := func(form url.Values) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/monitor", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("admin:s3cret")))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	tests := []struct {
		action string
		want   backend.AdminState
	}{{"drain", backend.AdminDrain}, {"maint", backend.AdminMaint}, {"ready", backend.AdminReady}}
	for _, tc := range tests {
		w := post(url.Values{"b": {"app"}, "s": {"web1", "web3"}, "action": {tc.action}})
		if w.Code != 303 || w.Header().Get("Location") != "/monitor;st=DONE" {
			t.Errorf("%s: %d %q", tc.action, w.Code, w.Header().Get("Location"))
		}
		if a := f.server("app", "web1").Admin(); a != tc.want {
			t.Errorf("%s: web1 admin %d, want %d", tc.action, a, tc.want)
		}
	}
	if w := post(url.Values{"b": {"app"}, "s": {"nope"}, "action": {"maint"}}); w.Header().Get("Location") != "/monitor;st=ERRP" {
		t.Errorf("unknown server: %q", w.Header().Get("Location"))
	}
	// Without `stats admin` the page refuses.
	f2 := newFixture(t, strings.Replace(testCfg, "    stats admin if TRUE\n", "", 1))
	h = newService(t, f2, "stats").Handler()
	r := httptest.NewRequest("POST", "/monitor", strings.NewReader("b=app&s=web1&action=maint"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("admin:s3cret")))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Header().Get("Location") != "/monitor;st=DENY" || f2.server("app", "web1").Admin() != backend.AdminReady {
		t.Errorf("no stats admin: %q admin %d", w.Header().Get("Location"), f2.server("app", "web1").Admin())
	}
}

func TestVRRPSection(t *testing.T) {
	f := newFixture(t, testCfg)
	f.src.VRRP = func() ([]VRRPInstance, bool) {
		return []VRRPInstance{{Name: "VI_1", Interface: "eth0", VRID: 51, State: "MASTER", Priority: 110, BasePriority: 100, VIPs: []string{"198.18.0.10/24"},
			Trackers:    []VRRPTracker{{Name: "chk_tandem", OK: true, Delta: 10}},
			Transitions: []VRRPTransition{{At: time.Unix(1_800_000_000, 0), From: "BACKUP", To: "MASTER", Reason: "master down timer"}},
			Episodes:    map[string]uint64{"master_returned": 1},
			EpisodeLog:  []VRRPEpisode{{Kind: "master_returned", Start: time.Unix(1_800_000_000, 0), End: time.Unix(1_800_000_000, 0), Peer: "198.18.0.1", Adverts: 1, Detail: "master <x> back"}},
			Takeovers: []VRRPTakeover{{Master: time.Unix(1_800_000_000, 0), LastAdvert: time.Unix(1_800_000_000, 0).Add(-3609 * time.Millisecond),
				TimerFired: time.Unix(1_800_000_000, 0), VIPsAdded: time.Unix(1_800_000_000, 1500_000)}}}}, true
	}
	body := get(newService(t, f, "stats").Handler(), "/monitor", "admin", "s3cret").Body.String()
	if !strings.Contains(body, `<tr class="vrrp_master" id="vrrp-VI_1">`) || !strings.Contains(body, "198.18.0.10/24") ||
		!strings.Contains(body, "chk_tandem OK (+10)") || !strings.Contains(body, "2027-01-15 08:00:00 BACKUP&rarr;MASTER master down timer") ||
		!strings.Contains(body, "master_returned: 1<br>2027-01-15 08:00:00 master_returned 198.18.0.1: master &lt;x&gt; back (1 adverts, 0s)") ||
		!strings.Contains(body, "2027-01-15 08:00:00.000<br>master silent 3609.0 ms<br>VIPs added +1.5 ms") ||
		!strings.Contains(body, `<input type="hidden" name="vrrp" value="VI_1"><input type="hidden" name="action" value="switchover"><input type="submit" value="Switch over">`) {
		t.Errorf("VRRP section missing:\n%s", body[strings.Index(body, "<h3>"):])
	}
	// the admin's switchover button reaches the VRRP node; without stats admin, denied
	var asked []string
	f.src.VRRPSwitchover = func(name string) error { asked = append(asked, name); return nil }
	h := newService(t, f, "stats").Handler()
	post := func(h http.Handler) string {
		r := httptest.NewRequest("POST", "/monitor", strings.NewReader("vrrp=VI_1&action=switchover"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("admin:s3cret")))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Header().Get("Location")
	}
	if loc := post(h); loc != "/monitor;st=DONE" || len(asked) != 1 || asked[0] != "VI_1" {
		t.Errorf("switchover: %q, asked %v", loc, asked)
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	f := newFixture(t, testCfg+"frontend m\n    bind 127.0.0.1:3\n    http-request use-service prometheus-exporter if { path /metrics }\n    default_backend app\n")
	s := newService(t, f, "m")
	tests := []struct {
		target string
		want   bool
	}{{"/metrics", true}, {"/metrics?x=1", true}, {"/metricsx", false}, {"/", false}}
	for _, tc := range tests {
		if got := s.Match([]byte(tc.target)); got != tc.want {
			t.Errorf("Match(%q) = %v", tc.target, got)
		}
	}
	st := newService(t, f, "stats")
	if !st.Match([]byte("/monitor;csv")) || st.Match([]byte("/other")) {
		t.Error("stats prefix match")
	}
	target := []byte("/metrics")
	if n := testing.AllocsPerRun(100, func() { s.Match(target) }); n != 0 {
		t.Errorf("Match allocates %v", n)
	}
}

func TestHideVersionShowNodeShowLegends(t *testing.T) {
	f := newFixture(t, strings.Replace(testCfg, "    stats admin if TRUE\n", "    stats hide-version\n    stats show-node lb-7\n    stats show-legends\n", 1))
	body := get(newService(t, f, "stats").Handler(), "/monitor", "admin", "s3cret").Body.String()
	if strings.Contains(body, "version test") {
		t.Error("hide-version: the page shows the version")
	}
	if !strings.Contains(body, "Statistics Report for pid 42 on lb-7</h2>") {
		t.Error("show-node: no node name")
	}
	if !strings.Contains(body, `title="mode: http, id: 4"`) {
		t.Error("show-legends: no legend on the proxy name")
	}
	if strings.Contains(body, "<form") {
		t.Error("admin form shown without stats admin")
	}
}

// Until the health checks provide details, a checked server shows UP or DOWN from its state.
func TestCheckedServerWithoutCheckDetails(t *testing.T) {
	f := newFixture(t, testCfg)
	status := func() (string, string) {
		for _, r := range f.src.Rows() {
			if r.SvName == "web2" {
				return r.Status, rowClass(&r)
			}
		}
		return "", ""
	}
	if st, cls := status(); st != "UP" || cls != "active_up" {
		t.Errorf("up: %q %q", st, cls)
	}
	f.server("app", "web2").SetUp(false)
	if st, cls := status(); st != "DOWN" || cls != "active_down" {
		t.Errorf("down: %q %q", st, cls)
	}
}

// TestQueueLimit: a server's maxqueue is its qlimit, in the CSV (empty when unlimited,
// and for frontends and backends) and the HTML page, as HAProxy 2.6 shows it (checked
// against /usr/sbin/haproxy's "show stat").
func TestQueueLimit(t *testing.T) {
	f := newFixture(t, `
defaults
    mode http
backend be
    default-server maxqueue 256
    server s1 127.0.0.1:8001 maxconn 1 maxqueue 7
    server s2 127.0.0.1:8002 maxconn 1
    server s3 127.0.0.1:8003 maxqueue 0
`)
	var out bytes.Buffer
	WriteCSV(&out, f.src.Rows())
	lines := strings.Split(out.String(), "\n")
	col := -1
	for i, c := range strings.Split(strings.TrimPrefix(lines[0], "# "), ",") {
		if c == "qlimit" {
			col = i
		}
	}
	if col < 0 {
		t.Fatal("no qlimit column")
	}
	want := map[string]string{"s1": "7", "s2": "256", "s3": "", "BACKEND": ""}
	seen := 0
	for _, l := range lines[1:] {
		fs := strings.Split(l, ",")
		if len(fs) <= col {
			continue
		}
		if w, ok := want[fs[1]]; ok {
			seen++
			if fs[col] != w {
				t.Errorf("%s: qlimit %q, want %q", fs[1], fs[col], w)
			}
		}
	}
	if seen != len(want) {
		t.Fatalf("saw %d of the %d rows", seen, len(want))
	}
	var page bytes.Buffer
	if err := f.src.writeHTML(&page, pageOpts{st: &config.Stats{URI: "/"}, uri: "/"}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"s1": "<td>0</td><td>0</td><td>7</td>", "s3": "<td>0</td><td>0</td><td>-</td>"} {
		i := strings.Index(page.String(), `<a name="be/`+name+`">`)
		if i < 0 || !strings.Contains(page.String()[i:min(i+400, page.Len())], want) {
			t.Errorf("the HTML row of %s does not show its queue limit as %s", name, want)
		}
	}
}
