package haproxy

import (
	"strings"
	"testing"
	"time"
)

func TestStatsObservabilityKeywords(t *testing.T) {
	cfg := mustParse(t, `
global
    stats socket /tmp/x.sock mode 600 level admin
    stats timeout 30s
defaults
    mode http
frontend web
    bind 127.0.0.1:80
    http-request use-service prometheus-exporter if { path /metrics }
    default_backend app
listen stats
    bind 127.0.0.1:81
    stats enable
    stats uri /monitor
    stats show-legends
    stats show-node lb1
backend app
    server s1 127.0.0.1:8080
`, nil)
	if cfg.Global.StatsTimeout != 30*time.Second {
		t.Errorf("stats timeout = %v, want 30s", cfg.Global.StatsTimeout)
	}
	if p := cfg.Frontend("web").MetricsPath; p != "/metrics" {
		t.Errorf("MetricsPath = %q, want /metrics", p)
	}
	st := cfg.Frontend("stats").Stats
	if st == nil || !st.ShowLegends || !st.ShowNode || st.NodeName != "lb1" || st.URI != "/monitor" {
		t.Errorf("stats = %+v", st)
	}
}

func TestHTTPRequestPrometheusForms(t *testing.T) {
	for rule, want := range map[string]string{
		"http-request use-service lua.foo if { path /metrics }": "only prometheus-exporter",
	} {
		_, err := Parse("t.cfg", []byte("frontend web\n    mode http\n    bind :80\n    "+rule+"\n"), testOptions(nil))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", rule, err, want)
		}
	}
	// Other forms are rules: the frontend's service serves what they hand over.
	cfg := mustParse(t, "frontend m\n    mode http\n    bind :80\n    http-request use-service prometheus-exporter if { src 127.0.0.0/8 } { path_beg /prom }\n", nil)
	if fe := cfg.Frontend("m"); !fe.MetricsRule || fe.MetricsPath != "" || len(fe.Rules.Request) != 1 {
		t.Errorf("MetricsRule %v MetricsPath %q rules %d", fe.MetricsRule, fe.MetricsPath, len(fe.Rules.Request))
	}
	// A frontend with only the metrics rule needs no backend.
	cfg = mustParse(t, "frontend m\n    mode http\n    bind :80\n    http-request use-service prometheus-exporter if { path /m }\n", nil)
	if cfg.Frontend("m").MetricsPath != "/m" {
		t.Errorf("MetricsPath not set")
	}
}
