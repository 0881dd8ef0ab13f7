package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// wrkResult is what one wrk run reports.
type wrkResult struct {
	Requests  int64         // "N requests in …"
	Elapsed   time.Duration // the duration in that same line
	ReqPerSec float64       // "Requests/sec:"
	P50, P99  time.Duration // from the --latency distribution
	// SocketErrors sums connect, read, write and timeout errors.
	SocketErrors int64
	// Non2xx counts responses that were neither 2xx nor 3xx.
	Non2xx int64
	// WrkCPU is the CPU time wrk itself used (from its rusage, not its output).
	WrkCPU time.Duration
}

// Errors is every failed request wrk saw.
func (r wrkResult) Errors() int64 { return r.SocketErrors + r.Non2xx }

// parseWrk reads the text wrk prints with --latency.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	var haveReq, haveRate, have50, have99 bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "50%":
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return r, fmt.Errorf("parse wrk p50: %w", err)
			}
			r.P50, have50 = d, true
		case len(f) == 2 && f[0] == "99%":
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return r, fmt.Errorf("parse wrk p99: %w", err)
			}
			r.P99, have99 = d, true
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil || n < 0 {
				return r, fmt.Errorf("parse wrk request count %q: bad number", f[0])
			}
			d, err := parseWrkDuration(strings.TrimSuffix(f[3], ","))
			if err != nil {
				return r, fmt.Errorf("parse wrk elapsed: %w", err)
			}
			r.Requests, r.Elapsed, haveReq = n, d, true
		case len(f) == 2 && f[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil || !(v >= 0 && v < math.Inf(1)) {
				return r, fmt.Errorf("parse wrk requests/sec %q: bad number", f[1])
			}
			r.ReqPerSec, haveRate = v, true
		case strings.HasPrefix(line, "Socket errors:"):
			// Socket errors: connect 0, read 1, write 0, timeout 2
			rest := strings.TrimPrefix(line, "Socket errors:")
			for _, part := range strings.Split(rest, ",") {
				kv := strings.Fields(part)
				if len(kv) != 2 {
					return r, fmt.Errorf("parse wrk socket errors %q: bad field %q", line, part)
				}
				n, err := strconv.ParseInt(kv[1], 10, 64)
				if err != nil || n < 0 {
					return r, fmt.Errorf("parse wrk socket errors %q: bad number %q", line, kv[1])
				}
				r.SocketErrors += n
			}
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:"):
			s := strings.TrimSpace(strings.TrimPrefix(line, "Non-2xx or 3xx responses:"))
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				return r, fmt.Errorf("parse wrk non-2xx count %q: bad number", s)
			}
			r.Non2xx = n
		}
	}
	switch {
	case !haveReq:
		return r, fmt.Errorf("parse wrk output: no \"requests in\" line")
	case !haveRate:
		return r, fmt.Errorf("parse wrk output: no Requests/sec line")
	case !have50 || !have99:
		return r, fmt.Errorf("parse wrk output: no latency distribution (was --latency given?)")
	}
	return r, nil
}

// parseWrkDuration parses wrk's time format: a decimal number and one of the
// units us, ms, s, m, h (as wrk's format_time prints them).
func parseWrkDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		d      time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}}
	for _, u := range units {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok || num == "" {
			continue
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || !(v >= 0 && v <= 1e6) { // also refuses NaN
			return 0, fmt.Errorf("bad wrk duration %q", s)
		}
		return time.Duration(math.Round(v * float64(u.d))), nil
	}
	return 0, fmt.Errorf("bad wrk duration %q: unknown unit", s)
}

// wrkRun describes one load run.
type wrkRun struct {
	wrk      string // wrk binary
	cpu      string // taskset CPU list
	url      string
	conns    int
	duration time.Duration // whole seconds; wrk rounds down
	close    bool          // send Connection: close
	host     string        // Host header ("": wrk's default, the URL's authority)
}

// run executes wrk pinned to r.cpu and parses its output. It is bounded by the
// run's duration plus a margin.
func (r wrkRun) run(ctx context.Context) (wrkResult, error) {
	secs := int(r.duration / time.Second)
	if secs < 1 {
		secs = 1
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+20*time.Second)
	defer cancel()
	args := []string{"-c", r.cpu, r.wrk, "-t1", "-c", strconv.Itoa(r.conns),
		"-d", strconv.Itoa(secs) + "s", "--latency", "--timeout", "5s"}
	if r.close {
		args = append(args, "-H", "Connection: close")
	}
	if r.host != "" {
		args = append(args, "-H", "Host: "+r.host)
	}
	args = append(args, r.url)
	cmd := exec.CommandContext(ctx, "taskset", args...)
	cmd.WaitDelay = 2 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("run wrk %s: %w: %s", r.url, err, tail(string(out), 400))
	}
	res, err := parseWrk(string(out))
	if err != nil {
		return res, fmt.Errorf("wrk %s: %w: %s", r.url, err, tail(string(out), 400))
	}
	res.WrkCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return res, nil
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
