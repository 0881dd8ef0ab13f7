//go:build linux

// Command failover measures VRRP failover times on this machine: two nodes sharing a
// virtual IP in network namespaces, built from the seeds' keepalived.conf (VRRPv2,
// auth PASS, advert_int 1, priorities 101/100), for each pair of implementations:
// keepalived↔keepalived (the baseline), tandem↔tandem, and the two mixed pairs.
//
// One run, per pair: the backup starts, then the master; when the master alone holds
// the VIP it is stopped with SIGTERM (clean stop: the backup holds the VIP after
// skew), restarted (it takes the VIP back after Master_Down_Interval), killed with
// SIGKILL (crash: the backup holds the VIP after Master_Down_Interval), and restarted
// again. Each time is from the signal (or the start) until the VIP is on the other
// node's interface (polled every 10 ms), as the median and range over the runs. The
// crashes fall at different points of the advert interval across the runs.
//
//	sudo go run ./bench/failover                 # 3 runs per pair, all pairs
//	sudo go run ./bench/failover -n 5 -pairs tandem-tandem,keepalived-keepalived
//	sudo go run ./bench/failover -version 3 -advert 0.1
//
// Needs root (network namespaces; addresses in 198.18.0.0/15 only). Only processes it
// started are signalled, by PID; its namespaces are deleted on exit and on Ctrl-C.
// Exit status: 0 done, 2 the harness failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"tandem/internal/netlab"
)

const vip = "198.18.0.100"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("failover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 3, "runs per pair (1..20)")
	pairsFlag := fs.String("pairs", strings.Join(allPairs, ","), "pairs to measure, MASTER-BACKUP implementations")
	version := fs.Int("version", 2, "VRRP version (2 or 3)")
	advert := fs.Float64("advert", 1, "advert_int in seconds (v2: whole seconds)")
	tandemBin := fs.String("tandem", "", "tandem binary (default: built from ./cmd/tandem)")
	verbose := fs.Bool("v", false, "print each measurement as it is taken")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *n < 1 || *n > 20 || (*version != 2 && *version != 3) || *advert <= 0 || *advert > 10 {
		fmt.Fprintln(stderr, "failover: -n must be 1..20, -version 2 or 3, -advert in (0, 10]")
		return 2
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "failover: needs root (it builds network namespaces); run it with sudo")
		return 2
	}
	pairs, err := parsePairs(*pairsFlag)
	if err != nil {
		fmt.Fprintln(stderr, "failover:", err)
		return 2
	}
	dir, err := os.MkdirTemp("", "tandem-failover-")
	if err != nil {
		fmt.Fprintln(stderr, "failover:", err)
		return 2
	}
	defer os.RemoveAll(dir)
	if *tandemBin == "" {
		*tandemBin = filepath.Join(dir, "tandem")
		build := exec.Command("go", "build", "-o", *tandemBin, "./cmd/tandem")
		build.Stdout, build.Stderr = stderr, stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(stderr, "failover: building tandem (run from the repository's root):", err)
			return 2
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{dir: dir, tandem: *tandemBin, version: *version, advert: time.Duration(*advert * float64(time.Second)),
		log: io.Discard}
	if *verbose {
		b.log = stderr
	}
	fmt.Fprintf(stdout, "VRRP failover, %d run(s) per pair: VRRPv%d, advert_int %gs, priorities 101/100 (skew %v, Master_Down_Interval %v)\n\n",
		*n, *version, *advert, b.skew().Round(time.Millisecond), b.masterDown().Round(time.Millisecond))
	var rows []row
	for _, p := range pairs {
		r, err := b.measure(ctx, p, *n)
		if err != nil {
			fmt.Fprintf(stderr, "failover: %s: %v\n", p, err)
			return 2
		}
		rows = append(rows, r)
	}
	writeTable(stdout, rows)
	return 0
}

var allPairs = []string{"keepalived-keepalived", "tandem-tandem", "tandem-keepalived", "keepalived-tandem"}

// pair names the implementation of the master (priority 101) and of the backup (100).
type pair struct{ master, backup string }

func (p pair) String() string { return p.master + "-" + p.backup }

func parsePairs(s string) ([]pair, error) {
	var out []pair
	for _, f := range strings.Split(s, ",") {
		m, b, ok := strings.Cut(strings.TrimSpace(f), "-")
		impls := []string{"tandem", "keepalived"}
		if !ok || !slices.Contains(impls, m) || !slices.Contains(impls, b) {
			return nil, fmt.Errorf("pair %q: want MASTER-BACKUP with each tandem or keepalived", f)
		}
		out = append(out, pair{m, b})
	}
	return out, nil
}

