package runtimeapi

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/config/haproxy"
	"tandem/internal/proxystats"
	"tandem/internal/stats"
	"tandem/internal/stick"
)

const tablesCfg = `
defaults
    mode http
backend ti
    stick-table type integer size 100 expire 1h store gpc0
backend fe
    stick-table type ip size 100 expire 30s store server_id,gpt0,gpc0,gpc0_rate(10s),conn_cnt,conn_cur,http_req_rate(10s),bytes_in_cnt,server_key
backend ts
    stick-table type string len 8 size 2 nopurge store gpc0
backend tb
    stick-table type binary len 4 size 10 store gpc0
backend arr
    stick-table type ip size 10 store gpc(2),gpc_rate(2,10s),gpt(3)
`

// tableSource is a Source over the tables of tablesCfg and a clock the test moves.
func tableSource(t testing.TB) (*stats.Source, map[string]*stick.Table, *time.Time) {
	t.Helper()
	cfg, err := haproxy.Parse("t.cfg", []byte(tablesCfg), haproxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	var list []*stick.Table
	byName := map[string]*stick.Table{}
	for _, st := range cfg.Tables {
		tb := stick.New(st.Def, now)
		list = append(list, tb)
		byName[tb.Name()] = tb
	}
	return &stats.Source{
		Config:    func() *config.Config { return cfg },
		Pools:     func() map[string]*backend.Pool { return nil },
		Frontends: proxystats.NewRegistry(),
		Now:       func() time.Time { return now },
		Tables:    func() []*stick.Table { return list },
	}, byName, &now
}

var addrRE = regexp.MustCompile(`(?m)^0x[0-9a-f]+:`)

// TestTableCommands replays sessions recorded on Debian's haproxy 2.6 with the same
// tables (entry addresses masked): outputs, error texts and access levels match.
func TestTableCommands(t *testing.T) {
	src, _, now := tableSource(t)
	type step struct {
		level Level
		cmd   string
		want  string
		after time.Duration // advance the clock after the step
	}
	A, O, U := LevelAdmin, LevelOperator, LevelUser
	steps := []step{
		{A, "show table", "# table: arr, type: ip, size:10, used:0\n# table: tb, type: binary, size:10, used:0\n# table: ts, type: string, size:2, used:0\n# table: fe, type: ip, size:100, used:0\n# table: ti, type: integer, size:100, used:0\n", 0},
		{A, "set table ti key 5 data.gpc0 3", "", 0},
		{A, "set table ti key -1", "Invalid key\n", 0},
		{A, "set table ti key 4294967296", "Invalid key\n", 0},
		{A, "set table ti key abc", "Invalid key\n", 0},
		{A, "set table ti key 4294967295", "", 0},
		{A, "set table ti key 256", "", 0},
		{A, "set table ti key 65536", "", 13 * time.Millisecond},
		{A, "show table ti", "# table: ti, type: integer, size:100, used:4\n" +
			"0x…: key=65536 use=0 exp=3599987 gpc0=0\n0x…: key=256 use=0 exp=3599987 gpc0=0\n" +
			"0x…: key=5 use=0 exp=3599987 gpc0=3\n0x…: key=4294967295 use=0 exp=3599987 gpc0=0\n", 0},
		{A, "show table ti key 256", "# table: ti, type: integer, size:100, used:4\n0x…: key=256 use=0 exp=3599987 gpc0=0\n", 0},
		{A, "show table ti key 9999", "", 0},
		{A, "show table ti key 5 extra", "# table: ti, type: integer, size:100, used:4\n0x…: key=5 use=0 exp=3599987 gpc0=3\n", 0},
		{A, "show table ti data.gpc0 eq 3", "# table: ti, type: integer, size:100, used:4\n0x…: key=5 use=0 exp=3599987 gpc0=3\n", 0},
		{A, "show table ti data.gpc0 gt 0 data.gpc0 lt 3", "# table: ti, type: integer, size:100, used:4\n", 0},
		{A, "show table ti data.gpc0 foo 3", "Filter entry #1: Require and operator among \"eq\", \"ne\", \"le\", \"ge\", \"lt\", \"gt\"\n", 0},
		{A, "show table ti data.gpc0", "Filter entry #1: Require and operator among \"eq\", \"ne\", \"le\", \"ge\", \"lt\", \"gt\"\n", 0},
		{A, "show table ti data.nope eq 3", "Filter entry #1: Unknown data type\n", 0},
		{A, "show table ti data.conn_cnt eq 3", "Filter entry #1: Data type not stored in this table\n", 0},
		{A, "show table ti data.gpc eq 3", "Filter entry #1: Data type not stored in this table\n", 0},
		{A, "show table ti data.gpc0 eq x", "Filter entry #1: Require a valid integer value to compare against\n", 0},
		{A, "show table ti data.gpc0 eq", "Filter entry #1: Require a valid integer value to compare against\n", 0},
		{A, "show table ti data.gpc0 gt +1", "Filter entry #1: Require a valid integer value to compare against\n", 0},
		{A, "show table ti data.gpc0 gt 0 key 5", "Filter entry #2: Unknown data type\n", 0},
		{A, "show table ti data.gpc0 gt 0 data.gpc0", "Filter entry #2: Require and operator among \"eq\", \"ne\", \"le\", \"ge\", \"lt\", \"gt\"\n", 0},
		{A, "show table ti data.gpc0 gt 0 data.gpc0 lt 10 data.gpc0 lt 10 data.gpc0 lt 10 data.gpc0 lt 10",
			"Detected extra data in filter, 16th word of input, after '10'\n", 0},
		{A, "show table nosuch", "No such table\n", 0},
		{A, "show table ti key", "Key value expected\n", 0},
		{A, "show table ti foo", "Optional argument only supports \"data.<store_data_type>\" <operator> <value> and key <key>\n", 0},
		{A, "set table", "Required arguments: <table> key <key> [data.<store_data_type> <value>]*\n", 0},
		{A, "set table ti 5", "Required arguments: <table> key <key> [data.<store_data_type> <value>]*\n", 0},
		{A, "set table nosuch key 1", "No such table\n", 0},
		{A, "set table ti key 5 data.gpc0", "Require a valid integer value to store\n", 0},
		{A, "set table ti key 5 data.gpc0 12x", "Require a valid integer value to store\n", 0},
		{A, "set table ti key 5 data.gpc0 +7", "Require a valid integer value to store\n", 0},
		{A, "set table ti key 5 data.gpc0 99999999999999999999", "Require a valid integer value to store\n", 0},
		{A, "set table ti key 5 data.conn_cnt 3", "Data type not stored in this table\n", 0},
		{A, "set table ti key 5 data.nope 3", "Unknown data type\n", 0},
		{A, "set table ti key 5 gpc0 3", "\"data.<type>\" followed by a value expected\n", 0},
		{A, "set table ti key 5 data.gpc0 -3", "", 0},
		{A, "set table ti key 6 data.gpc0 1 data.gpc0 2", "", 0},
		{A, "set table ti key 7 data.gpc0 1 junk", "\"data.<type>\" followed by a value expected\n", 0},
		{A, "set table ti data.gpc0 eq 1", "content-based lookup is only supported with the \"show\" and \"clear\" actions\n", 0},
		{A, "show table ti data.gpc0 ge 1", "# table: ti, type: integer, size:100, used:6\n" +
			"0x…: key=5 use=0 exp=3600000 gpc0=4294967293\n0x…: key=6 use=0 exp=3600000 gpc0=2\n0x…: key=7 use=0 exp=3600000 gpc0=1\n", 0},
		{A, "clear table", "Required arguments: <table> \"data.<store_data_type>\" <operator> <value> or <table> key <key>\n", 0},
		{A, "clear table nosuch", "No such table\n", 0},
		{A, "clear table ti key 9999", "", 0},
		{A, "clear table ti key abc", "Invalid key\n", 0},
		{A, "clear table ti foo", "Required arguments: <table> \"data.<store_data_type>\" <operator> <value> or <table> key <key>\n", 0},
		{A, "clear table ti data.gpc0 zz 1", "Filter entry #1: Require and operator among \"eq\", \"ne\", \"le\", \"ge\", \"lt\", \"gt\"\n", 0},
		{A, "clear table ti key 5", "", 0},
		{A, "clear table ti data.gpc0 eq 0", "", 0},
		{A, "show table ti", "# table: ti, type: integer, size:100, used:2\n0x…: key=6 use=0 exp=3600000 gpc0=2\n0x…: key=7 use=0 exp=3600000 gpc0=1\n", 0},
		// `set table NAME` alone clears the table in HAProxy 2.6.
		{O, "set table ti", "", 0},
		{A, "show table ti", "# table: ti, type: integer, size:100, used:0\n", 0},

		// ip keys read as HAProxy's CLI does; every data type printed in its order.
		{A, "set table fe key 300.1.1.1", "", 0},
		{A, "set table fe key 1.2.3.4 data.gpc0 7 data.conn_cur 3 data.http_req_rate 5 data.server_id -2 data.bytes_in_cnt 99999999999", "", 0},
		{A, "set table fe key 9.9.9.9 data.server_id 5 data.server_key abc", "Require a valid integer value to store\n", 1000 * time.Millisecond},
		{A, "show table fe", "# table: fe, type: ip, size:100, used:3\n" +
			"0x…: key=1.2.3.4 use=0 exp=29000 server_id=-2 gpt0=0 gpc0=7 gpc0_rate(10000)=0 conn_cnt=0 conn_cur=3 http_req_rate(10000)=5 bytes_in_cnt=99999999999 server_key=-\n" +
			"0x…: key=9.9.9.9 use=0 exp=29000 server_id=5 gpt0=0 gpc0=0 gpc0_rate(10000)=0 conn_cnt=0 conn_cur=0 http_req_rate(10000)=0 bytes_in_cnt=0 server_key=-\n" +
			"0x…: key=44.1.1.1 use=0 exp=29000 server_id=0 gpt0=0 gpc0=0 gpc0_rate(10000)=0 conn_cnt=0 conn_cur=0 http_req_rate(10000)=0 bytes_in_cnt=0 server_key=-\n", 9500 * time.Millisecond},
		// a rate set by the runtime API holds for its period, then fades (10.5 s: 5*9.5/10)
		{A, "show table fe key 1.2.3.4", "# table: fe, type: ip, size:100, used:3\n" +
			"0x…: key=1.2.3.4 use=0 exp=19500 server_id=-2 gpt0=0 gpc0=7 gpc0_rate(10000)=0 conn_cnt=0 conn_cur=3 http_req_rate(10000)=4 bytes_in_cnt=99999999999 server_key=-\n", 5000 * time.Millisecond},
		{A, "show table fe data.http_req_rate gt 0", "# table: fe, type: ip, size:100, used:3\n" +
			"0x…: key=1.2.3.4 use=0 exp=14500 server_id=-2 gpt0=0 gpc0=7 gpc0_rate(10000)=0 conn_cnt=0 conn_cur=3 http_req_rate(10000)=2 bytes_in_cnt=99999999999 server_key=-\n", 15 * time.Second},
		// entries expire
		{A, "show table fe", "# table: fe, type: ip, size:100, used:0\n", 0},

		// strings: cut to len, escaped; nopurge refuses a new key once full
		{A, `set table ts key abcdefghijkl data.gpc0 1`, "", 0},
		{A, `set table ts key a=b\ c`, "", 0},
		{A, "set table ts key third", "Unable to allocate a new entry\n", 0},
		{A, "show table ts", "# table: ts, type: string, size:2, used:2\n0x…: key=a\\=b\\ c use=0 exp=0 gpc0=0\n0x…: key=abcdefgh use=0 exp=0 gpc0=1\n", 0},
		{A, "clear table ts", "", 0},
		{A, "show table ts", "# table: ts, type: string, size:2, used:0\n", 0},

		// binary tables take no key from the runtime API
		{A, "show table tb key 00", "Showing keys from tables of type other than ip, ipv6, string and integer is not supported\n", 0},
		{A, "clear table tb key 00", "Removing keys from tables of type other than ip, ipv6, string and integer is not supported\n", 0},
		{A, "set table tb key 0011", "Inserting keys into tables of type other than ip, ipv6, string and integer is not supported\n", 0},

		// arrays print element by element; the runtime API sets and filters their first
		// element (HAProxy 2.6.12)
		{A, "set table arr key 1.1.1.1", "", 0},
		{A, "set table arr key 1.1.1.1 data.gpc 5", "", 0},
		{A, "set table arr key 1.1.1.1 data.gpc0 5", "Data type not stored in this table\n", 0},
		{A, "show table arr", "# table: arr, type: ip, size:10, used:1\n0x…: key=1.1.1.1 use=0 exp=0 gpt0=0 gpt1=0 gpt2=0 gpc0=5 gpc1=0 gpc0_rate(10000)=0 gpc1_rate(10000)=0\n", 0},
		{A, "show table arr data.gpc gt 5", "# table: arr, type: ip, size:10, used:1\n", 0},
		{A, "set table arr key 1.1.1.1 data.gpc_rate 3 data.gpt 4", "", 0},
		{A, "show table arr data.gpc eq 5", "# table: arr, type: ip, size:10, used:1\n" +
			"0x…: key=1.1.1.1 use=0 exp=0 gpt0=4 gpt1=0 gpt2=0 gpc0=5 gpc1=0 gpc0_rate(10000)=3 gpc1_rate(10000)=0\n", 0},
		{A, "clear table arr", "", 0},

		// levels: the summary for everyone, contents and changes from operator up
		{O, "set table ti key 1", "", 0},
		{O, "show table ti", "# table: ti, type: integer, size:100, used:1\n0x…: key=1 use=0 exp=3600000 gpc0=0\n", 0},
		{U, "show table ti", "# table: ti, type: integer, size:100, used:1\n# contents not dumped due to insufficient privileges\n", 0},
		{U, "show table ti data.gpc0 ge 0", "# table: ti, type: integer, size:100, used:1\n# contents not dumped due to insufficient privileges\n", 0},
		{U, "show table ti key 1", "Permission denied\n", 0},
		{U, "show table ti key abc", "Invalid key\n", 0},
		{U, "set table ti key 2", "Permission denied\n", 0},
		{U, "set table ti key", "Key value expected\n", 0},
		{U, "clear table ti key 1", "Permission denied\n", 0},
		{U, "clear table ti", "", 0},
		{U, "set table ti", "", 0},
		{U, "show table", "# table: arr, type: ip, size:10, used:0\n# table: tb, type: binary, size:10, used:0\n# table: ts, type: string, size:2, used:0\n# table: fe, type: ip, size:100, used:0\n# table: ti, type: integer, size:100, used:1\n", 0},
	}
	for _, s := range steps {
		got := Do(src, s.level, s.cmd)
		got = addrRE.ReplaceAllString(got, "0x…:")
		if want := s.want + "\n"; got != want {
			t.Errorf("%s: %q\n got %q\nwant %q", s.level, s.cmd, got, want)
		}
		*now = now.Add(s.after)
	}
}

// TestTableInUse: an entry a session tracks shows its use count and cannot be cleared;
// clearing the whole table leaves it (HAProxy: "Entry currently in use, cannot remove").
func TestTableInUse(t *testing.T) {
	src, tables, now := tableSource(t)
	fe := tables["fe"]
	k, _ := fe.ParseKey("127.0.0.1")
	e := fe.Track(k, *now)
	for _, c := range []struct{ cmd, want string }{
		{"show table fe", "# table: fe, type: ip, size:100, used:1\n0x…: key=127.0.0.1 use=1 exp=30000 server_id=0 gpt0=0 gpc0=0 gpc0_rate(10000)=0 conn_cnt=1 conn_cur=1 http_req_rate(10000)=0 bytes_in_cnt=0 server_key=-\n"},
		{"clear table fe key 127.0.0.1", "Entry currently in use, cannot remove\n"},
		{"clear table fe", ""},
		{"clear table fe data.conn_cur gt 0", ""},
		{"set table fe key 127.0.0.1 data.gpc0 4", ""},
		{"show table fe data.gpc0 eq 4", "# table: fe, type: ip, size:100, used:1\n0x…: key=127.0.0.1 use=1 exp=30000 server_id=0 gpt0=0 gpc0=4 gpc0_rate(10000)=0 conn_cnt=1 conn_cur=1 http_req_rate(10000)=0 bytes_in_cnt=0 server_key=-\n"},
	} {
		got := addrRE.ReplaceAllString(Do(src, LevelAdmin, c.cmd), "0x…:")
		if got != c.want+"\n" {
			t.Errorf("%q:\n got %q\nwant %q", c.cmd, got, c.want+"\n")
		}
	}
	e.Untrack(*now)
	if got := Do(src, LevelAdmin, "clear table fe key 127.0.0.1"); got != "\n" {
		t.Errorf("after untrack: %q", got)
	}
	if fe.Used() != 0 {
		t.Error("not cleared")
	}
}

// TestTableEntryAddressStable: the address printed for an entry stays the same while
// the entry lives and differs between entries.
func TestTableEntryAddressStable(t *testing.T) {
	src, _, _ := tableSource(t)
	Do(src, LevelAdmin, "set table ti key 1;set table ti key 2")
	a := Do(src, LevelAdmin, "show table ti")
	Do(src, LevelAdmin, "set table ti key 1 data.gpc0 9")
	b := Do(src, LevelAdmin, "show table ti")
	addrs := func(s string) []string { return addrRE.FindAllString(s, -1) }
	if len(addrs(a)) != 2 || addrs(a)[0] == addrs(a)[1] || strings.Join(addrs(a), " ") != strings.Join(addrs(b), " ") {
		t.Errorf("addresses %q then %q", addrs(a), addrs(b))
	}
}

// TestSplitWords: words as HAProxy's CLI cuts them (a backslash keeps the next
// character).
func TestSplitWords(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"show  table\tfe", []string{"show", "table", "fe"}},
		{`set table ts key x\ y`, []string{"set", "table", "ts", "key", "x y"}},
		{`a\\b c\`, []string{`a\b`, "c"}},
		{"   ", nil},
	} {
		if got := splitWords(c.in); strings.Join(got, "|") != strings.Join(c.want, "|") || len(got) != len(c.want) {
			t.Errorf("%q: %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzTableCommands: any show|set|clear table command line runs without panicking at
// any level, and the tables stay within their size.
func FuzzTableCommands(f *testing.F) {
	for _, s := range []string{
		"show table ti data.gpc0 gt 0 data.gpc0 lt 10",
		"set table fe key 1.2.3.4 data.gpc0 7 data.http_req_rate 5",
		"clear table ts key a\\ b",
		"set table ti key 4294967295 data.gpc0 -3",
		"show table fe key 300.1.1.1",
		"set table ts",
	} {
		f.Add(s, uint8(LevelAdmin))
	}
	f.Fuzz(func(t *testing.T, line string, level uint8) {
		src, tables, _ := tableSource(t)
		lv := Level(level % 3)
		for _, verb := range []string{"show table ", "set table ", "clear table ", ""} {
			Do(src, lv, verb+line)
		}
		for _, tb := range tables {
			if tb.Used() > tb.Size() || tb.Used() < 0 {
				t.Fatalf("table %s: used %d of %d", tb.Name(), tb.Used(), tb.Size())
			}
		}
	})
}
