package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// sample is one measured run of one proxy in one scenario.
type sample struct {
	OK        bool
	ReqPerSec float64
	P50, P99  time.Duration
	CPUPerReq float64 // µs of proxy CPU time per request
	RSSKiB    uint64  // after the run
	IdleBytes float64 // RSS growth per idle connection; NaN when not measured
	// OthersPct is the share of the run that other tasks took on the proxy's CPU.
	OthersPct float64
	// LoadOthersPct is the same on the CPU of wrk and nginx.
	LoadOthersPct float64
	Attempts      int // measured runs made; the least disturbed one is kept
	// SoftIRQPerReq is softirq µs per request on the proxy's CPU (not in CPUPerReq).
	SoftIRQPerReq float64
	Requests      int64
	Errors        int64
	Err           string
}

func newSample(r wrkResult, cpu time.Duration) sample {
	s := sample{OK: true, ReqPerSec: r.ReqPerSec, P50: r.P50, P99: r.P99, Requests: r.Requests, Errors: r.Errors(), IdleBytes: math.NaN(), OthersPct: math.NaN(), LoadOthersPct: math.NaN(), SoftIRQPerReq: math.NaN()}
	s.CPUPerReq = math.NaN()
	if r.Requests > 0 {
		s.CPUPerReq = float64(cpu.Microseconds()) / float64(r.Requests)
	}
	return s
}

func failedSample(err error) sample {
	return sample{Err: err.Error(), IdleBytes: math.NaN(), OthersPct: math.NaN(), LoadOthersPct: math.NaN(), SoftIRQPerReq: math.NaN()}
}

// noise is the larger share other tasks took of the two CPUs (NaN if unknown).
func (s sample) noise() float64 {
	if math.IsNaN(s.OthersPct) || math.IsNaN(s.LoadOthersPct) {
		return math.NaN()
	}
	return max(s.OthersPct, s.LoadOthersPct)
}

func (s sample) String() string {
	idle := "-"
	if !math.IsNaN(s.IdleBytes) {
		idle = fmt.Sprintf("%.0f B/idle-conn", s.IdleBytes)
	}
	runs := ""
	if s.Attempts > 1 {
		runs = fmt.Sprintf("  (best of %d runs)", s.Attempts)
	}
	return fmt.Sprintf("%9.0f req/s  p50 %-8v p99 %-8v cpu %5.2f µs/req  rss %6.1f MiB  %s  errors %d/%d  softirq %.2f µs/req  others on CPUs %.0f%%/%.0f%% (proxy/load)%s",
		s.ReqPerSec, s.P50, s.P99, s.CPUPerReq, float64(s.RSSKiB)/1024, idle, s.Errors, s.Requests, s.SoftIRQPerReq, s.OthersPct, s.LoadOthersPct, runs)
}

// metric is one column of the results.
type metric struct {
	name    string
	format  string
	get     func(sample) float64
	noRatio bool // a condition of the run, not a property of the proxy
}

var metrics = []metric{
	{"req/s", "%.0f", func(s sample) float64 { return s.ReqPerSec }, false},
	{"p50 latency (ms)", "%.3f", func(s sample) float64 { return float64(s.P50) / 1e6 }, false},
	{"p99 latency (ms)", "%.3f", func(s sample) float64 { return float64(s.P99) / 1e6 }, false},
	{"proxy CPU µs/request", "%.2f", func(s sample) float64 { return s.CPUPerReq }, false},
	{"proxy RSS after run (MiB)", "%.1f", func(s sample) float64 { return float64(s.RSSKiB) / 1024 }, false},
	{"RSS per idle conn (bytes)", "%.0f", func(s sample) float64 { return s.IdleBytes }, false},
	{"failed requests", "%.0f", func(s sample) float64 { return float64(s.Errors) }, true},
	{"softirq µs/request on proxy CPU", "%.2f", func(s sample) float64 { return s.SoftIRQPerReq }, false},
	{"other tasks on proxy CPU (%)", "%.1f", func(s sample) float64 { return s.OthersPct }, true},
	{"other tasks on load CPU (%)", "%.1f", func(s sample) float64 { return s.LoadOthersPct }, true},
}

