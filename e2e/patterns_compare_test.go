package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// patternsCompareConfig: ACL pattern files, inline ACLs, maps read by several
// converters, and routing by an ACL file (src -f) and by a map (dynamic use_backend,
// last so that both proxies number its list alike: HAProxy reads it after the section).
const patternsCompareConfig = `global
    stats socket %[1]s mode 600 level admin
    stats socket %[1]s-user mode 600 level user
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind %[2]s
    acl blocked src -f %[3]s/block.lst
    acl rx path_reg -f %[3]s/re.lst
    acl inl path_beg /x /y
    acl ic req.hdr(y) -i Foo BAR
    acl n hdr_cnt(x) -f %[3]s/int.lst
    use_backend be_block if blocked
    use_backend be_x if inl || rx || ic || n
    use_backend be_x if { req.hdr(x-beg),map_beg(%[3]s/hosts.map) -m found }
    use_backend be_x if { req.hdr(x-int),map_str_int(%[3]s/int.map) -m int 1 }
    use_backend %%[req.hdr(host),lower,map(%[3]s/hosts.map,be_default)]
    default_backend be_default
backend be_default
    server s %[4]s
backend be_a
    server s %[5]s
backend be_b
    server s %[6]s
backend be_block
    server s %[7]s
backend be_x
    server s %[8]s
`

var (
	patEntryRE = regexp.MustCompile(`(?m)^0x[0-9a-f]+ `)
	patRefRE   = regexp.MustCompile(`\{ref:([^:}]+):([^}]+)\}`)
	patCfgRE   = regexp.MustCompile(`file '[^']*/haproxy.cfg'`)
)

