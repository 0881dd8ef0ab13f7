package halog

import (
	"bytes"
	"strings"
	"testing"
)

// The expectations below are computed by hand from halog's documented meaning
// (halog --help, man halog), so the modes are checked even where halog is not installed.
const smallLog = `Nov  2 10:00:00 lb haproxy[1]: 10.0.0.1:1000 [02/Nov/2026:10:00:00.000] fe app/web1 0/0/1/10/12 200 100 - - ---- 1/1/0/0/0 0/0 "GET /a?x=1 HTTP/1.1"
Nov  2 10:00:00 lb haproxy[1]: 10.0.0.1:1001 [02/Nov/2026:10:00:00.200] fe app/web1 0/0/3/30/40 503 200 - - SH-- 1/1/0/0/0 0/0 {h|ua} "GET /b HTTP/1.1"
Nov  2 10:00:01 lb haproxy[1]: 10.0.0.1:1002 [02/Nov/2026:10:00:01.000] fe app/web2 0/0/-1/-1/5 503 50 - - SC-- 1/1/0/0/0 0/0 "GET /a HTTP/1.1"
Nov  2 10:00:02 lb haproxy[1]: 10.0.0.1:1003 [02/Nov/2026:10:00:02.000] tcp tcp/t1 0/1/90 700 -- 1/1/0/0/0 0/0
`

func TestModes(t *testing.T) {
	tests := []struct {
		args           []string
		stdout, stderr string
	}{
		{[]string{"-srv", "-H"}, "#srv_name 1xx 2xx 3xx 4xx 5xx other tot_req req_ok pct_ok avg_ct avg_rt\n" +
			"app/web1 0 1 0 0 1 0 2 2 100.0 2 20\napp/web2 0 0 0 0 1 0 1 0 0.0 0 0\n",
			"4 lines in, 2 lines out, 0 parsing errors\n"},
		// without -H the tcp line's server is listed, and its 3 timers are a parse error
		{[]string{"-srv", "-q"}, "#srv_name 1xx 2xx 3xx 4xx 5xx other tot_req req_ok pct_ok avg_ct avg_rt\n" +
			"app/web1 0 1 0 0 1 0 2 2 100.0 2 20\napp/web2 0 0 0 0 1 0 1 0 0.0 0 0\ntcp/t1 0 0 0 0 0 0 0 0 0.0 0 0\n", ""},
		{[]string{"-st"}, "200 1\n503 2\n700 1\n", "4 lines in, 3 lines out, 0 parsing errors\n"},
		{[]string{"-e", "-c"}, "2\n", ""},
		{[]string{"-hs", "200", "-H", "-c"}, "1\n", ""},
		// time: Tr, or Ta when Tr is -1; an error is any -1 timer; ok totals use Tr only
		{[]string{"-u", "-H"}, "#req err ttot tavg oktot okavg bavg btot src\n" +
			"1 0 30 30 30 30 200 200 /b\n2 1 15 7 10 10 75 150 /a\n", "4 lines in, 2 lines out, 0 parsing errors\n"},
		{[]string{"-tc", "-H", "-q"}, "-- 1\nSC 1\nSH 1\n", ""},
		{[]string{"-ad", "500", "-q"}, "10:00:01.000 36001000 800 1\n10:00:02.000 36002000 1000 1\n", ""},
		{[]string{"-time", "1793613601:", "-c"}, "2\n", ""},
		{[]string{"-m", "1", "-e"}, strings.SplitAfter(smallLog, "\n")[1], "2 lines in, 1 lines out, 0 parsing errors\n"},
	}
	for _, tt := range tests {
		var o, e bytes.Buffer
		if code := Main(tt.args, strings.NewReader(smallLog), &o, &e); code != 0 {
			t.Errorf("%v: exit %d: %s", tt.args, code, e.String())
			continue
		}
		if o.String() != tt.stdout || e.String() != tt.stderr {
			t.Errorf("%v:\nstdout %q\n  want %q\nstderr %q\n  want %q", tt.args, o.String(), tt.stdout, e.String(), tt.stderr)
		}
	}
}

func TestPercentiles(t *testing.T) {
	var b strings.Builder
	for i := 1; i <= 7; i++ {
		b.WriteString(strings.Replace(strings.SplitAfter(smallLog, "\n")[0], "0/0/1/10/12", "0/0/0/"+string(rune('0'+i))+"0/"+string(rune('0'+i))+"0", 1))
	}
	var o, e bytes.Buffer
	Main([]string{"-pct"}, strings.NewReader(b.String()), &o, &e)
	lines := strings.Split(o.String(), "\n")
	// 72 steps; at p%, the value of rank floor(n*p/100) (1-based, at least 1)
	if len(lines) != 73 || lines[0] != "0.1 0 0 0 10 0 " || lines[28] != "15.0 1 0 0 10 0 " ||
		lines[29] != "20.0 1 0 0 10 0 " || lines[30] != "25.0 1 0 0 10 0 " || lines[31] != "30.0 2 0 0 20 0 " || lines[71] != "100.0 7 0 0 70 0 " {
		t.Errorf("percentiles:\n%s", o.String())
	}
}

func TestArgs(t *testing.T) {
	for _, args := range [][]string{{}, {"-m", "3"}, {"-nope"}, {"-hs"}} {
		var o, e bytes.Buffer
		if Main(args, strings.NewReader(smallLog), &o, &e) == 0 {
			t.Errorf("%v accepted", args)
		}
	}
}

func FuzzLine(f *testing.F) {
	for _, l := range strings.Split(smallLog, "\n") {
		f.Add(l)
	}
	f.Add("a b c d e f [1 2 3/4/5 6 7 8 9 10 11 12 {x} \"GET")
	f.Fuzz(func(t *testing.T, line string) {
		for _, args := range diffModes {
			var o, e bytes.Buffer
			Main(args, strings.NewReader(line+"\n"+line), &o, &e)
		}
	})
}
