package e2e

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/config/haproxy"
	"tandem/internal/proxystats"
	"tandem/internal/runtimeapi"
	"tandem/internal/stats"
	"tandem/internal/stick"
)

var (
	entryAddrRE = regexp.MustCompile(`(?m)^0x[0-9a-f]+:`)
	entryExpRE  = regexp.MustCompile(` exp=(\d+)`)
)

// TestStickRatesMatchHAProxy is the differential test of the stick tables' counters
// and rates: Debian's haproxy 2.6 tracks `http-request track-sc0 src` on loopback while
// requests arrive at known times; the same arrivals replayed into a stick.Table give
// the same `show table` line at the same times (the entry's address masked, its expiry
// within the scheduling jitter). The schedule keeps every rate away from an integer
// boundary by more than the jitter, so a wrong formula fails and a late packet does not.
func TestStickRatesMatchHAProxy(t *testing.T) {
	const table = "stick-table type ip size 100 expire 30s store conn_cnt,conn_rate(2s),conn_cur,http_req_cnt,http_req_rate(1s),http_err_cnt"
	dir := t.TempDir()
	sock := filepath.Join(dir, "h.sock")
	front := freeAddr(t)
	startHAProxy(t, fmt.Sprintf(`global
    stats socket %s mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind %s
    %s
    http-request track-sc0 src
    http-request return status 200
`, sock, front, table), sock)

	// What tandem reads from the same line.
	cfg, err := haproxy.Parse("t.cfg", []byte("backend fe\n    "+table+"\n"), haproxy.Options{})
	if err != nil {
		t.Fatal(err)
	}

	type step struct {
		at   time.Duration
		read bool // else: one request
	}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var plan []step
	for _, n := range []int{0, 50, 100, 150, 200} {
		plan = append(plan, step{at: ms(n)})
	}
	plan = append(plan, step{ms(500), true}, step{ms(1150), true})
	for _, n := range []int{1300, 1350, 1400} {
		plan = append(plan, step{at: ms(n)})
	}
	plan = append(plan, step{ms(1450), true}, step{ms(2200), true}, step{ms(3400), true})

	request := fmt.Sprintf("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", front)
	var base time.Time
	type sample struct {
		at   time.Duration
		read bool
		line string // haproxy's entry line, for reads
	}
	var got []sample
	for i, s := range plan {
		if i == 0 {
			base = time.Now()
		} else if d := time.Until(base.Add(s.at)); d > 0 {
			time.Sleep(d) // pacing real traffic, not waiting for a result
		}
		if s.read {
			at := time.Since(base)
			out := ask(t, sock, "show table fe")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 2 {
				t.Fatalf("show table fe: %q", out)
			}
			got = append(got, sample{at: at, read: true, line: lines[1]})
			continue
		}
		c, err := net.Dial("tcp4", front)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		at := time.Since(base)
		io.WriteString(c, request)
		resp, _ := io.ReadAll(c)
		c.Close()
		if !strings.HasPrefix(string(resp), "HTTP/1.1 200") {
			t.Fatalf("response %q", resp)
		}
		got = append(got, sample{at: at})
	}

	// Replay into tandem's table, printed by tandem's runtime API.
	start := time.Unix(1_800_000_000, 0)
	now := start
	tb := stick.New(cfg.Tables[0].Def, start)
	src := &stats.Source{
		Config:    func() *config.Config { return cfg },
		Pools:     func() map[string]*backend.Pool { return nil },
		Frontends: proxystats.NewRegistry(),
		Now:       func() time.Time { return now },
		Tables:    func() []*stick.Table { return []*stick.Table{tb} },
	}
	k, _ := tb.KeyAddr(netip.MustParseAddr("127.0.0.1"))
	for _, s := range got {
		now = start.Add(s.at)
		if !s.read {
			e := tb.Track(k, now) // track-sc0: conn_cur, conn_cnt, conn_rate
			e.CountHTTPReq(now)   // the request the rule runs on
			e.Untrack(now)
			continue
		}
		out := runtimeapi.Do(src, runtimeapi.LevelAdmin, "show table fe")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 {
			t.Fatalf("tandem show table fe: %q", out)
		}
		h, tn := maskEntry(s.line), maskEntry(lines[1])
		if h != tn {
			t.Errorf("at +%v:\nhaproxy %s\ntandem  %s", s.at.Round(time.Millisecond), s.line, lines[1])
		}
		if d := expOf(t, s.line) - expOf(t, lines[1]); d < -50 || d > 50 {
			t.Errorf("at +%v: exp differs by %d ms: haproxy %s, tandem %s", s.at.Round(time.Millisecond), d, s.line, lines[1])
		}
	}
}

func maskEntry(line string) string {
	return entryExpRE.ReplaceAllString(entryAddrRE.ReplaceAllString(line, "0x…:"), " exp=…")
}

