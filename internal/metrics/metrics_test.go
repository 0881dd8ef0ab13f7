package metrics

import (
	"bytes"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/config/haproxy"
	"tandem/internal/proxystats"
	"tandem/internal/stats"
)

func newSource(t *testing.T) *stats.Source {
	t.Helper()
	cfg, err := haproxy.Parse("t.cfg", []byte(`
defaults
    mode http
frontend web
    bind 127.0.0.1:2
    http-request use-service prometheus-exporter if { path /metrics }
    default_backend app
backend app
    server web1 127.0.0.1:8001
    server web2 127.0.0.1:8002 maxconn 5 maxqueue 7
`), haproxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	states := backend.NewStates()
	pools := map[string]*backend.Pool{}
	for _, b := range cfg.Backends {
		pools[b.Name] = backend.New(b, states)
	}
	now := time.Unix(1_800_000_000, 0)
	return &stats.Source{
		Config:    func() *config.Config { return cfg },
		Pools:     func() map[string]*backend.Pool { return pools },
		Frontends: proxystats.NewRegistry(),
		Process:   stats.Process{Pid: 7, Version: "test", Start: now.Add(-time.Minute), MaxConn: 100},
		Now:       func() time.Time { return now },
		VRRP: func() ([]stats.VRRPInstance, bool) {
			return []stats.VRRPInstance{{Name: "VI_1", Interface: "eth0", VRID: 51, State: "MASTER", Priority: 100, BasePriority: 100, AdvertsSent: 3,
				Episodes:        map[string]uint64{"master_returned": 2, "dual_master": 1},
				EpisodeLog:      []stats.VRRPEpisode{{Kind: "dual_master", Start: now}},
				Rejected:        map[string]uint64{"auth": 4},
				StageHistograms: map[string]stats.Histogram{"vips_added": {Bounds: []float64{0.001, 0.01}, Counts: []uint64{1, 2, 1}, Sum: 0.5, Count: 4}},
			}}, true
		},
	}
}

func TestValuesAfterTraffic(t *testing.T) {
	src := newSource(t)
	now := src.Now()
	fe := src.Frontends.Frontend("web")
	for range 3 {
		fe.SessionOpen(now)
		fe.Request(now)
		fe.Response(200)
		fe.Bytes(100, 1000)
		fe.SessionClose()
	}
	_, web1, _ := src.Server("app", "web1")
	web1.Total.Add(3)
	web1.Responses[1].Add(3)
	web1.SetAdmin(backend.AdminMaint)
	var out bytes.Buffer
	if err := Write(&out, src); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"# TYPE haproxy_frontend_sessions_total counter\n",
		`haproxy_frontend_sessions_total{proxy="web"} 3` + "\n",
		`haproxy_frontend_http_requests_total{proxy="web"} 3` + "\n",
		`haproxy_frontend_http_responses_total{proxy="web",code="2xx"} 3` + "\n",
		`haproxy_frontend_bytes_out_total{proxy="web"} 3000` + "\n",
		`haproxy_frontend_current_sessions{proxy="web"} 0` + "\n",
		`haproxy_server_sessions_total{proxy="app",server="web1"} 3` + "\n",
		`haproxy_server_http_responses_total{proxy="app",server="web1",code="2xx"} 3` + "\n",
		`haproxy_server_status{proxy="app",server="web1",state="MAINT"} 1` + "\n",
		`haproxy_server_status{proxy="app",server="web1",state="UP"} 0` + "\n",
		`haproxy_server_limit_sessions{proxy="app",server="web1"} NaN` + "\n",
		`haproxy_server_limit_sessions{proxy="app",server="web2"} 5` + "\n",
		`haproxy_server_queue_limit{proxy="app",server="web1"} NaN` + "\n", // HAProxy: NaN when unlimited
		`haproxy_server_queue_limit{proxy="app",server="web2"} 7` + "\n",
		`haproxy_backend_sessions_total{proxy="app"} 3` + "\n",
		`haproxy_backend_active_servers{proxy="app"} 1` + "\n",
		`haproxy_backend_status{proxy="app",state="UP"} 1` + "\n",
		"haproxy_process_uptime_seconds 60\n",
		`tandem_vrrp_state{instance="VI_1",interface="eth0",vrid="51",state="MASTER"} 1` + "\n",
		`tandem_vrrp_adverts_sent_total{instance="VI_1",interface="eth0",vrid="51"} 3` + "\n",
		`tandem_vrrp_split_brain_episodes_total{instance="VI_1",interface="eth0",vrid="51",kind="master_returned"} 2` + "\n",
		`tandem_vrrp_split_brain_episodes_total{instance="VI_1",interface="eth0",vrid="51",kind="config_mismatch"} 0` + "\n",
		`tandem_vrrp_split_brain_active{instance="VI_1",interface="eth0",vrid="51",kind="dual_master"} 1` + "\n",
		`tandem_vrrp_split_brain_active{instance="VI_1",interface="eth0",vrid="51",kind="master_returned"} 0` + "\n",
		`tandem_vrrp_adverts_rejected_total{instance="VI_1",interface="eth0",vrid="51",reason="auth"} 4` + "\n",
		"# TYPE tandem_vrrp_takeover_stage_seconds histogram\n",
		`tandem_vrrp_takeover_stage_seconds_bucket{instance="VI_1",interface="eth0",vrid="51",stage="vips_added",le="0.001"} 1` + "\n",
		`tandem_vrrp_takeover_stage_seconds_bucket{instance="VI_1",interface="eth0",vrid="51",stage="vips_added",le="0.01"} 3` + "\n",
		`tandem_vrrp_takeover_stage_seconds_bucket{instance="VI_1",interface="eth0",vrid="51",stage="vips_added",le="+Inf"} 4` + "\n",
		`tandem_vrrp_takeover_stage_seconds_sum{instance="VI_1",interface="eth0",vrid="51",stage="vips_added"} 0.5` + "\n",
		`tandem_vrrp_takeover_stage_seconds_count{instance="VI_1",interface="eth0",vrid="51",stage="vips_added"} 4` + "\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q", want)
		}
	}
	lint(t, text)
}

