package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat. Linux
// exports 100 to user space on every architecture Go supports.
const clockTick = 10 * time.Millisecond

// cpuTimes is a process's consumed CPU time.
type cpuTimes struct {
	User, System time.Duration
}

// Total is user plus system time.
func (c cpuTimes) Total() time.Duration { return c.User + c.System }

// parseStat reads utime and stime (fields 14 and 15) from the text of
// /proc/PID/stat. The command name (field 2) may hold spaces and parentheses,
// so fields are counted after its last closing parenthesis.
func parseStat(data string) (cpuTimes, error) {
	i := strings.LastIndexByte(data, ')')
	if i < 0 {
		return cpuTimes{}, fmt.Errorf("parse /proc stat: no command name")
	}
	f := strings.Fields(data[i+1:])
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 15-3+1 {
		return cpuTimes{}, fmt.Errorf("parse /proc stat: %d fields after the command name, want at least 13", len(f))
	}
	u, err := strconv.ParseUint(f[14-3], 10, 63)
	if err != nil {
		return cpuTimes{}, fmt.Errorf("parse /proc stat utime %q: %w", f[14-3], err)
	}
	s, err := strconv.ParseUint(f[15-3], 10, 63)
	if err != nil {
		return cpuTimes{}, fmt.Errorf("parse /proc stat stime %q: %w", f[15-3], err)
	}
	// Beyond any real value; keeps ticks×clockTick inside a Duration (a bound of 1<<40
	// did not: the fuzzer found 10¹² ticks overflowing to a negative time).
	maxTicks := uint64(math.MaxInt64 / int64(clockTick))
	if u > maxTicks || s > maxTicks {
		return cpuTimes{}, fmt.Errorf("parse /proc stat: implausible times %d/%d", u, s)
	}
	return cpuTimes{User: time.Duration(u) * clockTick, System: time.Duration(s) * clockTick}, nil
}

// parseStatusKiB returns the value in kB of a field such as VmRSS from the text
// of /proc/PID/status.
func parseStatusKiB(data, field string) (uint64, error) {
	sc := bufio.NewScanner(strings.NewReader(data))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("parse /proc status %s %q: want \"N kB\"", field, rest)
		}
		v, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc status %s: %w", field, err)
		}
		return v, nil
	}
	return 0, fmt.Errorf("parse /proc status: no %s line", field)
}

// parseLimitsNoFile returns the soft and hard "Max open files" of /proc/PID/limits.
func parseLimitsNoFile(data string) (soft, hard string, err error) {
	sc := bufio.NewScanner(strings.NewReader(data))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Max open files")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			return "", "", fmt.Errorf("parse /proc limits %q: too few fields", sc.Text())
		}
		return f[0], f[1], nil
	}
	return "", "", fmt.Errorf("parse /proc limits: no \"Max open files\" line")
}

func readCPU(pid int) (cpuTimes, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return cpuTimes{}, fmt.Errorf("read cpu of pid %d: %w", pid, err)
	}
	return parseStat(string(b))
}

// readRSS returns the resident set size of pid in KiB.
func readRSS(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read rss of pid %d: %w", pid, err)
	}
	return parseStatusKiB(string(b), "VmRSS")
}

func readNoFile(pid int) (soft, hard string, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return "", "", fmt.Errorf("read limits of pid %d: %w", pid, err)
	}
	return parseLimitsNoFile(string(b))
}

// cpuStat is one CPU's line of /proc/stat, in USER_HZ ticks.
type cpuStat struct {
	User, Nice, System, Idle, IOWait, IRQ, SoftIRQ, Steal uint64
}

// parseProcStatCPU returns the line "cpuN ..." of /proc/stat.
func parseProcStatCPU(data string, n int) (cpuStat, error) {
	name := "cpu" + strconv.Itoa(n)
	sc := bufio.NewScanner(strings.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != name {
			continue
		}
		if len(f) < 9 {
			return cpuStat{}, fmt.Errorf("parse /proc/stat %s: %d fields, want at least 8 values", name, len(f)-1)
		}
		var v [8]uint64
		for i := range v {
			x, err := strconv.ParseUint(f[i+1], 10, 63)
			if err != nil {
				return cpuStat{}, fmt.Errorf("parse /proc/stat %s: %w", name, err)
			}
			v[i] = x
		}
		return cpuStat{User: v[0], Nice: v[1], System: v[2], Idle: v[3], IOWait: v[4], IRQ: v[5], SoftIRQ: v[6], Steal: v[7]}, nil
	}
	return cpuStat{}, fmt.Errorf("parse /proc/stat: no %s line", name)
}

func readCPUStat(n int) (cpuStat, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuStat{}, fmt.Errorf("read /proc/stat: %w", err)
	}
	return parseProcStatCPU(string(b), n)
}

// cpuShare is what happened on the proxy's CPU during a run besides the proxy.
type cpuShare struct {
	// Others is CPU time tasks other than the proxy used (plus time stolen by
	// a hypervisor): the noise on a CPU the proxy should have alone.
	Others time.Duration
	// SoftIRQ is softirq time, mostly loopback packet delivery, which the
	// kernel may account here instead of to the proxy that caused it.
	SoftIRQ time.Duration
}

// shareOf compares two /proc/stat samples of the proxy CPU with the proxy's own use.
func shareOf(before, after cpuStat, proxy time.Duration) cpuShare {
	d := func(a, b uint64) time.Duration {
		if b < a {
			return 0
		}
		return time.Duration(b-a) * clockTick
	}
	busy := d(before.User+before.Nice+before.System, after.User+after.Nice+after.System)
	others := max(busy-proxy, 0) + d(before.Steal, after.Steal)
	return cpuShare{Others: others, SoftIRQ: d(before.SoftIRQ, after.SoftIRQ)}
}

// parseAllowedCPU returns the first CPU of Cpus_allowed_list in /proc/PID/status
// ("0-1,4" gives "0").
func parseAllowedCPU(status string) (string, error) {
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Cpus_allowed_list:")
		if !ok {
			continue
		}
		first := strings.TrimSpace(rest)
		if i := strings.IndexAny(first, "-,"); i >= 0 {
			first = first[:i]
		}
		if _, err := strconv.Atoi(first); err != nil {
			return "", fmt.Errorf("parse Cpus_allowed_list %q: %w", rest, err)
		}
		return first, nil
	}
	return "", fmt.Errorf("parse /proc status: no Cpus_allowed_list line")
}