// maskPatterns hides what differs by nature: entry addresses (HAProxy prints
// pointers), the configuration's path (each proxy has its own) and the two ACLs of HAProxy's internal httpclient proxy.
func maskPatterns(s string) string {
	s = patEntryRE.ReplaceAllString(s, "ID ")
	s = patCfgRE.ReplaceAllString(s, "file 'CFG'")
	var out []string
	for _, l := range strings.SplitAfter(s, "\n") {
		if !strings.Contains(l, "file 'httpclient' line 0") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// resolveRefs replaces {ref:LIST:KEY} by "#0x…", the id of KEY's first entry in LIST
// as this proxy's `show acl|map LIST` prints it.
func resolveRefs(t *testing.T, sock, cmd string) string {
	return patRefRE.ReplaceAllStringFunc(cmd, func(m string) string {
		p := patRefRE.FindStringSubmatch(m)
		for _, kind := range []string{"acl", "map"} {
			for _, l := range strings.Split(ask(t, sock, "show "+kind+" "+p[1]), "\n") {
				f := strings.Fields(l)
				if len(f) >= 2 && f[1] == p[2] && strings.HasPrefix(f[0], "0x") {
					return "#" + f[0]
				}
			}
		}
		t.Fatalf("%s: no entry %q in %s", sock, p[2], p[1])
		return ""
	})
}

// TestPatternCommandsMatchHAProxy runs Debian's haproxy 2.6 and tandem on the same
// configuration and pattern files. Changes made on the stats socket (add/del acl, set
// map) change the backend the next request reaches, the same way through both; then
// the same show|get|add|del|set|clear acl|map commands give the same outputs and error
// texts (entry ids masked; each proxy's own ids are used where a command names one).
func TestPatternCommandsMatchHAProxy(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"block.lst": "10.0.0.0/8\n192.168.1.1\n# comment\n\n  127.0.0.2\n",
		"re.lst":    "^/api/ x\n/img$\n",
		"int.lst":   "5\n",
		"hosts.map": "a.example be_a\nb.example   be_b\n# c\nc.example be_x extra words\n",
		"int.map":   "a 1\n",
	}
	for n, s := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	webs := []*web{startWeb(t, "default"), startWeb(t, "a"), startWeb(t, "b"), startWeb(t, "block"), startWeb(t, "x")}
	conf := func(sock, front string) string {
		return fmt.Sprintf(patternsCompareConfig, sock, front, dir, webs[0].addr, webs[1].addr, webs[2].addr, webs[3].addr, webs[4].addr)
	}
	hsock, tsock := filepath.Join(dir, "h.sock"), filepath.Join(dir, "t.sock")
	hfront, tfront := freeAddr(t), freeAddr(t)
	startHAProxy(t, conf(hsock, hfront), hsock)
	startTandem(t, conf(tsock, tfront), tfront)
	block, hosts := dir+"/block.lst", dir+"/hosts.map"

	// The decision of the next request follows the socket.
	for _, step := range []struct{ cmd, host, want string }{
		{"", "a.example", "a"},
		{"", "B.example", "b"},
		{"", "nowhere.example", "default"},
		{"add acl " + block + " 127.0.0.1", "a.example", "block"},
		{"del acl " + block + " 127.0.0.1", "a.example", "a"},
		{"add acl #0 127.0.0.0/8", "b.example", "block"},
		{"del acl #0 {ref:#0:127.0.0.0/8}", "b.example", "b"},
		{"set map " + hosts + " a.example be_b", "a.example", "b"},
		{"add map " + hosts + " new.example be_a", "new.example", "a"},
		{"del map " + hosts + " new.example", "new.example", "default"},
		{"set map " + hosts + " {ref:" + hosts + ":a.example} be_a", "a.example", "a"},
		{"clear map " + hosts, "a.example", "default"},
		{"add map " + hosts + " a.example be_a;add map " + hosts + " b.example be_b;add map " + hosts + " c.example be_x", "a.example", "a"},
	} {
		if step.cmd != "" {
			h, tn := ask(t, hsock, resolveRefs(t, hsock, step.cmd)), ask(t, tsock, resolveRefs(t, tsock, step.cmd))
			if h != tn {
				t.Errorf("%q: haproxy %q, tandem %q", step.cmd, h, tn)
			}
		}
		req := "GET / HTTP/1.1\r\nHost: " + step.host + "\r\n"
		hs, hb := rawRequest(t, hfront, req)
		ts, tb := rawRequest(t, tfront, req)
		if hb != step.want || tb != step.want || hs != ts {
			t.Errorf("after %q, Host %s: haproxy %d %q, tandem %d %q, want %q", step.cmd, step.host, hs, hb, ts, tb, step.want)
		}
	}

	d := func(s string) string { return strings.ReplaceAll(s, "{d}", dir) }
	for _, c := range []struct {
		user bool
		cmd  string
	}{
		{false, "show acl"},
		{false, "show map"},
		{false, "show acl #0"},
		{false, d("show acl {d}/block.lst")},
		{false, d("show map {d}/hosts.map")},
		{false, d("show acl {d}/hosts.map")},
		{false, "show map #0"},
		{false, "show acl nosuch;show map nosuch;show acl #99;show map #-1"},
		{false, "show acl #;show acl #02;show acl #2x;show acl #abc;show acl #4 extra"},
		{false, "get acl #0 10.1.2.3;get acl #0 1.1.1.1;get acl #0 notip;get acl #0 127.0.0.2"},
		{false, "get acl #2 /api/x;get acl #2 /api/;get acl #4 /xyz;get acl #4 /"},
		{false, "get acl #5 foo;get acl #5 FOO;get acl #5 baz"},
		{false, d("get acl {d}/int.lst 5;get acl {d}/int.lst 6;get acl {d}/int.lst x")},
		{false, d("get map {d}/hosts.map a.example;get map {d}/hosts.map A.example;get map {d}/hosts.map zz;get acl {d}/hosts.map b.example")},
		{false, d("get map {d}/int.map a;get map #0 10.1.2.3")},
		{false, "get acl;get acl #0;get map;get map #9;get acl nosuch x;get map nosuch x"},
		{false, "add acl #0 1.1.1.0/24;add acl #0 notanip;add acl #0;add acl"},
		{false, d("add acl #9 foo;add acl #8 foo;add acl {d}/hosts.map foo;add acl #1 2.2.2.2;add acl #4 /z a b")},
		{false, "show acl"},
		{false, "show acl #0;show acl #1;show acl #4;get acl #0 1.1.1.5"},
		{false, "add acl #0 1.1.1.0/24;show acl #0;del acl #0 1.1.1.0/24;show acl #0"},
		{false, "del acl #0 9.9.9.9;del acl #0;del acl;del acl nosuch x;del acl #0 #0xzz;del acl #0 #0x;del acl #0 #zz"},
		{false, d("del acl {d}/hosts.map a.example;del acl #0 {ref:#0:192.168.1.1};show acl #0")},
		{false, d("add acl {d}/int.lst abc;add acl {d}/int.lst 3:9;get acl {d}/int.lst 4;add acl #5 Baz;get acl #5 BAZ")},
		{false, "show acl"},
		{false, d("add map {d}/hosts.map d.example be_a;add map {d}/hosts.map d.example;del map {d}/hosts.map d.example")},
		{false, d("set map {d}/hosts.map zz be_x;set map {d}/hosts.map;set map {d}/hosts.map a.example;set map nosuch a b;add map nosuch a b")},
		{false, "add map #0 9.9.9.9 val;show acl #0;get map #0 9.9.9.9;get acl #0 9.9.9.9;set map #0 10.0.0.0/8 b;show acl #0"},
		{false, "del map #0 x;clear map #0;clear acl #9;clear acl;clear map;add map;add map #9;del map #9;del map;del map #9 zz"},
		{false, d("add map {d}/int.map b notint;set map {d}/int.map a notint;get map {d}/int.map a;add map #11 y notnum")},
		{false, d("add map {d}/hosts.map e.example v1;add map {d}/hosts.map e.example v2;set map {d}/hosts.map e.example v3;show map {d}/hosts.map;get map {d}/hosts.map e.example")},
		{false, d("set map {d}/hosts.map #0xzz q;set map {d}/hosts.map #zz q;set map {d}/hosts.map #0x q;del map {d}/hosts.map #0x1")},
		{false, d("set map {d}/hosts.map {ref:{d}/hosts.map:b.example} be_x;show map {d}/hosts.map")},
		{false, "show map"},
		{false, "show acl @0 #4;show acl @1 #4;show acl @x #4;show acl @ #4;add acl @5 #4 x;add acl @0 #4 /w;show acl #4"},
		{false, "clear acl @3 #4;show acl #4;clear acl @x #4;show acl #4;clear acl @0"},
		{false, "commit acl @1 #4;commit acl #4;commit acl;commit acl @1;commit acl @1 nosuch;commit map @0 #9;show map @0;show acl @1"},
		{false, "add acl #1 3.3.3.3;clear acl #1;show acl;add acl #1 4.4.4.4;del acl #1 4.4.4.4;show acl"},
		{true, "show acl;show acl #4;add acl #4 /q;del acl #4 /q;clear acl #3;get acl #4 /x"},
		{true, d("add map {d}/hosts.map q r;set map {d}/hosts.map q s;get map {d}/hosts.map q;del map {d}/hosts.map q;clear map {d}/int.map;show map")},
	} {
		hs, ts := hsock, tsock
		if c.user {
			hs, ts = hsock+"-user", tsock+"-user"
		}
		h, tn := ask(t, hs, resolveRefs(t, hs, c.cmd)), ask(t, ts, resolveRefs(t, ts, c.cmd))
		if maskPatterns(h) != maskPatterns(tn) {
			t.Errorf("%q:\nhaproxy %q\ntandem  %q", c.cmd, maskPatterns(h), maskPatterns(tn))
		}
	}
}
