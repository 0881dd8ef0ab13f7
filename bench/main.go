// Command bench compares tandem with Debian's HAProxy on this machine.
//
// It starts two nginx backends and, in alternation, haproxy and tandem with the
// same haproxy.cfg, pins the load generator (wrk) and nginx to one CPU and the
// proxy alone to the other, and reports for each scenario (HTTP keep-alive,
// HTTP with Connection: close, TCP mode) req/s, p50/p99 latency, proxy CPU time
// per request, RSS and RSS per idle keep-alive connection, as medians over the
// rounds with the ratio tandem/haproxy.
//
//	go run ./bench                  # 5 rounds of 10 s, tandem built from ./cmd/tandem
//	go run ./bench -smoke           # 1 short round: proves the harness works (CI)
//	go run ./bench -check           # exit 1 if the targets of issue 2 are not met
//	go run ./bench -tandem=haproxy  # haproxy against itself: shows the noise
//
// Exit status: 0 done, 1 -check targets not met, 2 the harness failed.
// Everything runs on 127.0.0.1; only processes the bench started are signalled.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	tandem    string
	haproxy   string
	nginx     string
	wrk       string
	rounds    int
	duration  time.Duration
	warmup    time.Duration
	conns     int
	idle      int
	scenarios string
	loadCPU   string
	proxyCPU  string
	smoke     bool
	check     bool
	markdown  string
	keep      bool
	timeout   time.Duration
	// maxNoise is the share (%) of a CPU other tasks may take during a
	// measured run before it is run again, up to noiseRetries times.
	maxNoise     float64
	noiseRetries int
	verbose      bool
}

func main() {
	var o options
	flag.StringVar(&o.tandem, "tandem", "", `tandem binary; "" builds ./cmd/tandem, "none" runs haproxy only, "haproxy" runs a second haproxy (noise check)`)
	flag.StringVar(&o.haproxy, "haproxy", "/usr/sbin/haproxy", "haproxy binary")
	flag.StringVar(&o.nginx, "nginx", "/usr/sbin/nginx", "nginx binary")
	flag.StringVar(&o.wrk, "wrk", "wrk", "wrk binary")
	flag.IntVar(&o.rounds, "rounds", 5, "alternated rounds")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured wrk run per scenario and proxy (whole seconds)")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured wrk run before each measured one (whole seconds, 0 to skip)")
	flag.IntVar(&o.conns, "conns", 50, "wrk connections")
	flag.IntVar(&o.idle, "idle", 5000, "idle keep-alive connections for the memory measurement (0 to skip)")
	flag.StringVar(&o.scenarios, "scenarios", "keepalive,tcp,close", "comma-separated scenarios: keepalive, tcp, close, tcpclose, rules")
	flag.StringVar(&o.loadCPU, "load-cpu", "0", "taskset CPU list for wrk and nginx")
	flag.StringVar(&o.proxyCPU, "proxy-cpu", "1", "taskset CPU list for the proxy")
	flag.BoolVar(&o.smoke, "smoke", false, "1 round of 2 s, 200 idle connections, all scenarios; fails only if the harness fails")
	flag.BoolVar(&o.check, "check", false, "exit 1 unless keep-alive req/s ≥ 0.9×, CPU/request ≤ 1.1× and TCP req/s ≥ 0.9× haproxy")
	flag.StringVar(&o.markdown, "markdown", "", "write the results as a markdown table to this file")
	flag.Float64Var(&o.maxNoise, "max-noise", 20, "rerun a measured run when other tasks took more than this % of the proxy's or the load's CPU (0: never)")
	flag.IntVar(&o.noiseRetries, "noise-retries", 2, "reruns allowed per measurement by -max-noise; the least disturbed run counts")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (configs, logs)")
	flag.DurationVar(&o.timeout, "timeout", time.Hour, "bound on the whole run")
	flag.BoolVar(&o.verbose, "v", false, "log debug details")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	if o.smoke {
		o.rounds, o.duration, o.warmup, o.idle, o.scenarios = 1, 2*time.Second, time.Second, 200, "keepalive,tcp,close,rules"
		o.maxNoise = 0
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the bench at once (children have Pdeathsig)
	}()

	rep, err := run(ctx, log, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(2)
	}
	if o.check {
		if fails := rep.checkTargets(); len(fails) > 0 {
			fmt.Printf("\nCHECK FAILED:\n  %s\n", strings.Join(fails, "\n  "))
			os.Exit(1)
		}
		fmt.Println("\nCHECK PASSED: all targets met")
	}
}

// scenario is one kind of traffic.
type scenario struct {
	name  string
	title string
	tcp   bool // through the mode tcp frontend
	close bool // wrk sends Connection: close
	idle  bool // also measure RSS per idle connection
	rules bool // through the frontend with ACLs and rules, as Host app.example
}

