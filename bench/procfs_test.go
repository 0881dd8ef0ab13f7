package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want cpuTimes
		ok   bool
	}{
		{"plain command",
			"1234 (haproxy) S 1 1234 1234 0 -1 4194560 3 0 0 0 250 75 0 0 20 0 1 0 100 10000 500 18446744073709551615",
			cpuTimes{User: 2500 * time.Millisecond, System: 750 * time.Millisecond}, true},
		{"command with spaces and parentheses",
			"42 (a) b (c)) R 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 5",
			cpuTimes{User: 70 * time.Millisecond, System: 30 * time.Millisecond}, true},
		{"no parenthesis", "1234 haproxy S 1", cpuTimes{}, false},
		{"too few fields", "1 (x) S 1 2 3", cpuTimes{}, false},
		{"non-numeric utime", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 u 3 0", cpuTimes{}, false},
		{"implausible utime", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 99999999999999999 3 0", cpuTimes{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("parseStat = %+v, %v; want %+v, ok=%v", got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestParseStatusKiB(t *testing.T) {
	const status = "Name:\thaproxy\nVmPeak:\t  30000 kB\nVmRSS:\t   16384 kB\nThreads:\t1\n"
	tests := []struct {
		name, in, field string
		want            uint64
		ok              bool
	}{
		{"VmRSS present", status, "VmRSS", 16384, true},
		{"prefix of another field does not match", status, "VmPea", 0, false},
		{"missing field", "Name:\tx\n", "VmRSS", 0, false},
		{"wrong unit", "VmRSS:\t 12 MB\n", "VmRSS", 0, false},
		{"not a number", "VmRSS:\t x kB\n", "VmRSS", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatusKiB(tt.in, tt.field)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("parseStatusKiB = %d, %v; want %d, ok=%v", got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestParseLimitsNoFile(t *testing.T) {
	in := "Limit                     Soft Limit           Hard Limit           Units     \n" +
		"Max processes             63399                63399                processes \n" +
		"Max open files            20000                20000                files     \n"
	soft, hard, err := parseLimitsNoFile(in)
	if err != nil || soft != "20000" || hard != "20000" {
		t.Errorf("parseLimitsNoFile = %q, %q, %v; want 20000, 20000", soft, hard, err)
	}
	if _, _, err := parseLimitsNoFile("Max processes 1 1\n"); err == nil {
		t.Error("parseLimitsNoFile without the line: want an error")
	}
}

// The live readers parse this very process's files.
func TestReadOwnProc(t *testing.T) {
	pid := os.Getpid()
	// Burn a little CPU so the counters are not both zero at USER_HZ resolution.
	deadline := time.Now().Add(30 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	if _, err := readCPU(pid); err != nil {
		t.Errorf("readCPU(self): %v", err)
	}
	rss, err := readRSS(pid)
	if err != nil || rss == 0 {
		t.Errorf("readRSS(self) = %d, %v; want > 0", rss, err)
	}
	soft, _, err := readNoFile(pid)
	if err != nil || soft == "" {
		t.Errorf("readNoFile(self) = %q, %v", soft, err)
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add("1234 (haproxy) S 1 1234 1234 0 -1 4194560 3 0 0 0 250 75 0 0 20 0 1 0 100")
	f.Add("42 (a) b (c)) R 1 42 42 0 -1 0 0 0 0 0 7 3 0")
	f.Fuzz(func(t *testing.T, in string) {
		c, err := parseStat(in)
		if err == nil && (c.User < 0 || c.System < 0) {
			t.Errorf("parseStat(%q) = %+v: negative", in, c)
		}
	})
}

func FuzzParseStatusKiB(f *testing.F) {
	f.Add("VmRSS:\t   16384 kB\n")
	f.Add("Name:\tx\nVmRSS: 1 kB")
	f.Fuzz(func(t *testing.T, in string) {
		v, err := parseStatusKiB(in, "VmRSS")
		if err == nil && !strings.Contains(in, "VmRSS:") {
			t.Errorf("parseStatusKiB(%q) = %d without a VmRSS line", in, v)
		}
	})
}

func TestParseProcStatCPU(t *testing.T) {
	const stat = "cpu  45768 1 22106 71560 279 0 6091 91 0 0\n" +
		"cpu0 21979 1 11342 36534 63 0 2789 43 0 0\n" +
		"cpu1 23789 0 10763 35026 216 0 3301 47 0 0\n" +
		"intr 1 2 3\n"
	got, err := parseProcStatCPU(stat, 1)
	want := cpuStat{User: 23789, System: 10763, Idle: 35026, IOWait: 216, SoftIRQ: 3301, Steal: 47}
	if err != nil || got != want {
		t.Errorf("parseProcStatCPU(cpu1) = %+v, %v; want %+v", got, err, want)
	}
	for _, tt := range []struct {
		name string
		in   string
		n    int
	}{
		{"absent CPU", stat, 7},
		{"short line", "cpu1 1 2 3\n", 1},
		{"bad number", "cpu1 1 2 3 4 5 6 x 8\n", 1},
	} {
		if _, err := parseProcStatCPU(tt.in, tt.n); err == nil {
			t.Errorf("%s: parseProcStatCPU: want an error", tt.name)
		}
	}
	if _, err := readCPUStat(0); err != nil {
		t.Errorf("readCPUStat(0): %v", err)
	}
}

func TestShareOf(t *testing.T) {
	before := cpuStat{User: 100, System: 50, SoftIRQ: 10, Steal: 1}
	after := cpuStat{User: 300, System: 150, SoftIRQ: 30, Steal: 3}
	// 300 ticks busy = 3 s; the proxy used 2.5 s; 2 ticks stolen.
	got := shareOf(before, after, 2500*time.Millisecond)
	want := cpuShare{Others: 520 * time.Millisecond, SoftIRQ: 200 * time.Millisecond}
	if got != want {
		t.Errorf("shareOf = %+v, want %+v", got, want)
	}
	// Tick rounding can make the proxy's share exceed the CPU's: no negative noise.
	if got := shareOf(before, after, 4*time.Second); got.Others != 20*time.Millisecond {
		t.Errorf("shareOf with proxy > busy: Others = %v, want 20ms (steal only)", got.Others)
	}
}

func FuzzParseProcStatCPU(f *testing.F) {
	f.Add("cpu1 23789 0 10763 35026 216 0 3301 47 0 0\n")
	f.Add("cpu 1\ncpu1 1 2 3 4 5 6 7 8")
	f.Fuzz(func(t *testing.T, in string) {
		if _, err := parseProcStatCPU(in, 1); err == nil && !strings.Contains(in, "cpu1") {
			t.Errorf("parseProcStatCPU(%q) succeeded without a cpu1 line", in)
		}
	})
}

func TestParseAllowedCPU(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"Name:\tx\nCpus_allowed_list:\t0-1\n", "0", true},
		{"Cpus_allowed_list:\t3\n", "3", true},
		{"Cpus_allowed_list:\t2,4-5\n", "2", true},
		{"Cpus_allowed_list:\t\n", "", false},
		{"Name:\tx\n", "", false},
	}
	for _, tt := range tests {
		got, err := parseAllowedCPU(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseAllowedCPU(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParseLimitsNoFile(f *testing.F) {
	f.Add("Max open files            20000                20000                files     \n")
	f.Add("Max open files\n")
	f.Fuzz(func(t *testing.T, in string) {
		soft, hard, err := parseLimitsNoFile(in)
		if err == nil && (soft == "" || hard == "") {
			t.Errorf("parseLimitsNoFile(%q) = %q, %q without an error", in, soft, hard)
		}
	})
}

func FuzzParseAllowedCPU(f *testing.F) {
	f.Add("Cpus_allowed_list:\t0-1\n")
	f.Add("Cpus_allowed_list:\t2,4-5\n")
	f.Fuzz(func(t *testing.T, in string) {
		cpu, err := parseAllowedCPU(in)
		if err != nil {
			return
		}
		if _, err := strconv.Atoi(cpu); err != nil {
			t.Errorf("parseAllowedCPU(%q) = %q, not a number", in, cpu)
		}
	})
}
