package haproxy

import (
	"fmt"
	"strings"
	"tandem/internal/config"
	"testing"
	"time"

	"tandem/internal/rules"
	"tandem/internal/stick"
)

func storeOf(list ...stick.Stored) stick.StoreSet {
	var s stick.StoreSet
	for _, x := range list {
		s.Add(x.Data, x.Period)
	}
	return s
}

// TestStickTableLine: what each `stick-table` line defines, or why it is refused. The
// accepted and refused forms follow `haproxy -c` of Debian's HAProxy 2.6.
func TestStickTableLine(t *testing.T) {
	cases := []struct {
		line    string
		want    stick.Def
		err     string // substring of the error; "" : accepted
		warning string
	}{
		{line: "type ip size 1m expire 30s store http_req_rate(10s),conn_cur",
			want: stick.Def{Type: stick.KeyIP, Size: 1 << 20, Expire: 30 * time.Second, SrvKey: "name",
				Store: storeOf(stick.Stored{Data: stick.HTTPReqRate, Period: 10 * time.Second}, stick.Stored{Data: stick.ConnCur})}},
		{line: "type string len 64 size 100k nopurge store gpc0 store gpc1,gpc1_rate(1m),",
			want: stick.Def{Type: stick.KeyString, KeyLen: 64, Size: 100 << 10, NoPurge: true, SrvKey: "name",
				Store: storeOf(stick.Stored{Data: stick.GPC0}, stick.Stored{Data: stick.GPC1}, stick.Stored{Data: stick.GPC1Rate, Period: time.Minute})}},
		{line: "type string size 10", want: stick.Def{Type: stick.KeyString, KeyLen: 32, Size: 10, SrvKey: "name"}},
		{line: "type binary len 8 size 1m expire 24h srvkey addr store server_id,server_key",
			want: stick.Def{Type: stick.KeyBinary, KeyLen: 8, Size: 1 << 20, Expire: 24 * time.Hour, SrvKey: "addr",
				Store: storeOf(stick.Stored{Data: stick.ServerID}, stick.Stored{Data: stick.ServerKey})}},
		{line: "type ipv6 size 10K expire 0 store", want: stick.Def{Type: stick.KeyIPv6, Size: 10 << 10, SrvKey: "name"}},
		{line: "type ip size 10 type integer size 20", want: stick.Def{Type: stick.KeyInteger, Size: 20, SrvKey: "name"}},
		{line: "type ip size 3000000000", want: stick.Def{Type: stick.KeyIP, Size: 3000000000, SrvKey: "name"}},
		{line: "type ip size 10 store gpc0 store gpc0", want: stick.Def{Type: stick.KeyIP, Size: 10, SrvKey: "name", Store: storeOf(stick.Stored{Data: stick.GPC0})},
			warning: `store option "gpc0" already enabled, ignored`},
		{line: "type ip size 0", err: "missing size"},
		{line: "type ip", err: "missing size"},
		{line: "size 10", err: "missing type"},
		{line: "type ip size 10x", err: `invalid size "10x"`},
		{line: "type ip size 4g", err: "too large"},
		{line: "type ip size -1", err: "invalid size"},
		{line: "type ip size 1.5k", err: "invalid size"},
		{line: "type ip size 10 expire 25d", err: "too large"},
		{line: "type ip size 10 expire 1.5s", err: "expire"},
		{line: "type ip size 10 expire", err: `missing argument after "expire"`},
		{line: "type ip size 10 store foo", err: `unknown store option "foo"`},
		{line: "type ip size 10 store gpc0,,gpc1", err: `unknown store option ""`},
		{line: "type ip size 10 store http_req_rate", err: `missing argument to store option "http_req_rate"`},
		{line: "type ip size 10 store http_req_rate(10s", err: "missing closing parenthesis"},
		{line: "type ip size 10 store http_req_rate(1x)", err: `store option "http_req_rate": period`},
		{line: "type ip size 10 store http_req_rate(0)", err: "at least 1ms"},
		{line: "type ip size 10 store gpc0(5)", err: `unexpected argument to store option "gpc0"`},
		{line: "type ip size 10 store gpc(2),gpc_rate(3,10s),gpt(100),conn_cur",
			want: stick.Def{Type: stick.KeyIP, Size: 10, SrvKey: "name", Store: func() stick.StoreSet {
				var s stick.StoreSet
				s.AddArray(stick.GPC, 2, 0)
				s.AddArray(stick.GPCRate, 3, 10*time.Second)
				s.AddArray(stick.GPT, 100, 0)
				s.Add(stick.ConnCur, 0)
				return s
			}()}},
		{line: "type ip size 10 store gpc(0)", err: `array size is out of allowed range (1-100) for store option "gpc"`},
		{line: "type ip size 10 store gpc(101)", err: "array size is out of allowed range"},
		{line: "type ip size 10 store gpc", err: `missing argument to store option "gpc"`},
		{line: "type ip size 10 store gpc_rate(2)", err: `missing argument to store option "gpc_rate"`},
		{line: "type ip size 10 store gpc_rate(x,10s)", err: "array size is out of allowed range"},
		{line: "type ip size 10 store gpc_rate(2,0)", err: "at least 1ms"},
		{line: "type ip size 10 store gpc(2,3)", err: `unexpected argument "3"`},
		{line: "type ip size 10 store gpc(2),gpc1_rate(1s)", want: stick.Def{Type: stick.KeyIP, Size: 10, SrvKey: "name", Store: func() stick.StoreSet {
			var s stick.StoreSet
			s.AddArray(stick.GPC, 2, 0)
			s.Add(stick.GPC1Rate, time.Second)
			return s
		}()}},
		{line: "type ip size 10 store gpt(2),gpt0", err: "simultaneous usage of 'gpt' and 'gpt0' in a same table is not permitted as 'gpt' overrides 'gpt0'"},
		{line: "type ip size 10 store gpc(2),gpc1", err: "simultaneous usage of 'gpc' and 'gpc[0/1]'"},
		{line: "type ip size 10 store gpc_rate(2,1s),gpc0_rate(1s)", err: "simultaneous usage of 'gpc_rate' and 'gpc[0/1]_rate'"},
		{line: "type string len 0 size 10", err: "invalid len"},
		{line: "type string len size 10", err: "invalid len"},
		{line: "type string size 10 len 5", err: `unknown argument "len"`},
		{line: "type ip len 4 size 10", err: `unknown argument "len"`},
		{line: "type foo size 10", err: `unknown type "foo"`},
		{line: "type integer size 10 srvkey foo", err: "unknown server key type"},
		{line: "type integer size 10 write-to x", err: `unknown argument "write-to"`},
		{line: "type integer size 10 peers p", err: "peers sections are not supported by tandem"},
		{line: "type integer size 10 nopurge foo", err: `unknown argument "foo"`},
	}
	for _, c := range cases {
		def, warns, err := parseStickTable(strings.Fields(c.line))
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: error %v, want one with %q", c.line, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%q: %v", c.line, err)
		case c.err == "" && def != c.want:
			t.Errorf("%q:\n got %+v\nwant %+v", c.line, def, c.want)
		case c.warning != "" && (len(warns) != 1 || warns[0] != c.warning):
			t.Errorf("%q: warnings %q, want %q", c.line, warns, c.warning)
		case c.warning == "" && len(warns) > 0:
			t.Errorf("%q: unexpected warnings %q", c.line, warns)
		}
	}
}

