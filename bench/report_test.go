package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

func reportWith(t *testing.T, b *side, ka, kaCPU, tcp [2]float64, bErrors int64) *report {
	t.Helper()
	o := options{rounds: 1, idle: 10}
	r := newReport(o, allScenarios, side{label: "haproxy"}, b, "")
	for i := range 2 {
		r.add("keepalive", i == 1, 0, sample{OK: true, ReqPerSec: ka[i], CPUPerReq: kaCPU[i], Requests: 1000, IdleBytes: math.NaN(), P50: time.Millisecond})
		s := sample{OK: true, ReqPerSec: tcp[i], CPUPerReq: 10, Requests: 1000, IdleBytes: math.NaN()}
		if i == 1 {
			s.Errors = bErrors
		}
		r.add("tcp", i == 1, 0, s)
		r.add("close", i == 1, 0, sample{OK: true, ReqPerSec: 1, CPUPerReq: 1, Requests: 10, IdleBytes: math.NaN()})
	}
	return r
}

func TestCheckTargets(t *testing.T) {
	tandem := &side{label: "tandem"}
	tests := []struct {
		name      string
		r         *report
		wantFails []string
	}{
		{"all met", reportWith(t, tandem, [2]float64{100, 95}, [2]float64{10, 11}, [2]float64{100, 90}, 0), nil},
		{"slow keep-alive", reportWith(t, tandem, [2]float64{100, 89}, [2]float64{10, 10}, [2]float64{100, 100}, 0),
			[]string{"keep-alive req/s"}},
		{"costly CPU", reportWith(t, tandem, [2]float64{100, 100}, [2]float64{10, 11.2}, [2]float64{100, 100}, 0),
			[]string{"CPU per request"}},
		{"slow TCP", reportWith(t, tandem, [2]float64{100, 100}, [2]float64{10, 10}, [2]float64{100, 80}, 0),
			[]string{"TCP req/s"}},
		{"fast but failing", reportWith(t, tandem, [2]float64{100, 100}, [2]float64{10, 10}, [2]float64{100, 100}, 5),
			[]string{"failed 5 of 1000"}},
		{"no tandem", reportWith(t, nil, [2]float64{100, 0}, [2]float64{10, 0}, [2]float64{100, 0}, 0),
			[]string{"no tandem"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fails := tt.r.checkTargets()
			if len(fails) != len(tt.wantFails) {
				t.Fatalf("checkTargets = %q, want %d failures like %q", fails, len(tt.wantFails), tt.wantFails)
			}
			for i, w := range tt.wantFails {
				if !strings.Contains(fails[i], w) {
					t.Errorf("failure %d = %q, want it to mention %q", i, fails[i], w)
				}
			}
		})
	}
}

func TestRowsShowMediansAndRatios(t *testing.T) {
	o := options{rounds: 3, idle: 10}
	r := newReport(o, allScenarios[:1], side{label: "haproxy"}, &side{label: "tandem"}, "")
	for round, v := range [][2]float64{{100, 90}, {120, 120}, {110, 0}} {
		r.add("keepalive", false, round, sample{OK: true, ReqPerSec: v[0], IdleBytes: 1000})
		if v[1] > 0 {
			r.add("keepalive", true, round, sample{OK: true, ReqPerSec: v[1], IdleBytes: 2000})
		} // round 3 of tandem failed: stays a failed sample
	}
	rows := r.rows(allScenarios[0])
	got := rows[0]
	want := row{metric: "req/s", a: "110", b: "105", ratio: "0.955", roundRatioSpan: "0.900–1.000"}
	if got != want {
		t.Errorf("req/s row = %+v, want %+v", got, want)
	}
	var idle row
	for _, rw := range rows {
		if strings.HasPrefix(rw.metric, "RSS per idle") {
			idle = rw
		}
	}
	if idle.a != "1000" || idle.b != "2000" || idle.ratio != "2.000" {
		t.Errorf("idle row = %+v", idle)
	}
}

func TestNoise(t *testing.T) {
	tests := []struct {
		name          string
		proxy, load   float64
		want          float64
		wantWarnEmpty bool
	}{
		{"quiet", 1, 2, 2, true},
		{"busy load CPU", 3, 40, 40, false},
		{"busy proxy CPU", 30, 0, 30, false},
		{"unknown", math.NaN(), 1, math.NaN(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sample{OK: true, OthersPct: tt.proxy, LoadOthersPct: tt.load}
			if got := s.noise(); !same(got, tt.want) {
				t.Errorf("noise = %v, want %v", got, tt.want)
			}
			r := newReport(options{rounds: 1}, allScenarios[:1], side{label: "haproxy"}, nil, "")
			r.add("keepalive", false, 0, s)
			if w := r.noiseWarning(); (w == "") != tt.wantWarnEmpty {
				t.Errorf("noiseWarning = %q, want empty=%v", w, tt.wantWarnEmpty)
			}
		})
	}
}

func TestQuietLine(t *testing.T) {
	r := newReport(options{rounds: 3}, allScenarios[:1], side{label: "haproxy"}, &side{label: "tandem"}, "")
	add := func(round int, isB bool, rps, cpu, noise float64) {
		r.add("keepalive", isB, round, sample{OK: true, ReqPerSec: rps, CPUPerReq: cpu, OthersPct: noise, LoadOthersPct: 0})
	}
	add(0, false, 100, 10, 0)
	add(0, true, 90, 11, 1) // quiet: 0.9, 1.1
	add(1, false, 100, 10, 50)
	add(1, true, 20, 10, 0) // haproxy disturbed: left out
	add(2, false, 100, 10, 2)
	add(2, true, 110, 9, 2.9) // quiet: 1.1, 0.9
	got := r.quietLine(allScenarios[0])
	want := "2 of 3; tandem/haproxy req/s ratio median 1.000 (0.900–1.100), CPU µs/request ratio median 1.000 (0.900–1.100)"
	if got != want {
		t.Errorf("quietLine = %q\nwant        %q", got, want)
	}
	r2 := newReport(options{rounds: 1}, allScenarios[:1], side{label: "haproxy"}, &side{label: "tandem"}, "")
	r2.add("keepalive", false, 0, sample{OK: true, OthersPct: 10, LoadOthersPct: 0})
	r2.add("keepalive", true, 0, sample{OK: true, OthersPct: 0, LoadOthersPct: 0})
	if got := r2.quietLine(allScenarios[0]); !strings.HasPrefix(got, "none of 1") {
		t.Errorf("quietLine with no quiet round = %q", got)
	}
}
