package haproxy

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"tandem/internal/config"
)

func rulesOptions(files map[string]string) Options {
	o := testOptions(nil)
	o.ReadFile = func(path string) ([]byte, error) {
		if s, ok := files[path]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}
	return o
}

const rulesBase = `defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
backend be_a
    server a 127.0.0.1:8001
backend be_b
    server b 127.0.0.1:8002
backend be_default
    server d 127.0.0.1:8003
`

func TestUseBackendRules(t *testing.T) {
	text := rulesBase + `frontend web
    bind 127.0.0.1:8080
    acl host_a hdr(host),lower -f /etc/haproxy/a-hosts.lst
    acl api path_beg /api/ /v2/
    acl api path_end .json
    use_backend be_a if host_a !api
    use_backend be_b unless host_a || { src 10.0.0.0/8 }
    use_backend %[req.hdr(host),lower,map(/etc/haproxy/hosts.map,be_default)] if api
    use_backend be_a
    default_backend be_default
`
	files := map[string]string{
		"/etc/haproxy/a-hosts.lst": "a.example\nwww.a.example\n",
		"/etc/haproxy/hosts.map":   "b.example be_b\n",
	}
	cfg, err := Parse("t.cfg", []byte(text), rulesOptions(files))
	if err != nil {
		t.Fatal(err)
	}
	fe := cfg.Frontend("web")
	ub := fe.UseBackends
	if len(ub) != 4 {
		t.Fatalf("%d use_backend rules, want 4", len(ub))
	}
	for i, want := range []struct {
		be   string
		cond string
		line int
	}{{"be_a", "if host_a !api", 17}, {"be_b", "unless host_a || { src 10.0.0.0/8 }", 18}, {"", "if api", 19}, {"be_a", "", 20}} {
		r := ub[i]
		name := ""
		if r.Backend != nil {
			name = r.Backend.Name
		}
		if name != want.be || r.Cond.String() != want.cond || r.Pos.Line != want.line {
			t.Errorf("rule %d: backend %q cond %q line %d, want %q %q %d", i, name, r.Cond.String(), r.Pos.Line, want.be, want.cond, want.line)
		}
	}
	if ub[2].Name == nil || ub[2].Name.String() != "%[req.hdr(host),lower,map(/etc/haproxy/hosts.map,be_default)]" {
		t.Errorf("dynamic name: %v", ub[2].Name)
	}
	if cfg.Patterns == nil || cfg.Patterns.Lookup("/etc/haproxy/hosts.map") == nil || cfg.Patterns.Lookup("/etc/haproxy/a-hosts.lst") == nil {
		t.Error("pattern files are not in cfg.Patterns")
	}
	if l := cfg.Patterns.Lookup("/etc/haproxy/a-hosts.lst"); l != nil && !strings.Contains(l.Desc, "t.cfg' line 14") {
		t.Errorf("list description %q", l.Desc)
	}
	if len(fe.ACLs.Lookup("api")) != 2 {
		t.Error("acl api: two lines ORed")
	}
}