// report collects samples, indexed by scenario, side (0 haproxy, 1 the other) and round.
type report struct {
	o       options
	scs     []scenario
	a       side
	b       *side
	notes   []string
	samples map[string]*[2][]sample
	started time.Time
}

func newReport(o options, scs []scenario, a side, b *side, note string) *report {
	r := &report{o: o, scs: scs, a: a, b: b, samples: map[string]*[2][]sample{}, started: time.Now()}
	if note != "" {
		r.notes = append(r.notes, note)
	}
	for _, sc := range scs {
		var v [2][]sample
		for i := range v {
			v[i] = make([]sample, o.rounds)
			for j := range v[i] {
				v[i][j] = failedSample(errFailed)
			}
		}
		r.samples[sc.name] = &v
	}
	return r
}

func (r *report) add(sc string, isB bool, round int, s sample) {
	i := 0
	if isB {
		i = 1
	}
	r.samples[sc][i][round] = s
}

// values returns metric m for each round of one side; NaN where a round failed.
func (r *report) values(sc string, i int, m metric) []float64 {
	out := make([]float64, 0, len(r.samples[sc][i]))
	for _, s := range r.samples[sc][i] {
		if !s.OK {
			out = append(out, math.NaN())
			continue
		}
		out = append(out, m.get(s))
	}
	return out
}

// row is one line of a results table.
type row struct {
	metric         string
	a, b, ratio    string
	roundRatioSpan string
}

func (r *report) rows(sc scenario) []row {
	var rows []row
	for _, m := range metrics {
		if m.name == "RSS per idle conn (bytes)" && !(sc.idle && r.o.idle > 0) {
			continue
		}
		av := r.values(sc.name, 0, m)
		ma := median(av)
		rw := row{metric: m.name, a: fmtNum(m.format, ma)}
		if r.b != nil {
			bv := r.values(sc.name, 1, m)
			mb := median(bv)
			rw.b = fmtNum(m.format, mb)
			if m.noRatio {
				rw.ratio = "-"
				lo, hi := span(append(av, bv...))
				if !math.IsNaN(lo) {
					rw.roundRatioSpan = fmt.Sprintf("(runs: %.0f–%.0f)", lo, hi)
				}
			} else {
				rw.ratio = fmtNum("%.3f", ratio(mb, ma))
				lo, hi := span(pairRatios(av, bv))
				if !math.IsNaN(lo) {
					rw.roundRatioSpan = fmt.Sprintf("%.3f–%.3f", lo, hi)
				}
			}
		}
		rows = append(rows, rw)
	}
	return rows
}

func fmtNum(format string, v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf(format, v)
}

func (r *report) bLabel() string {
	if r.b == nil {
		return "-"
	}
	return r.b.label
}

func (r *report) loadLine() string {
	return fmt.Sprintf("wrk -t1 -c%d -d%v, warm-up %v, %d idle conns, %d round(s), medians",
		r.o.conns, r.o.duration, r.o.warmup, r.o.idle, r.o.rounds)
}

// header prints what is being compared.
func (r *report) header(e *env) {
	fmt.Printf("bench: %s vs %s; proxy on CPU %s, wrk+nginx on CPU %s; config %s\n",
		r.a.label, r.bLabel(), r.o.proxyCPU, r.o.loadCPU, e.cfg)
	fmt.Printf("bench: %s\n", r.loadLine())
}

func (r *report) print(w io.Writer) {
	for _, sc := range r.scs {
		fmt.Fprintf(w, "\n== %s (%s)\n", sc.title, r.loadLine())
		fmt.Fprintf(w, "%-31s %12s %12s %9s  %s\n", "metric", r.a.label, r.bLabel(), "ratio", "per-round ratios")
		for _, rw := range r.rows(sc) {
			fmt.Fprintf(w, "%-31s %12s %12s %9s  %s\n", rw.metric, rw.a, orDash(rw.b), orDash(rw.ratio), rw.roundRatioSpan)
		}
	}
	for _, sc := range r.scs {
		if q := r.quietLine(sc); q != "" {
			fmt.Fprintf(w, "quiet rounds, %s: %s\n", sc.name, q)
		}
	}
	for _, n := range r.notes {
		fmt.Fprintln(w, "NOTE:", n)
	}
	if wn := r.noiseWarning(); wn != "" {
		fmt.Fprintln(w, "WARNING:", wn)
	}
}