// TestStickTableSections: tables in frontend, listen and backend sections (a backend
// used only as a table included), one name each, refused in defaults, with file:line.
func TestStickTableSections(t *testing.T) {
	cfg := mustParse(t, base+`    server s1 127.0.0.1:80
    stick-table type ip size 100k expire 30s store http_req_rate(10s)
backend per_ip
    stick-table type ip size 1m expire 10m store conn_cur,conn_rate(3s),gpc0
listen both
    bind 127.0.0.1:8081
    stick-table type string len 16 size 10
    server s2 127.0.0.1:81
`, nil)
	var names []string
	for _, st := range cfg.Tables {
		names = append(names, fmt.Sprintf("%s@%d", st.Def.Name, st.Pos.Line))
	}
	if got := strings.Join(names, " "); got != "app@11 per_ip@13 both@16" {
		t.Errorf("tables %q", got)
	}
	if b := cfg.Backend("app"); b.StickTable != cfg.Tables[0] || cfg.Frontend("web").StickTable != nil {
		t.Error("the backend's table")
	}
	if cfg.Backend("per_ip").StickTable.Def.Store.Period(stick.ConnRate) != 3*time.Second {
		t.Error("per_ip conn_rate period")
	}
	if f, b := cfg.Frontend("both"), cfg.Backend("both"); f.StickTable == nil || f.StickTable != b.StickTable {
		t.Error("a listen section's halves share its table")
	}

	for _, c := range []struct{ cfg, want string }{
		{base + "    stick-table type ip size 10\n    stick-table type ip size 20\n",
			`t.cfg:11: backend "app": stick-table: this backend already has a table (line 10)`},
		{"defaults\n    stick-table type ip size 10\n",
			`t.cfg:2: defaults: keyword "stick-table" is not allowed in a defaults section`},
		{base + "    stick-table type ip size 10\nfrontend app\n    bind :1\n    default_backend app\n    stick-table type ip size 10\n",
			`t.cfg:14: frontend "app": stick-table name "app" conflicts with the table declared in backend "app" at t.cfg:10`},
		{base + "    stick-table type ip size 10 store bogus\n",
			`t.cfg:10: backend "app": stick-table: unknown store option "bogus"`},
	} {
		_, err := Parse("t.cfg", []byte(c.cfg), testOptions(nil))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v\nwant %s", err, c.want)
		}
	}
}