func expOf(t *testing.T, line string) int {
	m := entryExpRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no exp in %q", line)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestTableCommandsMatchHAProxy sends the same show|set|clear table commands to
// Debian's haproxy 2.6 and to tandem over their stats sockets, on the same tables:
// outputs and error texts are equal (entry addresses masked, expiries compared within
// scheduling jitter).
func TestTableCommandsMatchHAProxy(t *testing.T) {
	dir := t.TempDir()
	conf := func(sock, front string) string {
		return fmt.Sprintf(`global
    stats socket %s mode 600 level admin
    stats socket %s-user mode 600 level user
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend web
    bind %s
    default_backend app
backend app
    server web1 127.0.0.1:9
backend ti
    stick-table type integer size 100 expire 1h store gpc0,gpt0
backend fe
    stick-table type ip size 100 expire 30s store server_id,gpt0,gpc0,gpc0_rate(10s),conn_cnt,conn_cur,http_req_rate(10s),http_err_cnt,bytes_in_cnt,bytes_out_rate(1m),gpc1,server_key,http_fail_cnt
backend ts
    stick-table type string len 8 size 2 nopurge store gpc0
backend t6
    stick-table type ipv6 size 1k
backend tb
    stick-table type binary len 4 size 10 store gpc0
backend arr
    stick-table type ip size 10 store gpc(2),gpt(3),gpc1_rate(5s)
backend arr2
    stick-table type integer size 10 store gpc_rate(2,10s),gpc0
`, sock, sock, front)
	}
	hsock, tsock := filepath.Join(dir, "h.sock"), filepath.Join(dir, "t.sock")
	startHAProxy(t, conf(hsock, freeAddr(t)), hsock)
	tfront := freeAddr(t)
	startTandem(t, conf(tsock, tfront), tfront)

	for _, c := range []struct {
		user bool
		cmd  string
	}{
		{false, "show table"},
		{false, "set table ti key 5 data.gpc0 3"},
		{false, "set table ti key -1"},
		{false, "set table ti key 4294967296"},
		{false, "set table ti key 12a data.gpt0 -3"},
		{false, "set table ti key 256;set table ti key 65536;set table ti key 4294967295 data.gpc0 99999999999"},
		{false, "show table ti"},
		{false, "show table ti key 256"},
		{false, "show table ti key 9999"},
		{false, "show table ti data.gpc0 eq 3"},
		{false, "show table ti data.gpc0 gt 0 data.gpt0 gt 0"},
		{false, "show table ti data.gpc0 foo 3"},
		{false, "show table ti data.nope eq 3"},
		{false, "show table ti data.conn_cnt eq 3"},
		{false, "show table ti data.gpc eq 3"},
		{false, "show table ti data.gpc0 eq x"},
		{false, "show table ti data.gpc0 gt 0 key 5"},
		{false, "show table ti data.gpc0 gt 0 data.gpc0 lt 10 data.gpc0 lt 10 data.gpc0 lt 10 data.gpc0 lt 10"},
		{false, "show table nosuch"},
		{false, "show table ti key"},
		{false, "show table ti foo"},
		{false, "set table"},
		{false, "set table ti 5"},
		{false, "set table ti key 5 data.gpc0"},
		{false, "set table ti key 5 data.gpc0 +7"},
		{false, "set table ti key 5 data.conn_cnt 3"},
		{false, "set table ti key 5 data.gpc 3"},
		{false, "set table ti key 5 gpc0 3"},
		{false, "set table ti data.gpc0 eq 1"},
		{false, "clear table"},
		{false, "clear table ti foo"},
		{false, "clear table ti key abc"},
		{false, "clear table ti key 5;show table ti"},
		{false, "clear table ti data.gpc0 eq 0;show table ti"},
		{false, "set table fe key 300.1.1.1;set table fe key 1.2.3"},
		{false, "set table fe key 1.2.3.4 data.gpc0 7 data.conn_cur 3 data.http_req_rate 5 data.server_id -2 data.bytes_in_cnt 99999999999 data.bytes_out_rate 12"},
		{false, "set table fe key 9.9.9.9 data.server_id 5 data.server_key abc"},
		{false, "show table fe"},
		{false, "show table fe data.http_req_rate gt 4"},
		{false, "show table fe data.server_id lt 0"},
		{false, `set table ts key abcdefghijkl data.gpc0 1;set table ts key a=b\ c;set table ts key third`},
		{false, "show table ts"},
		{false, "set table t6 key ::1;set table t6 key 10.0.0.1;set table t6 key ::ffff:1.2.3.4"},
		{false, "show table t6"},
		{false, "show table tb key 00;clear table tb key 00;set table tb key 00"},
		{false, "set table arr key 1.1.1.1;set table arr key 1.1.1.1 data.gpc 5;set table arr key 1.1.1.1 data.gpc0 5"},
		{false, "set table arr key 1.1.1.2 data.gpc1_rate 4 data.gpt 1"},
		{false, "show table arr;show table arr data.gpc gt 5;show table arr data.gpc eq 0;show table arr data.gpc1_rate gt 0"},
		{false, "set table arr2 key 3 data.gpc0 2 data.gpc_rate 7;show table arr2;show table arr2 data.gpc_rate eq 0"},
		{true, "show table"},
		{true, "show table ti"},
		{true, "show table ti key 256"},
		{true, "show table ti key abc"},
		{true, "set table ti key 1"},
		{true, "clear table ti key 256"},
		{true, "clear table ti;set table ti;show table ti data.gpc0 ge 0"},
		{false, "set table ti;show table ti"},
		{false, "clear table fe;show table"},
	} {
		hs, ts := hsock, tsock
		if c.user {
			hs, ts = hsock+"-user", tsock+"-user"
		}
		h, tn := ask(t, hs, c.cmd), ask(t, ts, c.cmd)
		if maskEntry(h) != maskEntry(tn) {
			t.Errorf("%q:\nhaproxy %q\ntandem  %q", c.cmd, h, tn)
			continue
		}
		he, te := entryExpRE.FindAllStringSubmatch(h, -1), entryExpRE.FindAllStringSubmatch(tn, -1)
		for i := range he {
			a, _ := strconv.Atoi(he[i][1])
			b, _ := strconv.Atoi(te[i][1])
			if a-b < -200 || a-b > 200 {
				t.Errorf("%q: exp %d vs %d", c.cmd, a, b)
			}
		}
	}
}
