package main

import (
	"bufio"
	"fmt"
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
	const maxTicks = 1 << 40 // far beyond any real value, keeps the product in range
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

// parseSchedstat reads /proc/PID/task/TID/schedstat: time on CPU and time
// spent runnable but waiting for a CPU, both in nanoseconds.
func parseSchedstat(data string) (onCPU, waited time.Duration, err error) {
	f := strings.Fields(data)
	if len(f) != 3 {
		return 0, 0, fmt.Errorf("parse schedstat %q: want 3 fields", data)
	}
	on, err1 := strconv.ParseInt(f[0], 10, 64)
	w, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || on < 0 || w < 0 {
		return 0, 0, fmt.Errorf("parse schedstat %q: bad number", data)
	}
	return time.Duration(on), time.Duration(w), nil
}

// readRunqueueWait sums, over pid's threads, the time they were runnable but
// waited for a CPU: on a CPU the proxy should have alone, that is time other
// processes took, so it measures how disturbed a run was.
func readRunqueueWait(pid int) (time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("read threads of pid %d: %w", pid, err)
	}
	var total time.Duration
	for _, e := range ents {
		b, err := os.ReadFile(dir + "/" + e.Name() + "/schedstat")
		if err != nil {
			continue // the thread ended meanwhile
		}
		_, w, err := parseSchedstat(strings.TrimSpace(string(b)))
		if err != nil {
			return 0, err
		}
		total += w
	}
	return total, nil
}