// lint runs promtool (Debian package prometheus) over the exposition; without it, the
// test checks the format itself.
func lint(t *testing.T, text string) {
	t.Helper()
	checkFormat(t, text)
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool not installed (apt-get install prometheus)")
		}
		t.Log("promtool not installed: format checked in Go only")
		return
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// checkFormat checks what promtool would: each family has HELP then TYPE once, its
// samples follow together, counters end in _total, names are valid.
func checkFormat(t *testing.T, text string) {
	seen := map[string]bool{}
	cur, typ := "", ""
	for i, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "# HELP "):
			name := strings.Fields(l)[2]
			if seen[name] {
				t.Errorf("line %d: family %s appears twice", i+1, name)
			}
			seen[name], cur = true, name
		case strings.HasPrefix(l, "# TYPE "):
			f := strings.Fields(l)
			if f[2] != cur {
				t.Errorf("line %d: TYPE for %s after HELP for %s", i+1, f[2], cur)
			}
			typ = f[3]
			if f[3] == "counter" && !strings.HasSuffix(cur, "_total") {
				t.Errorf("line %d: counter %s does not end in _total", i+1, cur)
			}
		default:
			name := l
			if j := strings.IndexAny(l, "{ "); j >= 0 {
				name = l[:j]
			}
			if typ == "histogram" {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if base, ok := strings.CutSuffix(name, suffix); ok && base == cur {
						name = base
					}
				}
			}
			if name != cur {
				t.Errorf("line %d: sample of %s outside its family %s", i+1, name, cur)
			}
		}
	}
}

func TestLabelEscaping(t *testing.T) {
	if got := escape("a\\b\"c\nd"); got != `a\\b\"c\nd` {
		t.Errorf("escape = %q", got)
	}
}

func TestScopeParameter(t *testing.T) {
	src := newSource(t)
	h := Handler(src)
	tests := []struct {
		query      string
		want, none []string
	}{
		{"", []string{"haproxy_process_", "haproxy_frontend_", "haproxy_backend_", "haproxy_server_", "tandem_vrrp_"}, nil},
		{"?scope=server", []string{"haproxy_server_"}, []string{"haproxy_process_", "haproxy_frontend_", "haproxy_backend_"}},
		{"?scope=global&scope=frontend", []string{"haproxy_process_", "haproxy_frontend_"}, []string{"haproxy_server_", "tandem_vrrp_"}},
		{"?scope=", nil, []string{"haproxy_"}},
		{"?scope=*", []string{"haproxy_server_", "tandem_vrrp_"}, nil},
	}
	for _, tc := range tests {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics"+tc.query, nil))
		body := w.Body.String()
		for _, s := range tc.want {
			if !strings.Contains(body, "\n"+s) && !strings.HasPrefix(body, "# HELP "+s) {
				t.Errorf("%q: no %s metrics", tc.query, s)
			}
		}
		for _, s := range tc.none {
			if strings.Contains(body, "\n"+s) {
				t.Errorf("%q: has %s metrics", tc.query, s)
			}
		}
		if w.Header().Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" {
			t.Errorf("content type %q", w.Header().Get("Content-Type"))
		}
	}
}