func TestRulesErrors(t *testing.T) {
	fe := "frontend web\n    bind 127.0.0.1:8080\n    default_backend be_default\n" // lines 12-14
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"unknown acl", fe + "    use_backend be_a if nope\n",
			[]string{`t.cfg:15: frontend "web": use_backend be_a: no such ACL : "nope"`}},
		{"acl used before it is defined", fe + "    use_backend be_a if later\n    acl later src 10.0.0.1\n",
			[]string{`t.cfg:15: frontend "web": use_backend be_a: no such ACL : "later"`}},
		{"a broken acl is reported once", fe + "    acl x nope_fetch 1\n    use_backend be_a if x\n",
			[]string{`t.cfg:15: frontend "web": acl "x": unknown fetch method "nope_fetch"`}},
		{"missing pattern file", fe + "    acl x src -f /etc/haproxy/missing.lst\n",
			[]string{`t.cfg:15: frontend "web": acl "x": cannot read pattern file "/etc/haproxy/missing.lst": file does not exist`}},
		{"missing map file", fe + "    use_backend %[req.hdr(host),map(/etc/haproxy/nope.map)]\n",
			[]string{`t.cfg:15: frontend "web": use_backend: dynamic backend name: log-format "%[req.hdr(host),map(/etc/haproxy/nope.map)]": converter "map": cannot read pattern file "/etc/haproxy/nope.map": file does not exist`}},
		{"backreference", fe + "    acl x path_reg ^/(a)\\1\n",
			[]string{`t.cfg:15: frontend "web": acl "x": regular expression "^/(a)\\1": invalid escape sequence: ` + "`\\1`" + ` (tandem uses Go's RE2 syntax: no backreferences, no lookahead or lookbehind)`}},
		{"tls fetch", fe + "    acl x ssl_c_sha1 -m found\n",
			[]string{`t.cfg:15: frontend "web": acl "x": unknown fetch method "ssl_c_sha1" (or one of HAProxy's TLS fetches that tandem does not support yet: issue 11)`}},
		{"response fetch in use_backend", fe + "    use_backend be_a if { status 200 }\n",
			[]string{`t.cfg:15: frontend "web": use_backend be_a: anonymous acl: fetch "status" cannot be used here: it needs an HTTP response (http-response rules), which this rule set does not have`}},
		{"acl in defaults", "defaults x\n    acl a src 1.2.3.4\n", nil},
		{"redefined predefined acl", fe + "    acl TRUE src 1.2.3.4\n",
			[]string{`t.cfg:15: frontend "web": acl "TRUE": this name is a predefined ACL; choose another name`}},
		{"unknown backend", fe + "    use_backend nope if TRUE\n",
			[]string{`t.cfg:15: frontend "web": use_backend "nope": no such backend`}},
		{"bad word after name", fe + "    use_backend be_a when TRUE\n",
			[]string{`t.cfg:15: frontend "web": use_backend "be_a": unexpected argument "when" (expected "if" or "unless" and a condition)`}},
		{"tcp mode needs http", "frontend t\n    mode tcp\n    bind 127.0.0.1:9000\n    use_backend be_tcp if { path_beg /x }\n    default_backend be_tcp\nbackend be_tcp\n    mode tcp\n    server s 127.0.0.1:1\n",
			[]string{`t.cfg:15: frontend "t": use_backend be_tcp: in mode tcp, tandem routes a connection on connection fetches (src, src_port, dst, dst_port, …) and, after tcp-request content rules (tcp-request inspect-delay), payload and HTTP request fetches; this rule needs an HTTP request`}},
		{"tcp mode payload needs content rules", "frontend t\n    mode tcp\n    bind 127.0.0.1:9000\n    use_backend be_tcp if { req.len gt 3 }\n    default_backend be_tcp\nbackend be_tcp\n    mode tcp\n    server s 127.0.0.1:1\n",
			[]string{`t.cfg:15: frontend "t": use_backend be_tcp: in mode tcp, tandem routes a connection on connection fetches (src, src_port, dst, dst_port, …) and, after tcp-request content rules (tcp-request inspect-delay), payload and HTTP request fetches; this rule needs request contents (tcp-request content or later)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.cfg", []byte(rulesBase+tc.text), rulesOptions(nil))
			if tc.want == nil {
				var list config.ErrorList
				if !errors.As(err, &list) || len(list) == 0 || !strings.Contains(list[0].Error(), "acl") {
					t.Fatalf("acl in defaults: %v", err)
				}
				return
			}
			checkErrors(t, err, tc.want)
		})
	}
}

// TestTCPUseBackend: connection fetches are fine in mode tcp.
func TestTCPUseBackend(t *testing.T) {
	text := rulesBase + "frontend t\n    mode tcp\n    bind 127.0.0.1:9000\n    acl lan src 10.0.0.0/8\n    use_backend be_tcp_a if lan { dst_port 9000 }\n    default_backend be_tcp_b\nbackend be_tcp_a\n    mode tcp\n    server s 127.0.0.1:1\nbackend be_tcp_b\n    mode tcp\n    server s 127.0.0.1:2\n"
	cfg, err := Parse("t.cfg", []byte(text), rulesOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	if ub := cfg.Frontend("t").UseBackends; len(ub) != 1 || ub[0].Cond == nil || ub[0].Backend.Name != "be_tcp_a" {
		t.Fatalf("rules %+v", ub)
	}
}

// TestShowACLLists: the pattern lists of a configuration, numbered and described as
// HAProxy 2.6's `show acl` and `show map` print them (checked against haproxy: a -f file
// first, then the ACL's own list, even empty).
func TestShowACLLists(t *testing.T) {
	text := rulesBase + `frontend f
    bind :80
    acl bad src -f /x/nets.lst
    acl api path_beg /api /v2
    use_backend %[req.hdr(host),map(/x/hosts.map,be_a)] if !bad
    use_backend be_b if { hdr(x) -m found }
    default_backend be_a
`
	cfg, err := Parse("m.cfg", []byte(text), rulesOptions(map[string]string{
		"/x/nets.lst": "10.0.0.0/8\n192.0.2.1\n", "/x/hosts.map": "a.example be_a\nb.example be_b\n"}))
	if err != nil {
		t.Fatal(err)
	}
	wantACL := `# id (file) description
0 (/x/nets.lst) pattern loaded from file '/x/nets.lst' used by acl at file 'm.cfg' line 14. curr_ver=0 next_ver=0 entry_cnt=2
1 () acl 'src' file 'm.cfg' line 14. curr_ver=0 next_ver=0 entry_cnt=0
2 () acl 'path_beg' file 'm.cfg' line 15. curr_ver=0 next_ver=0 entry_cnt=2
4 () acl 'hdr' file 'm.cfg' line 17. curr_ver=0 next_ver=0 entry_cnt=0
`
	if got := string(cfg.Patterns.AppendShowLists(nil, false)); got != wantACL {
		t.Errorf("show acl:\n%s\nwant:\n%s", got, wantACL)
	}
	wantMap := `# id (file) description
3 (/x/hosts.map) pattern loaded from file '/x/hosts.map' used by map at file 'm.cfg' line 16. curr_ver=0 next_ver=0 entry_cnt=2
`
	if got := string(cfg.Patterns.AppendShowLists(nil, true)); got != wantMap {
		t.Errorf("show map:\n%s\nwant:\n%s", got, wantMap)
	}
}

func TestSampleRefs(t *testing.T) {
	fe := "frontend web\n    bind 127.0.0.1:8080\n    default_backend be_default\n" // lines 12-14
	ok := fe + "    acl up srv_is_up(be_a/a)\n    acl n nbsrv(be_later) gt 0\n    use_backend be_b if up n || { be_conn(be_b) gt 3 } { fe_conn(web) lt 9 }\nbackend be_later\n    server l 127.0.0.1:9\n"
	if _, err := Parse("t.cfg", []byte(rulesBase+ok), rulesOptions(nil)); err != nil {
		t.Fatalf("valid references: %v", err)
	}
	bad := fe + "    acl x nbsrv(nope) gt 0\n    acl y srv_is_up(be_a/nope)\n    use_backend be_b if x || y || { be_conn(gone) gt 1 } || { srv_conn(ghost/s) gt 1 } || { fe_conn(nofe) gt 1 }\n"
	_, err := Parse("t.cfg", []byte(rulesBase+bad), rulesOptions(nil))
	checkErrors(t, err, []string{
		`t.cfg:15: frontend "web": nbsrv(nope): no such backend "nope"`,
		`t.cfg:16: frontend "web": srv_is_up: no server "nope" in backend "be_a"`,
		`t.cfg:17: frontend "web": be_conn(gone): no such backend "gone"`,
		`t.cfg:17: frontend "web": srv_conn(ghost/s): no such backend "ghost"`,
		`t.cfg:17: frontend "web": fe_conn(nofe): no such frontend "nofe"`,
	})
}