var allScenarios = []scenario{
	{name: "keepalive", title: "HTTP keep-alive", idle: true},
	{name: "tcp", title: "TCP mode", tcp: true, idle: true},
	{name: "close", title: "HTTP Connection: close", close: true},
	// Not in the default list: a TCP session per request, for the cost of setting one up.
	{name: "tcpclose", title: "TCP mode, Connection: close", tcp: true, close: true},
	// Not in the default list: HTTP keep-alive through 20 ACLs and 12 rules (issue 10).
	{name: "rules", title: "HTTP keep-alive, 20 ACLs and 12 rules", rules: true},
}

func pickScenarios(list string) ([]scenario, error) {
	var out []scenario
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		found := false
		for _, s := range allScenarios {
			if s.name == n {
				out, found = append(out, s), true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown scenario %q (want keepalive, tcp, close, tcpclose or rules)", n)
		}
	}
	return out, nil
}

// side is one of the two proxies compared.
type side struct {
	label string
	argv  []string // without the config path
	env   []string
}

func (s side) command(cfg string) []string {
	return append(append([]string(nil), s.argv...), "-f", cfg)
}

// env is what one measurement needs.
type env struct {
	o     options
	nginx *proc
	log   *slog.Logger
	ps    *procs
	ports ports
	cfg   string
}

func run(ctx context.Context, log *slog.Logger, o options) (*report, error) {
	scs, err := pickScenarios(o.scenarios)
	if err != nil {
		return nil, err
	}
	if o.rounds < 1 || o.conns < 1 || o.idle < 0 || o.duration < time.Second {
		return nil, fmt.Errorf("need -rounds ≥ 1, -conns ≥ 1, -idle ≥ 0, -duration ≥ 1s")
	}
	for _, bin := range []string{o.haproxy, o.nginx, o.wrk, "taskset"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("need %s: %w", bin, err)
		}
	}
	if runtime.NumCPU() < 2 && o.loadCPU == "0" && o.proxyCPU == "1" {
		// One CPU only (a small CI runner): share it rather than fail.
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			return nil, fmt.Errorf("read allowed CPUs: %w", err)
		}
		cpu, err := parseAllowedCPU(string(b))
		if err != nil {
			return nil, err
		}
		o.loadCPU, o.proxyCPU = cpu, cpu
		log.Warn("only one CPU: proxy and load share it, numbers are not comparable with the targets", "cpu", cpu)
	}
	nofile, err := raiseNoFile()
	if err != nil {
		return nil, err
	}
	if need := uint64(2*o.idle + 2*o.conns + 400); nofile < need {
		return nil, fmt.Errorf("RLIMIT_NOFILE hard limit %d is below the %d descriptors %d idle connections need", nofile, need, o.idle)
	}
	dir, err := os.MkdirTemp("", "tandem-bench-*")
	if err != nil {
		return nil, fmt.Errorf("make temp dir: %w", err)
	}
	ps := &procs{log: log, dir: dir}
	defer func() {
		ps.cleanup()
		if o.keep {
			log.Info("kept temp dir", "dir", dir)
			return
		}
		if err := os.RemoveAll(dir); err != nil {
			log.Warn("remove temp dir", "err", err)
		}
	}()

	pp, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	e := &env{o: o, log: log, ps: ps, ports: ports{web1: pp[0], web2: pp[1], http: pp[2], tcp: pp[3], rules: pp[4]}}
	maxconn := proxyMaxconn(nofile)
	if maxconn < 20000 {
		log.Info("global maxconn lowered to fit the descriptor limit", "maxconn", maxconn, "nofile", nofile)
	}
	nginxConfPath, cfg, err := writeConfigs(dir, e.ports, maxconn)
	if err != nil {
		return nil, err
	}
	e.cfg = cfg
	if out, err := exec.CommandContext(ctx, o.haproxy, "-c", "-f", cfg).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("haproxy rejects the bench config: %w: %s", err, tail(string(out), 600))
	}

	a := side{label: "haproxy", argv: []string{o.haproxy, "-db"}}
	b, note := resolveTandem(ctx, log, o, dir)
	if note != "" {
		fmt.Println("NOTE:", note)
	}

	nginxDir := filepath.Dir(nginxConfPath)
	ng, err := ps.start("nginx", o.loadCPU, []string{o.nginx, "-p", nginxDir, "-e", filepath.Join(nginxDir, "nginx-error.log"), "-c", nginxConfPath}, nil)
	if err != nil {
		return nil, err
	}
	e.nginx = ng
	web := []string{addr(e.ports.web1), addr(e.ports.web2)}
	if err := waitListening(ctx, ng, 10*time.Second, web...); err != nil {
		return nil, err
	}
	for _, w := range web {
		if st, _, err := getOnce(w, 5*time.Second); err != nil || !strings.Contains(st, " 200 ") {
			return nil, fmt.Errorf("nginx at %s does not answer 200 (%q): %v", w, st, err)
		}
	}

	rep := newReport(o, scs, a, b, note)
	rep.header(e)
	bFailures, bGaveUp := 0, false
	for r := range o.rounds {
		for _, sc := range scs {
			order := []*side{&a, b}
			if r%2 == 1 {
				order = []*side{b, &a}
			}
			for _, s := range order {
				if s == nil {
					continue
				}
				if s == b && bGaveUp {
					continue
				}
				smp, err := e.measure(ctx, *s, sc)
				if ctx.Err() != nil {
					return nil, fmt.Errorf("interrupted: %w", context.Cause(ctx))
				}
				if ng.exited() {
					return nil, fmt.Errorf("nginx exited during the run: %s", ng.logTail())
				}
				if err != nil {
					if s == &a {
						return nil, fmt.Errorf("round %d %s %s: %w", r+1, sc.name, s.label, err)
					}
					bFailures++
					fmt.Printf("round %d/%d %-9s %-9s FAILED: %v\n", r+1, o.rounds, sc.name, s.label, err)
					smp = failedSample(err)
				} else {
					if s == b {
						bFailures = 0
					}
					fmt.Printf("round %d/%d %-9s %-9s %s\n", r+1, o.rounds, sc.name, s.label, smp)
				}
				rep.add(sc.name, s == b, r, smp)
			}
		}
		if b != nil && bFailures >= 3 && !bGaveUp {
			bGaveUp = true
			fmt.Printf("NOTE: %s failed 3 times in a row; measuring haproxy only from now on\n", b.label)
			rep.notes = append(rep.notes, b.label+" failed 3 times in a row and was skipped afterwards")
		}
	}
	rep.print(os.Stdout)
	if o.markdown != "" {
		if err := os.WriteFile(o.markdown, []byte(rep.markdownText(e)), 0o644); err != nil {
			return nil, fmt.Errorf("write markdown: %w", err)
		}
		fmt.Println("\nwrote", o.markdown)
	}
	return rep, nil
}

func addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// resolveTandem returns the side compared with haproxy, or nil with a note
// saying why haproxy runs alone.
func resolveTandem(ctx context.Context, log *slog.Logger, o options, dir string) (*side, string) {
	switch o.tandem {
	case "none":
		return nil, "-tandem=none: running haproxy only"
	case "haproxy":
		return &side{label: "haproxy-b", argv: []string{o.haproxy, "-db"}}, "-tandem=haproxy: the second side is haproxy again; ratios show the noise"
	case "":
		bin := filepath.Join(dir, "tandem")
		bctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		log.Info("building tandem", "cmd", "go build -o "+bin+" ./cmd/tandem")
		cmd := exec.CommandContext(bctx, "go", "build", "-o", bin, "./cmd/tandem")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return nil, fmt.Sprintf("building ./cmd/tandem failed (%v), running haproxy only: %s", err, tail(string(out), 400))
		}
		return &side{label: "tandem", argv: []string{bin}}, ""
	default:
		if _, err := exec.LookPath(o.tandem); err != nil {
			return nil, fmt.Sprintf("tandem binary %q not usable (%v), running haproxy only", o.tandem, err)
		}
		return &side{label: "tandem", argv: []string{o.tandem}}, ""
	}
}

// measure starts the proxy, checks it proxies, warms it up, runs the measured
// load and, for scenarios that want it, the idle-connection memory test.
func (e *env) measure(ctx context.Context, s side, sc scenario) (sample, error) {
	p, err := e.ps.start(s.label, e.o.proxyCPU, s.command(e.cfg), s.env)
	if err != nil {
		return sample{}, err
	}
	defer func() {
		if err := p.stop(5 * time.Second); err != nil {
			e.log.Warn("stop proxy", "err", err)
		}
	}()
	front := addr(e.ports.http)
	host := ""
	switch {
	case sc.tcp:
		front = addr(e.ports.tcp)
	case sc.rules:
		front, host = addr(e.ports.rules), "app.example"
	}
	if err := waitListening(ctx, p, 10*time.Second, addr(e.ports.http), addr(e.ports.tcp)); err != nil {
		return sample{}, err
	}
	if st, body, err := getOnce(front, 5*time.Second); err != nil || !strings.Contains(st, " 200 ") || !strings.HasPrefix(body, "hello from web") {
		return sample{}, fmt.Errorf("%s at %s does not proxy to nginx (status %q, body %q): %v", s.label, front, st, tail(body, 60), err)
	}
	if soft, hard, err := readNoFile(p.Pid()); err == nil {
		e.log.Debug("proxy fd limit", "proxy", s.label, "soft", soft, "hard", hard)
	}
	w := wrkRun{wrk: e.o.wrk, cpu: e.o.loadCPU, url: "http://" + front + "/", conns: e.o.conns, close: sc.close, host: host}
	if e.o.warmup >= time.Second {
		w.duration = e.o.warmup
		if _, err := w.run(ctx); err != nil {
			return sample{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	w.duration = e.o.duration
	var smp sample
	attempt := 0
	for ; ; attempt++ {
		got, err := e.measuredRun(ctx, w, p)
		if err != nil {
			return sample{}, err
		}
		if attempt == 0 || got.noise() < smp.noise() {
			smp = got
		}
		if e.o.maxNoise <= 0 || !(smp.noise() > e.o.maxNoise) || attempt >= e.o.noiseRetries {
			break
		}
		e.log.Info("noisy run, measuring again", "proxy", s.label, "scenario", sc.name,
			"others_on_proxy_cpu_pct", fmt.Sprintf("%.1f", got.OthersPct), "others_on_load_cpu_pct", fmt.Sprintf("%.1f", got.LoadOthersPct))
	}
	smp.Attempts = attempt + 1
	if smp.RSSKiB, err = readRSS(p.Pid()); err != nil {
		return sample{}, err
	}
	if sc.idle && e.o.idle > 0 {
		per, err := idleCost(ctx, p.Pid(), front, e.o.idle)
		if err != nil {
			return sample{}, fmt.Errorf("%s idle connections: %w", s.label, err)
		}
		smp.IdleBytes = per
	}
	if p.exited() {
		return sample{}, fmt.Errorf("%s exited: %s", s.label, p.logTail())
	}
	return smp, nil
}

// measuredRun runs the measured wrk load against proxy p and reads what the
// proxy, nginx and wrk used, and what other tasks took, on both CPUs.
func (e *env) measuredRun(ctx context.Context, w wrkRun, p *proc) (sample, error) {
	pcpu, perr := strconv.Atoi(e.o.proxyCPU) // the CPU-share metrics need single CPUs
	lcpu, lerr := strconv.Atoi(e.o.loadCPU)
	shares := perr == nil && lerr == nil
	type snap struct {
		proxy, nginx cpuTimes
		pst, lst     cpuStat
	}
	read := func() (snap, error) {
		var sn snap
		var err error
		if sn.proxy, err = readCPU(p.Pid()); err != nil {
			return sn, err
		}
		if sn.nginx, err = readCPU(e.nginx.Pid()); err != nil {
			return sn, err
		}
		if shares {
			if sn.pst, err = readCPUStat(pcpu); err != nil {
				return sn, err
			}
			if sn.lst, err = readCPUStat(lcpu); err != nil {
				return sn, err
			}
		}
		return sn, nil
	}
	before, err := read()
	if err != nil {
		return sample{}, err
	}
	t0 := time.Now()
	res, err := w.run(ctx)
	if err != nil {
		return sample{}, err
	}
	wall := time.Since(t0) // the span the /proc/stat samples cover
	after, err := read()
	if err != nil {
		return sample{}, err
	}
	if p.exited() {
		return sample{}, fmt.Errorf("%s exited during the run: %s", p.name, p.logTail())
	}
	proxyCPU := after.proxy.Total() - before.proxy.Total()
	smp := newSample(res, proxyCPU)
	if shares && wall > 0 && res.Requests > 0 {
		ours, loadOurs := proxyCPU, after.nginx.Total()-before.nginx.Total()+res.WrkCPU
		if pcpu == lcpu { // one shared CPU
			ours += loadOurs
			loadOurs = ours
		}
		sh := shareOf(before.pst, after.pst, ours)
		smp.OthersPct = min(100, 100*float64(sh.Others)/float64(wall))
		smp.SoftIRQPerReq = float64(sh.SoftIRQ.Microseconds()) / float64(res.Requests)
		lsh := shareOf(before.lst, after.lst, loadOurs)
		smp.LoadOthersPct = min(100, 100*float64(lsh.Others)/float64(wall))
	}
	return smp, nil
}

// idleCost opens n idle keep-alive connections through front and returns the
// proxy's RSS growth per connection in bytes. It closes them before returning.
func idleCost(ctx context.Context, pid int, front string, n int) (float64, error) {
	base, err := stableRSS(ctx, pid)
	if err != nil {
		return 0, err
	}
	ic, err := openIdle(ctx, front, n, 32, 90*time.Second)
	if err != nil {
		return 0, err
	}
	defer ic.close()
	after, err := stableRSS(ctx, pid)
	if err != nil {
		return 0, err
	}
	return (float64(after) - float64(base)) * 1024 / float64(n), nil
}

var errFailed = errors.New("measurement failed")