// TestStickRulesRefused: stick rules tandem cannot carry out, and track-sc or stick
// rules without a table, are errors naming file:line and the keyword.
func TestStickRulesRefused(t *testing.T) {
	const front = "defaults\n    mode http\nbackend app\n    server s1 127.0.0.1:80\n    stick-table type ip size 10\nfrontend web\n    bind 127.0.0.1:8080\n    default_backend app\n    "
	for _, c := range []struct{ line, keyword string }{
		{"stick on src table nope", `stick table "nope" not found`},
		{"stick match", "missing fetch method"},
		{"stick store-request src table app foo", `unexpected argument "foo"`},
		{"stick on src if", "missing condition"},
		{"http-request track-sc0 src", `"web" has no stick-table`},
		{"http-request track-sc1 src table nope", `stick table "nope" not found`},
		{"http-request deny if { src_conn_rate(nope) gt 1 }", `stick table "nope" not found`},
		{"http-request deny if { src,table_conn_cur(nope) gt 1 }", `stick table "nope" not found`},
		{"tcp-request content track-sc2 src", `"web" has no stick-table`},
	} {
		cfgText := front + c.line + "\n"
		if strings.HasPrefix(c.line, "stick ") {
			cfgText = "defaults\n    mode http\nbackend app\n    server s1 127.0.0.1:80\n    stick-table type ip size 10\n    " + c.line + "\n"
		}
		_, err := Parse("t.cfg", []byte(cfgText), testOptions(nil))
		if err == nil {
			t.Errorf("%q accepted", c.line)
			continue
		}
		line := strings.Count(cfgText, "\n")
		if !strings.Contains(err.Error(), fmt.Sprintf("t.cfg:%d:", line)) || !strings.Contains(err.Error(), c.keyword) {
			t.Errorf("%q: %v (want t.cfg:%d and %s)", c.line, err, line, c.keyword)
		}
	}
}

// TestTrackRulesAccepted: track-sc and the stick-counter fetches load when their table
// exists, and a track-sc without "table" tracks in its proxy's own table.
func TestTrackRulesAccepted(t *testing.T) {
	const head = "defaults\n    mode http\nbackend app\n    server s1 127.0.0.1:80\n    stick-table type ip size 10 store http_req_rate(10s),gpc0\nfrontend web\n    bind 127.0.0.1:8080\n    default_backend app\n    stick-table type ip size 10 store conn_cur\n"
	for _, line := range []string{
		"http-request track-sc1 src table app",
		"http-request track-sc0 src",
		"tcp-request connection track-sc1 src table app",
		"tcp-request connection reject if { src_conn_cur gt 10 }",
		"tcp-request session track-sc2 src",
		"tcp-request content track-sc2 src",
		"http-request deny if { sc_http_req_rate(1,app) gt 1 } || { sc0_conn_cur gt 3 }",
		"http-request sc-inc-gpc0(1)",
		"http-request sc-set-gpt0(0) 7",
		"http-request set-header x-r %[src,table_http_req_rate(app)]",
	} {
		cfg, err := Parse("t.cfg", []byte(head+"    "+line+"\n"), testOptions(nil))
		if err != nil {
			t.Errorf("%q: %v", line, err)
			continue
		}
		f := cfg.Frontend("web")
		for _, l := range []rules.Program{f.Rules.Request, f.TCPRules.Connection, f.TCPRules.Session, f.TCPRules.Content} {
			for _, r := range l {
				if r.Action == rules.TrackSC && r.Table == "" {
					t.Errorf("%q: track-sc without a resolved table", line)
				}
				if r.Action == rules.TrackSC && !strings.Contains(line, "table") && r.Table != "web" {
					t.Errorf("%q: tracks in %q, want the frontend's own table", line, r.Table)
				}
			}
		}
	}
}