// quietNoise is the most other tasks may take of either CPU, in %, for a
// round to count as quiet.
const quietNoise = 3

// quietLine summarises the rounds in which neither proxy's run was disturbed
// (other tasks below quietNoise % on both CPUs). On the project machine,
// haproxy against itself gave quiet-round req/s ratios within ±9 %, where
// disturbed rounds differed by up to 13×.
func (r *report) quietLine(sc scenario) string {
	if r.b == nil {
		return ""
	}
	var rps, cpu []float64
	for i := range r.samples[sc.name][0] {
		a, b := r.samples[sc.name][0][i], r.samples[sc.name][1][i]
		if !a.OK || !b.OK || !(a.noise() < quietNoise) || !(b.noise() < quietNoise) {
			continue
		}
		rps = append(rps, ratio(b.ReqPerSec, a.ReqPerSec))
		cpu = append(cpu, ratio(b.CPUPerReq, a.CPUPerReq))
	}
	if len(rps) == 0 {
		return fmt.Sprintf("none of %d (other tasks took ≥ %d %% of a CPU in every round)", r.o.rounds, quietNoise)
	}
	rl, rh := span(rps)
	cl, ch := span(cpu)
	return fmt.Sprintf("%d of %d; %s/%s req/s ratio median %.3f (%.3f–%.3f), CPU µs/request ratio median %.3f (%.3f–%.3f)",
		len(rps), r.o.rounds, r.b.label, r.a.label, median(rps), rl, rh, median(cpu), cl, ch)
}

// noiseWarning says when other tasks took a noticeable share of the proxy's
// CPU: req/s and latency then measure the neighbours more than the proxy.
func (r *report) noiseWarning() string {
	var all []float64
	for _, sc := range r.scs {
		for i := range 2 {
			for _, s := range r.samples[sc.name][i] {
				if s.OK {
					all = append(all, s.noise())
				}
			}
		}
	}
	lo, hi := span(all)
	if math.IsNaN(hi) || hi < 5 {
		return ""
	}
	return fmt.Sprintf("other tasks used up to %.0f–%.0f %% of a CPU during the runs (median %.0f %%): req/s and latency are unreliable; CPU µs/request holds up better", lo, hi, median(all))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// markdownText renders the results with how they were made.
func (r *report) markdownText(e *env) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Results of `go run ./bench %s` (%s, %s).\n\n", strings.Join(os.Args[1:], " "),
		r.started.UTC().Format("2006-01-02 15:04 UTC"), r.loadLine())
	fmt.Fprintf(&b, "- machine: %d CPUs (%s/%s), kernel %s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, firstLine("uname", "-r"))
	fmt.Fprintf(&b, "- haproxy: %s\n", firstLine(r.o.haproxy, "-v"))
	if r.b != nil {
		fmt.Fprintf(&b, "- compared: %s against %s, alternated, the order swapped every round\n", r.b.label, r.a.label)
		if r.b.label == "tandem" {
			fmt.Fprintf(&b, "- tandem: %s\n", describeBinary(r.b.argv[0]))
		}
	}
	fmt.Fprintf(&b, "- pinning: proxy on CPU %s; wrk and nginx on CPU %s\n", r.o.proxyCPU, r.o.loadCPU)
	if c := firstLine("git", "rev-parse", "--short", "HEAD"); c != "" {
		fmt.Fprintf(&b, "- commit: %s\n", c)
	}
	for _, n := range r.notes {
		fmt.Fprintf(&b, "- note: %s\n", n)
	}
	if wn := r.noiseWarning(); wn != "" {
		fmt.Fprintf(&b, "- **noise**: %s\n", wn)
	}
	for _, sc := range r.scs {
		if q := r.quietLine(sc); q != "" {
			fmt.Fprintf(&b, "- quiet rounds, %s: %s\n", sc.name, q)
		}
	}
	for _, sc := range r.scs {
		fmt.Fprintf(&b, "\n### %s\n\n", sc.title)
		if r.b == nil {
			fmt.Fprintf(&b, "| metric | %s |\n|---|---:|\n", r.a.label)
			for _, rw := range r.rows(sc) {
				fmt.Fprintf(&b, "| %s | %s |\n", rw.metric, rw.a)
			}
			continue
		}
		fmt.Fprintf(&b, "| metric | %s | %s | %s / %s | per-round ratios |\n|---|---:|---:|---:|---|\n",
			r.a.label, r.b.label, r.b.label, r.a.label)
		for _, rw := range r.rows(sc) {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", rw.metric, rw.a, rw.b, rw.ratio, orDash(rw.roundRatioSpan))
		}
	}
	return b.String()
}

