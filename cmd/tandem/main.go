// Command tandem is a load balancer and VRRP daemon in one binary that reads haproxy.cfg
// (and keepalived.conf). Its flags follow HAProxy's where they overlap.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"tandem/internal/config"
	"tandem/internal/config/haproxy"
	"tandem/internal/config/keepalived"
	"tandem/internal/master"
	"tandem/internal/privsep"
)

const usage = `usage:
  tandem -f haproxy.cfg [-f more.cfg ...] [-k keepalived.conf] [-c [-q]] [-p PIDFILE] [-q] [-v | -vv]
         [-W | -Ws] [-S ADDR[,mode,M,user,U,group,G]] [-d | -db | -D] [-sf PID... | -st PID...] [-N MAXCONN] [-L NAME] [-C DIR]
  tandem -k keepalived.conf [-c]        VRRP alone (a keepalived replacement)
  tandem demo [--ha]
  tandem ctl [-s SOCKET] COMMAND...     talk to the runtime API (stats socket)

  -f FILE   configuration file (haproxy.cfg syntax); repeatable; a directory loads its *.cfg files in order
  -k FILE   keepalived.conf: run VRRP (virtual IP failover) beside the proxy, or alone; with -c,
            more -k files (the other nodes' keepalived.conf) are checked against it
  -c        check the configuration and exit: prints "Configuration file is valid" or every problem as FILE:LINE: message
  --suggest with -c: print the rewrite of each line that uses a keyword HAProxy removed (reqadd, clitimeout, block, ...)
  -p FILE   write the process id to FILE (the master's with -W)
  -q        quiet: only warnings and errors; with -c, nothing when the files are valid
  -v, -vv   verbose, more verbose
  -V        verbose (same as -v, as HAProxy)
  -W        master-worker: the master holds the sockets (and runs VRRP with -k); a worker serves; a reload
            (SIGUSR2, SIGHUP, master CLI "reload") starts a new worker from the binary on disk
  -Ws       -W, and tell systemd (Type=notify): READY=1, RELOADING=1, STOPPING=1
  -S ADDR   master CLI socket: show proc, show version, reload, @1 CMD, @!PID CMD
  -d        foreground, debug output
  -db       foreground: no detaching, even with -D (as HAProxy; what container images pass)
  -D        detach (daemon); returns once the detached process serves
  -sf PID.. once serving, ask these processes to finish (SIGUSR1); -st: stop them (SIGTERM)
  -N N      maxconn of a frontend that sets none
  -L NAME   local peer name (tandem refuses peers sections: no other effect)
  -C DIR    change to DIR before reading the files
  -version  print the version

  demo      run on an embedded configuration: two demo web servers and a load balancer on 127.0.0.1:8080
  demo --ha (root) the seed architecture in network namespaces: two tandem nodes sharing a VIP, a failover live
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "demo" {
		return runDemo(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "ctl" {
		return runCtl(args[1:], os.Stdin, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "halog" {
		return runHalog(args[1:], os.Stdin, stdout, stderr)
	}
	c, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "tandem: %v\n%s", err, usage)
		return 2
	}
	if c.version {
		fmt.Fprintln(stdout, "tandem version", version)
		return 0
	}
	if len(c.positional) > 0 {
		fmt.Fprintf(stderr, "tandem: unexpected argument %q\n%s", c.positional[0], usage)
		return 2
	}
	if c.dir != "" {
		// -C: change directory before loading, so relative paths are read from there.
		if err := os.Chdir(c.dir); err != nil {
			fmt.Fprintf(stderr, "tandem: -C: %v\n", err)
			return 1
		}
	}
	files, kfiles := c.files, c.kfiles
	if len(files) == 0 && len(kfiles) == 0 {
		fmt.Fprintf(stderr, "tandem: no configuration file: give one with -f and/or -k (or try \"tandem demo\")\n%s", usage)
		return 2
	}
	var o runOpts
	if len(files) > 0 {
		paths, err := expandFiles(files)
		if err != nil {
			fmt.Fprintln(stderr, "tandem:", err)
			return 1
		}
		o.loadFrom = func(src privsep.Sources) (*config.Config, error) {
			return haproxy.ParseFiles(paths, haproxy.Options{ReadFile: src.ReadFile, Resolve: src.Resolve, ReadDir: src.ReadDir, DefaultMaxConn: c.defaultMaxConn})
		}
		o.load = func() (*config.Config, error) { return o.loadFrom(realSources()) }
	}
	if len(kfiles) > 0 {
		path := kfiles[0]
		o.loadVRRP = func() (*config.VRRP, error) { return keepalived.ParseFile(path) }
	}
	if c.check {
		rc := checkConfig(o, kfiles, c.quiet, stderr)
		if rc == 0 && c.quiet {
			// -c -q: HAProxy says nothing when the files are valid.
		} else if rc == 0 {
			fmt.Fprintln(stdout, "Configuration file is valid")
		}
		if c.suggest && len(files) > 0 {
			printSuggestions(files, stdout)
		}
		return rc
	}
	if c.suggest {
		fmt.Fprintln(stderr, "tandem: --suggest goes with -c")
		return 2
	}
	if len(kfiles) > 1 {
		fmt.Fprintln(stderr, "tandem: -k is given once to run; several -k files are for -c, to check the nodes of a VRRP group against each other")
		return 2
	}
	if c.expose != "" {
		fmt.Fprintln(stderr, "tandem: -x is not supported yet (taking listening sockets through a stats socket with expose-fd listeners); tandem binds with SO_REUSEPORT as HAProxy does, so -sf works without it, and with -W the master keeps the sockets across reloads")
		return 2
	}
	level := slog.LevelInfo
	switch {
	case c.quiet:
		level = slog.LevelWarn
	case c.verbose || c.debug:
		level = slog.LevelDebug
	}
	o.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if o.loadFrom != nil && os.Getenv(privsep.ChildEnv) == "1" {
		return runHelper(o.loadFrom, o.loadVRRP, o.log)
	}
	o.pidfile = c.pidfile
	o.softStop, o.hardStop = c.softStop, c.hardStop
	if master.InWorker() {
		return serveWorker(o)
	}
	if c.daemon && !c.debug && !c.foreground {
		if rc, parent := daemonize(o.log); parent {
			return rc
		}
	}
	if c.master {
		if o.load == nil {
			fmt.Fprintln(stderr, "tandem: -W needs a haproxy.cfg (-f): the master supervises proxy workers")
			return 2
		}
		return serveMaster(o, c, workerArgs(c))
	}
	return serve(o)
}

// workerArgs is the command line a master starts its workers with.
func workerArgs(c cmdLine) []string {
	var a []string
	for _, f := range c.files {
		a = append(a, "-f", f)
	}
	switch {
	case c.quiet:
		a = append(a, "-q")
	case c.verbose || c.debug:
		a = append(a, "-v")
	}
	if c.defaultMaxConn > 0 {
		a = append(a, "-N", strconv.Itoa(c.defaultMaxConn))
	}
	if c.localPeer != "" {
		a = append(a, "-L", c.localPeer)
	}
	return a
}

// expandFiles replaces each directory by the *.cfg files in it, in lexical order, as
// HAProxy does.
func expandFiles(in []string) ([]string, error) {
	var out []string
	for _, p := range in {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("cannot open configuration file %s: %w", p, errors.Unwrap(err))
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		m, err := filepath.Glob(filepath.Join(p, "*.cfg"))
		if err != nil {
			return nil, err
		}
		sort.Strings(m)
		out = append(out, m...)
	}
	return out, nil
}

// checkConfig is -c: exit 0 (run prints "Configuration file is valid"), or 1 with every
// problem on stderr. With both files it cross-checks them too.
// With quiet (-c -q) warnings are not printed; errors still are.
func checkConfig(o runOpts, kfiles []string, quiet bool, stderr io.Writer) int {
	warn := stderr
	if quiet {
		warn = io.Discard
	}
	var cfg *config.Config
	var vcfg *config.VRRP
	failed := false
	if o.load != nil {
		c, err := o.load()
		if err != nil {
			printErrors(stderr, err)
			failed = true
		} else {
			cfg = c
			printWarnings(warn, cfg.Warnings)
		}
	}
	if o.loadVRRP != nil {
		v, err := o.loadVRRP()
		if err != nil {
			printErrors(stderr, err)
			failed = true
		} else {
			vcfg = v
			printWarnings(warn, v.Warnings)
		}
	}
	// Further -k files are the other nodes of the VRRP group: each is checked, and each
	// pair of nodes is checked against each other (trackers that can never move the VIP).
	nodes := []*config.VRRP{vcfg}
	for _, path := range kfiles[min(1, len(kfiles)):] {
		v, err := keepalived.ParseFile(path)
		if err != nil {
			printErrors(stderr, err)
			failed = true
			continue
		}
		printWarnings(warn, v.Warnings)
		nodes = append(nodes, v)
	}
	for i := range nodes {
		for j := i + 1; j < len(nodes); j++ {
			if nodes[i] == nil || nodes[j] == nil {
				continue
			}
			printWarnings(warn, keepalived.CrossCheckPeers(nodes[i], nodes[j]))
		}
	}
	if cfg != nil && vcfg != nil {
		errs, warns := keepalived.CrossCheck(cfg, vcfg)
		printWarnings(warn, warns)
		if len(errs) > 0 {
			printErrors(stderr, errs)
			failed = true
		}
	}
	if failed {
		return 1
	}
	return 0
}

// printWarnings prints -c's warnings as HAProxy does ([WARNING] FILE:LINE: message).
func printWarnings(w io.Writer, warns []*config.Error) {
	for _, e := range warns {
		fmt.Fprintf(w, "[WARNING] %s\n", e)
	}
}

// printSuggestions is -c --suggest: for each line of the haproxy.cfg files that uses a
// keyword HAProxy removed, the line and what to write instead, as a diff.
func printSuggestions(files []string, stdout io.Writer) {
	paths, err := expandFiles(files)
	if err != nil {
		return // checkConfig reported it
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for _, s := range haproxy.Suggest(path, data) {
			fmt.Fprintf(stdout, "%s:\n- %s\n", s.Pos, s.Old)
			for _, n := range s.New {
				fmt.Fprintf(stdout, "+ %s\n", n)
			}
		}
	}
}

func printErrors(w io.Writer, err error) {
	var list config.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Fprintln(w, e.Error())
		}
		return
	}
	fmt.Fprintln(w, "tandem:", err)
}
