// Command checkload measures what health checks cost: a proxy with N servers checked
// every inter (option httpchk), against N loopback web servers run by this program.
// It reports the proxy's CPU use (% of one CPU) and RSS, with checks and without them
// (same config minus `check`), for tandem and, when installed, HAProxy.
//
//	go run ./bench/checkload                 # 1000 servers, inter 1s, 20 s measured
//	go run ./bench/checkload -servers 200 -measure 5s
//
// Everything runs on 127.0.0.1 and is bounded in time; only processes it started are
// signalled.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	servers := flag.Int("servers", 1000, "servers to check")
	inter := flag.Duration("inter", time.Second, "check interval")
	warm := flag.Duration("warmup", 5*time.Second, "time before measuring")
	measure := flag.Duration("measure", 20*time.Second, "measured time")
	tandem := flag.String("tandem", "", `tandem binary ("" builds ./cmd/tandem)`)
	haproxy := flag.String("haproxy", "/usr/sbin/haproxy", `haproxy binary ("none" to skip)`)
	flag.Parse()
	if err := run(*servers, *inter, *warm, *measure, *tandem, *haproxy); err != nil {
		fmt.Fprintln(os.Stderr, "checkload:", err)
		os.Exit(2)
	}
}

var checks atomic.Int64

// webs starts n tiny HTTP servers that answer every request 200 and close.
func webs(n int) ([]string, func(), error) {
	var lns []net.Listener
	var addrs []string
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	for range n {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					c.SetDeadline(time.Now().Add(5 * time.Second))
					br := bufio.NewReader(c)
					for {
						l, err := br.ReadString('\n')
						if err != nil || l == "\r\n" {
							break
						}
					}
					checks.Add(1)
					c.Write([]byte("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"))
				}()
			}
		}()
	}
	return addrs, closeAll, nil
}

func config(addrs []string, inter time.Duration, check bool, bind string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global\n    maxconn 4000\n    spread-checks 5\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n    timeout check 2s\n")
	fmt.Fprintf(&b, "frontend fe\n    bind %s\n    default_backend be0\n", bind)
	chk := ""
	if check {
		chk = fmt.Sprintf(" check inter %dms", inter.Milliseconds())
	}
	for i, a := range addrs {
		if i%100 == 0 {
			fmt.Fprintf(&b, "backend be%d\n    option httpchk GET /health\n", i/100)
		}
		fmt.Fprintf(&b, "    server s%d %s%s\n", i, a, chk)
	}
	return b.String()
}

type sample struct {
	cpu time.Duration
	rss uint64 // KiB
}

func read(pid int) (sample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return sample{}, err
	}
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return sample{}, err
	}
	var rss uint64
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			rss, _ = strconv.ParseUint(strings.Fields(l)[1], 10, 64)
		}
	}
	return sample{cpu: time.Duration(ut+st) * 10 * time.Millisecond, rss: rss}, nil // USER_HZ 100
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// measureOne runs argv on cfg and returns CPU % of one CPU, RSS in KiB and checks/s.
func measureOne(dir, name string, argv []string, cfg string, warm, measure time.Duration) (float64, uint64, float64, error) {
	path := filepath.Join(dir, name+".cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return 0, 0, 0, err
	}
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return 0, 0, 0, err
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], append(argv[1:], "-f", path)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	time.Sleep(warm)
	a, err := read(cmd.Process.Pid)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%s: %w (see %s)", name, err, logf.Name())
	}
	c0, t0 := checks.Load(), time.Now()
	time.Sleep(measure)
	b, err := read(cmd.Process.Pid)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%s: %w", name, err)
	}
	el := time.Since(t0)
	return 100 * float64(b.cpu-a.cpu) / float64(el), b.rss, float64(checks.Load()-c0) / el.Seconds(), nil
}

func run(n int, inter, warm, measure time.Duration, tandem, haproxy string) error {
	dir, err := os.MkdirTemp("", "checkload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if tandem == "" {
		tandem = filepath.Join(dir, "tandem")
		build := exec.Command("go", "build", "-o", tandem, "./cmd/tandem")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building tandem: %w", err)
		}
	}
	addrs, stop, err := webs(n)
	if err != nil {
		return err
	}
	defer stop()
	bind, err := freeAddr()
	if err != nil {
		return err
	}
	type proxy struct {
		name string
		argv []string
	}
	proxies := []proxy{{"tandem", []string{tandem}}}
	if _, err := os.Stat(haproxy); err == nil && haproxy != "none" {
		proxies = append(proxies, proxy{"haproxy", []string{haproxy, "-db"}})
	}
	fmt.Printf("%d servers, option httpchk, inter %v, spread-checks 5, measured %v after %v\n\n", n, inter, measure, warm)
	fmt.Println("| proxy | checks | CPU (% of one core) | RSS (MiB) | checks/s seen |")
	fmt.Println("|---|---|---|---|---|")
	for _, p := range proxies {
		for _, check := range []bool{false, true} {
			cpu, rss, rate, err := measureOne(dir, fmt.Sprintf("%s-%v", p.name, check), p.argv, config(addrs, inter, check, bind), warm, measure)
			if err != nil {
				return err
			}
			on := "off"
			if check {
				on = "on"
			}
			fmt.Printf("| %s | %s | %.1f | %.1f | %.0f |\n", p.name, on, cpu, float64(rss)/1024, rate)
		}
	}
	return nil
}