// TestStickRulesAccepted: stick rules load in backends with their table (their own by
// default), the table gains server_id and server_key as in HAProxy, and mode tcp refuses what needs
// HTTP or responses.
func TestStickRulesAccepted(t *testing.T) {
	const base = "defaults\n    mode http\nbackend app\n    server s1 127.0.0.1:80\n    stick-table type ip size 10\n"
	cfg, err := Parse("t.cfg", []byte(base+"    stick on src\n    stick match req.hdr(x-id) table app if { path_beg /a }\n    stick store-response res.hdr(x-id)\n"), testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Backend("app")
	if len(b.StickRules) != 3 || b.StickRules[0].Table != "app" || b.StickRules[0].Kind != config.StickOn ||
		b.StickRules[1].Cond == nil || b.StickRules[2].Kind != config.StickStoreResponse {
		t.Fatalf("rules: %+v", b.StickRules)
	}
	if !b.StickTable.Def.Store.Has(stick.ServerID) || !b.StickTable.Def.Store.Has(stick.ServerKey) {
		t.Error("server_id and server_key not added to the table")
	}
	for _, c := range []struct{ text, want string }{
		{"defaults\n    mode tcp\nbackend app\n    server s1 127.0.0.1:80\n    stick-table type ip size 10\n    stick store-response src\n", "store-response in mode tcp"},
		{"defaults\n    mode tcp\nbackend app\n    server s1 127.0.0.1:80\n    stick-table type ip size 10\n    stick on res.hdr(x)\n", "cannot be used here"},
		{"defaults\n    mode http\nbackend app\n    server s1 127.0.0.1:80\n    stick on src\n", `"app" has no stick-table`},
	} {
		_, err := Parse("t.cfg", []byte(c.text), testOptions(nil))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.text, err, c.want)
		}
	}
}

// FuzzStickTable: any `stick-table` line is read without panicking; an accepted one
// defines a usable table and reads back the same from its own rendering.
func FuzzStickTable(f *testing.F) {
	for _, s := range []string{
		"type ip size 1m expire 30s store http_req_rate(10s),conn_cur",
		"type string len 64 size 100k nopurge store gpc0 store gpc1,gpc1_rate(1m),",
		"type binary len 8 size 1m expire 24h srvkey addr store server_id,server_key",
		"type ip size 10 store http_req_rate(10s",
		"type ip size 4g store gpc_rate(2,10s)",
		"type ip size 10 store gpc(2),gpc_rate(3,10s),gpt(100)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		def, _, err := parseStickTable(strings.Fields(line))
		if err != nil {
			return
		}
		if def.Size <= 0 || def.Size > 0xffffffff || (def.Type == stick.KeyString || def.Type == stick.KeyBinary) && def.KeyLen <= 0 {
			t.Fatalf("accepted a bad table: %+v", def)
		}
		again := fmt.Sprintf("type %s", def.Type)
		if def.Type == stick.KeyString || def.Type == stick.KeyBinary {
			again += fmt.Sprintf(" len %d", def.KeyLen)
		}
		again += fmt.Sprintf(" size %d srvkey %s", def.Size, def.SrvKey)
		if def.Expire > 0 {
			again += fmt.Sprintf(" expire %dms", def.Expire.Milliseconds())
		}
		if def.NoPurge {
			again += " nopurge"
		}
		if s := def.Store.String(); s != "" {
			again += " store " + s
		}
		def2, _, err := parseStickTable(strings.Fields(again))
		if err != nil || def2 != def {
			t.Fatalf("%q -> %+v\nrendered %q -> %+v, %v", line, def, again, def2, err)
		}
		tb := stick.New(def, time.Time{})
		if tb.Size() != def.Size {
			t.Fatal("size")
		}
	})
}
