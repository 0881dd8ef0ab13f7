// Command tandem is a load balancer and VRRP daemon in one binary that reads haproxy.cfg
// (and keepalived.conf). Its flags follow HAProxy's where they overlap.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"tandem/internal/config"
	"tandem/internal/config/haproxy"
	"tandem/internal/config/keepalived"
	"tandem/internal/privsep"
)

const usage = `usage:
  tandem -f haproxy.cfg [-f more.cfg ...] [-k keepalived.conf] [-c] [-p PIDFILE] [-q] [-v | -vv]
  tandem -k keepalived.conf [-c]        VRRP alone (a keepalived replacement)
  tandem demo [--ha]
  tandem ctl [-s SOCKET] COMMAND...     talk to the runtime API (stats socket)

  -f FILE   configuration file (haproxy.cfg syntax); repeatable; a directory loads its *.cfg files in order
  -k FILE   keepalived.conf: run VRRP (virtual IP failover) beside the proxy, or alone; with -c,
            more -k files (the other nodes' keepalived.conf) are checked against it
  -c        check the configuration and exit: prints "Configuration file is valid" or every problem as FILE:LINE: message
  --suggest with -c: print the rewrite of each line that uses a keyword HAProxy removed (reqadd, clitimeout, block, ...)
  -p FILE   write the process id to FILE
  -q        quiet: only warnings and errors
  -v, -vv   verbose, more verbose
  -V        verbose (same as -v, as HAProxy)
  -version  print the version

  demo      run on an embedded configuration: two demo web servers and a load balancer on 127.0.0.1:8080
  demo --ha (root) the seed architecture in network namespaces: two tandem nodes sharing a VIP, a failover live
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

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
	fs := flag.NewFlagSet("tandem", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	var files fileList
	fs.Var(&files, "f", "configuration file")
	var kfiles fileList
	fs.Var(&kfiles, "k", "keepalived.conf")
	check := fs.Bool("c", false, "check the configuration and exit")
	suggest := fs.Bool("suggest", false, "with -c: print the rewrite of each line that uses a keyword HAProxy removed")
	pidfile := fs.String("p", "", "pid file")
	quiet := fs.Bool("q", false, "quiet")
	verbose := fs.Bool("v", false, "verbose")
	verbose2 := fs.Bool("vv", false, "more verbose")
	verboseV := fs.Bool("V", false, "verbose")
	showVersion := fs.Bool("version", false, "print the version")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "tandem version", version)
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tandem: unexpected argument %q\n%s", fs.Arg(0), usage)
		return 2
	}
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
			return haproxy.ParseFiles(paths, haproxy.Options{ReadFile: src.ReadFile, Resolve: src.Resolve, ReadDir: src.ReadDir})
		}
		o.load = func() (*config.Config, error) { return o.loadFrom(realSources()) }
	}
	if len(kfiles) > 0 {
		path := kfiles[0]
		o.loadVRRP = func() (*config.VRRP, error) { return keepalived.ParseFile(path) }
	}
	if *check {
		rc := checkConfig(o, kfiles, stdout, stderr)
		if *suggest && len(files) > 0 {
			printSuggestions(files, stdout)
		}
		return rc
	}
	if *suggest {
		fmt.Fprintln(stderr, "tandem: --suggest goes with -c")
		return 2
	}
	if len(kfiles) > 1 {
		fmt.Fprintln(stderr, "tandem: -k is given once to run; several -k files are for -c, to check the nodes of a VRRP group against each other")
		return 2
	}
	level := slog.LevelInfo
	switch {
	case *quiet:
		level = slog.LevelWarn
	case *verbose || *verbose2 || *verboseV:
		level = slog.LevelDebug
	}
	o.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if o.loadFrom != nil && os.Getenv(privsep.ChildEnv) == "1" {
		return runHelper(o.loadFrom, o.loadVRRP, o.log)
	}
	o.pidfile = *pidfile
	return serve(o)
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

// checkConfig is -c: exit 0 with exactly "Configuration file is valid", or 1 with every
// problem on stderr. With both files it cross-checks them too.
func checkConfig(o runOpts, kfiles []string, stdout, stderr io.Writer) int {
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
			for _, w := range cfg.Warnings {
				fmt.Fprintf(stderr, "[WARNING] %s\n", w)
			}
		}
	}
	if o.loadVRRP != nil {
		v, err := o.loadVRRP()
		if err != nil {
			printErrors(stderr, err)
			failed = true
		} else {
			vcfg = v
			for _, w := range v.Warnings {
				fmt.Fprintf(stderr, "[WARNING] %s\n", w)
			}
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
		for _, w := range v.Warnings {
			fmt.Fprintf(stderr, "[WARNING] %s\n", w)
		}
		nodes = append(nodes, v)
	}
	for i := range nodes {
		for j := i + 1; j < len(nodes); j++ {
			if nodes[i] == nil || nodes[j] == nil {
				continue
			}
			for _, w := range keepalived.CrossCheckPeers(nodes[i], nodes[j]) {
				fmt.Fprintf(stderr, "[WARNING] %s\n", w)
			}
		}
	}
	if cfg != nil && vcfg != nil {
		errs, warns := keepalived.CrossCheck(cfg, vcfg)
		for _, w := range warns {
			fmt.Fprintf(stderr, "[WARNING] %s\n", w)
		}
		if len(errs) > 0 {
			printErrors(stderr, errs)
			failed = true
		}
	}
	if failed {
		return 1
	}
	fmt.Fprintln(stdout, "Configuration file is valid")
	return 0
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