// describeBinary names a Go binary's version and, when it was built with VCS
// stamping, its commit.
func describeBinary(path string) string {
	d := path
	if v := firstLine(path, "-version"); v != "" {
		d += ", " + v
	}
	out, err := exec.Command("go", "version", "-m", path).Output()
	if err != nil {
		return d
	}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == "build" {
			if rev, ok := strings.CutPrefix(f[1], "vcs.revision="); ok {
				d += ", commit " + rev
			}
			if f[1] == "vcs.modified=true" {
				d += " (with uncommitted changes)"
			}
		}
	}
	return d
}

func firstLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return ""
	}
	l, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return l
}

// ran reports whether scenario sc has a measured sample.
func (r *report) ran(sc string) bool {
	ss := r.samples[sc]
	if ss == nil {
		return false
	}
	for _, side := range ss {
		for _, s := range side {
			if s.OK {
				return true
			}
		}
	}
	return false
}

// checkTargets returns the targets that the medians miss.
func (r *report) checkTargets() []string {
	if r.b == nil {
		return []string{"no tandem was measured, so no target can be met"}
	}
	var fails []string
	want := []struct {
		sc, metric string
		ok         func(float64) bool
		text       string
		optional   bool // checked only when the scenario ran
	}{
		{"keepalive", "req/s", func(x float64) bool { return x >= 0.9 }, "HTTP keep-alive req/s ≥ 0.9× haproxy", false},
		{"keepalive", "proxy CPU µs/request", func(x float64) bool { return x <= 1.1 }, "HTTP keep-alive CPU per request ≤ 1.1× haproxy", false},
		{"tcp", "req/s", func(x float64) bool { return x >= 0.9 }, "TCP req/s ≥ 0.9× haproxy", false},
		{"rules", "proxy CPU µs/request", func(x float64) bool { return x <= 1.05 }, "rules CPU per request ≤ 1.05× haproxy", true},
	}
	for _, t := range want {
		if t.optional && !r.ran(t.sc) {
			continue
		}
		if _, ok := r.samples[t.sc]; !ok {
			fails = append(fails, t.text+": scenario "+t.sc+" was not run")
			continue
		}
		for _, m := range metrics {
			if m.name != t.metric {
				continue
			}
			q := ratio(median(r.values(t.sc, 1, m)), median(r.values(t.sc, 0, m)))
			if math.IsNaN(q) || !t.ok(q) {
				fails = append(fails, fmt.Sprintf("%s: got %s", t.text, fmtNum("%.3f×", q)))
			}
		}
		// A proxy that fails fast could look quick: its requests must succeed too.
		var errs, reqs int64
		for _, s := range r.samples[t.sc][1] {
			errs, reqs = errs+s.Errors, reqs+s.Requests
		}
		if reqs == 0 || float64(errs) > 0.001*float64(reqs) {
			fails = append(fails, fmt.Sprintf("%s: %s failed %d of %d requests", t.sc, r.b.label, errs, reqs))
		}
	}
	return dedupe(fails)
}

func dedupe(xs []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