// row is one pair's measurements, one entry per run each.
type row struct {
	pair                            pair
	clean, restart, crash, restart2 []time.Duration
}

type bench struct {
	dir     string
	tandem  string
	version int
	advert  time.Duration
	log     io.Writer
	starts  int
}

func (b *bench) skew() time.Duration {
	if b.version == 3 {
		return time.Duration(256-100) * b.advert / 256
	}
	return time.Duration(256-100) * time.Second / 256
}

func (b *bench) masterDown() time.Duration { return 3*b.advert + b.skew() }

// conf is the seeds' keepalived.conf for one node.
func (b *bench) conf(state string, prio int) string {
	var s strings.Builder
	if b.version == 3 {
		s.WriteString("global_defs {\n    vrrp_version 3\n}\n")
	}
	fmt.Fprintf(&s, "vrrp_instance VI_1 {\n    state %s\n    interface eth0\n    virtual_router_id 51\n    priority %d\n    advert_int %g\n",
		state, prio, b.advert.Seconds())
	if b.version == 2 {
		s.WriteString("    authentication {\n        auth_type PASS\n        auth_pass 1111\n    }\n")
	}
	s.WriteString("    virtual_ipaddress {\n        " + vip + "\n    }\n}\n")
	return s.String()
}

// node is one running implementation in its namespace.
type node struct {
	impl    string
	host    *netlab.Host
	cmd     *exec.Cmd
	done    chan struct{}
	vrrpPID string // keepalived: the pid file of its VRRP child
}

func (b *bench) start(impl string, h *netlab.Host, state string, prio int) (*node, error) {
	b.starts++
	conf := filepath.Join(b.dir, fmt.Sprintf("k%d.conf", b.starts))
	if err := os.WriteFile(conf, []byte(b.conf(state, prio)), 0o644); err != nil {
		return nil, err
	}
	nd := &node{impl: impl, host: h, done: make(chan struct{})}
	if impl == "tandem" {
		nd.cmd = h.Command(b.tandem, "-k", conf)
	} else {
		nd.vrrpPID = filepath.Join(b.dir, fmt.Sprintf("k%d-vrrp.pid", b.starts))
		nd.cmd = h.Command("keepalived", "-n", "-l", "-D", "-P", "-G", "-R", "-f", conf,
			"-p", filepath.Join(b.dir, fmt.Sprintf("k%d.pid", b.starts)), "-r", nd.vrrpPID)
	}
	nd.cmd.Stdout, nd.cmd.Stderr = b.log, b.log
	if err := nd.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", impl, err)
	}
	go func() { _ = nd.cmd.Wait(); close(nd.done) }()
	return nd, nil
}

// stop sends sig and waits (bounded) for the exit.
func (nd *node) stop(sig syscall.Signal) error {
	nd.signal(sig)
	return nd.wait(sig)
}

// signal sends sig; a crash of keepalived kills its VRRP child first (by the PID in
// its pid file), as a machine dying would.
func (nd *node) signal(sig syscall.Signal) {
	select {
	case <-nd.done:
		return
	default:
	}
	if sig == syscall.SIGKILL && nd.vrrpPID != "" {
		if b, err := os.ReadFile(nd.vrrpPID); err == nil {
			var pid int
			if _, err := fmt.Sscan(string(b), &pid); err == nil && pid > 1 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	_ = nd.cmd.Process.Signal(sig)
}

// wait waits (bounded) for the exit after sig.
func (nd *node) wait(sig syscall.Signal) error {
	select {
	case <-nd.done:
		return nil
	case <-time.After(5 * time.Second):
		_ = nd.cmd.Process.Kill()
		<-nd.done
		return fmt.Errorf("%s did not exit within 5s of %v", nd.impl, sig)
	}
}

// waitHolder polls (every 10 ms, bounded) until want holds the VIP and, with sole,
// other does not; it returns the time since from.
func waitHolder(ctx context.Context, from time.Time, want, other *netlab.Host, sole bool, within time.Duration) (time.Duration, error) {
	for {
		w, err := want.HasAddr(vip)
		if err != nil {
			return 0, err
		}
		o := false
		if sole && w {
			if o, err = other.HasAddr(vip); err != nil {
				return 0, err
			}
		}
		if w && !o {
			return time.Since(from), nil
		}
		if time.Since(from) > within {
			return 0, fmt.Errorf("%s did not hold the VIP alone within %v", want.Name, within)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (b *bench) measure(ctx context.Context, p pair, runs int) (r row, err error) {
	r.pair = p
	lab, err := netlab.New(fmt.Sprintf("td-fo-%d", os.Getpid()))
	if err != nil {
		return r, err
	}
	defer func() { err = errors.Join(err, lab.Close()) }()
	hi, err := lab.AddHost("lb1", "198.18.0.11/24")
	if err != nil {
		return r, err
	}
	lo, err := lab.AddHost("lb2", "198.18.0.12/24")
	if err != nil {
		return r, err
	}
	var running []*node
	defer func() {
		for _, nd := range running {
			err = errors.Join(err, nd.stop(syscall.SIGTERM))
		}
	}()
	start := func(impl string, h *netlab.Host, state string, prio int) (*node, error) {
		nd, err := b.start(impl, h, state, prio)
		if err == nil {
			running = append(running, nd)
		}
		return nd, err
	}
	down, settle := b.masterDown(), 1500*time.Millisecond
	for i := range runs {
		backup, err := start(p.backup, lo, "BACKUP", 100)
		if err != nil {
			return r, err
		}
		master, err := start(p.master, hi, "MASTER", 101)
		if err != nil {
			return r, err
		}
		if _, err := waitHolder(ctx, time.Now(), hi, lo, true, 3*down+5*time.Second); err != nil {
			return r, fmt.Errorf("run %d: at start: %w", i+1, err)
		}
		sleep(ctx, settle)

		// measured from the signal, not from the exit: keepalived takes about a
		// second to exit after it has sent its priority-0 advert
		t0 := time.Now()
		master.signal(syscall.SIGTERM)
		d, err := waitHolder(ctx, t0, lo, hi, false, down+5*time.Second)
		if err != nil {
			return r, fmt.Errorf("run %d: clean stop: %w", i+1, err)
		}
		if err := master.wait(syscall.SIGTERM); err != nil {
			return r, err
		}
		r.clean = append(r.clean, d)
		b.note("%s run %d: clean stop %v", p, i+1, d)

		t0 = time.Now()
		if master, err = start(p.master, hi, "MASTER", 101); err != nil {
			return r, err
		}
		if d, err = waitHolder(ctx, t0, hi, lo, true, 3*down+5*time.Second); err != nil {
			return r, fmt.Errorf("run %d: restart: %w", i+1, err)
		}
		r.restart = append(r.restart, d)
		b.note("%s run %d: restart take-back %v", p, i+1, d)
		// The backup declares the master down Master_Down_Interval after the last
		// advert it received: spread the crash over the advert interval across runs,
		// so min–max shows the range (Master_Down_Interval − advert_int … Master_Down_Interval).
		sleep(ctx, settle+time.Duration(i)*b.advert/time.Duration(runs))

		t0 = time.Now()
		if err := master.stop(syscall.SIGKILL); err != nil {
			return r, err
		}
		if d, err = waitHolder(ctx, t0, lo, hi, false, down+5*time.Second); err != nil {
			return r, fmt.Errorf("run %d: crash: %w", i+1, err)
		}
		r.crash = append(r.crash, d)
		b.note("%s run %d: crash %v", p, i+1, d)

		t0 = time.Now()
		if master, err = start(p.master, hi, "MASTER", 101); err != nil {
			return r, err
		}
		if d, err = waitHolder(ctx, t0, hi, lo, true, 3*down+5*time.Second); err != nil {
			return r, fmt.Errorf("run %d: restart after crash: %w", i+1, err)
		}
		r.restart2 = append(r.restart2, d)
		b.note("%s run %d: restart after crash %v", p, i+1, d)

		for _, nd := range []*node{master, backup} {
			if err := nd.stop(syscall.SIGTERM); err != nil {
				return r, err
			}
		}
		running = nil
		// a crashed keepalived or tandem leaves the VIP behind: start clean
		for _, h := range []*netlab.Host{hi, lo} {
			_ = exec.Command("ip", "-n", h.NS, "addr", "del", vip+"/32", "dev", h.Dev).Run()
		}
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
	}
	return r, nil
}

func (b *bench) note(format string, args ...any) {
	if b.log != io.Discard {
		fmt.Fprintf(b.log, format+"\n", args...)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// summary formats durations as "median (min–max)" in seconds.
func summary(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	if len(s) == 1 {
		return fmt.Sprintf("%.3f", med.Seconds())
	}
	return fmt.Sprintf("%.3f (%.3f–%.3f)", med.Seconds(), s[0].Seconds(), s[len(s)-1].Seconds())
}

// writeTable prints the rows as a Markdown table, seconds.
func writeTable(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| master-backup | clean stop (SIGTERM) | crash (SIGKILL) | restart takes VIP back | restart after crash |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.pair, summary(r.clean), summary(r.crash), summary(r.restart), summary(r.restart2))
	}
	fmt.Fprintln(w, "\nseconds: median (min–max) over the runs; from the signal (or the start) until the VIP is on the other node")
}
