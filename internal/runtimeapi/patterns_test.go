package runtimeapi

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/config/haproxy"
	"tandem/internal/proxystats"
	"tandem/internal/stats"
)

const patternsCfg = `defaults
    mode http
frontend web
    bind 127.0.0.1:8080
    acl blocked src -f /p/block.lst
    acl rx path_reg -f /p/re.lst
    acl inl path_beg /x /y
    use_backend be_b if blocked
    use_backend be_c if { req.hdr(x),map_beg(/p/hosts.map) -m found }
    use_backend %[req.hdr(host),lower,map(/p/hosts.map,be_default)]
    default_backend be_default
backend be_default
backend be_a
backend be_b
backend be_c
`

// patternSource is a Source over a fresh parse of patternsCfg.
func patternSource(t testing.TB) *stats.Source {
	t.Helper()
	files := map[string]string{
		"/p/block.lst": "10.0.0.0/8\n192.168.1.1\n# comment\n\n  127.0.0.2\n",
		"/p/re.lst":    "^/api/ x\n/img$\n",
		"/p/hosts.map": "a.example be_a\nb.example   be_b\n# c\nc.example be_c extra words\n",
	}
	cfg, err := haproxy.Parse("h.cfg", []byte(patternsCfg), haproxy.Options{ReadFile: func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}})
	if err != nil {
		t.Fatal(err)
	}
	return &stats.Source{
		Config:    func() *config.Config { return cfg },
		Pools:     func() map[string]*backend.Pool { return nil },
		Frontends: proxystats.NewRegistry(),
	}
}

var patIDRE = regexp.MustCompile(`(?m)^0x[0-9a-f]+ `)

// TestPatternCommands: the acl and map commands answer as Debian's haproxy 2.6 did on
// the same lists (recorded by hand on a configuration of this shape; the e2e test
// TestPatternCommandsMatchHAProxy compares live). Entry ids are masked, and HAProxy's
// `show acl` also lists the two ACLs of its internal httpclient proxy. Every command
// works at level user.
func TestPatternCommands(t *testing.T) {
	src := patternSource(t)
	for _, c := range []struct{ cmd, want string }{
		{"show acl", "# id (file) description\n" +
			"0 (/p/block.lst) pattern loaded from file '/p/block.lst' used by acl at file 'h.cfg' line 5. curr_ver=0 next_ver=0 entry_cnt=3\n" +
			"1 () acl 'src' file 'h.cfg' line 5. curr_ver=0 next_ver=0 entry_cnt=0\n" +
			"2 (/p/re.lst) pattern loaded from file '/p/re.lst' used by acl at file 'h.cfg' line 6. curr_ver=0 next_ver=0 entry_cnt=2\n" +
			"3 () acl 'path_reg' file 'h.cfg' line 6. curr_ver=0 next_ver=0 entry_cnt=0\n" +
			"4 () acl 'path_beg' file 'h.cfg' line 7. curr_ver=0 next_ver=0 entry_cnt=2\n" +
			"6 () acl 'req.hdr' file 'h.cfg' line 9. curr_ver=0 next_ver=0 entry_cnt=0\n\n"},
		{"show map", "# id (file) description\n" +
			"5 (/p/hosts.map) pattern loaded from file '/p/hosts.map' used by map at file 'h.cfg' line 9, by map at file 'h.cfg' line 10. curr_ver=0 next_ver=0 entry_cnt=6\n\n"},
		{"show acl #0", "ID 10.0.0.0/8\nID 192.168.1.1\nID 127.0.0.2\n\n"},
		{"show map /p/hosts.map", "ID a.example be_a\nID b.example be_b\nID c.example be_c extra words\n\n"},
		{"show acl /p/hosts.map", "Unknown ACL identifier. Please use #<id> or <file>.\n\n"},
		{"show map #0", "Unknown map identifier. Please use #<id> or <file>.\n\n"},
		{"show acl #2", "ID ^/api/ x\nID /img$\n\n"},
		{"get acl #0 10.1.2.3", "type=ip, case=sensitive, match=yes, idx=tree, pattern=\"10.0.0.0/8\"\n\n"},
		{"get acl #0 1.1.1.1", "type=ip, case=sensitive, match=no\n\n"},
		{"get acl #2 /api/x", "type=reg, case=sensitive, match=no\n\n"},
		{"get acl #4 /xyz", "type=beg, case=sensitive, match=yes, idx=tree, pattern=\"/x\"\n\n"},
		{"get map #5 a.example", "type=beg, case=sensitive, found=yes, idx=tree, key=\"a.example\", value=\"be_a\", type=\"str\"\n" +
			"type=str, case=sensitive, found=yes, idx=tree, key=\"a.example\", value=\"be_a\", type=\"str\"\n\n"},
		{"get map #5 A.example", "type=beg, case=sensitive, found=no\ntype=str, case=sensitive, found=no\n\n"},
		{"get acl #5 a.example", "type=beg, case=sensitive, match=yes, idx=tree, pattern=\"a.example\"\n" +
			"type=str, case=sensitive, match=yes, idx=tree, pattern=\"a.example\"\n\n"},
		{"get map #0 1.2.3.4", "type=ip, case=sensitive, found=no\n\n"},
		{"get acl;get acl #0;get map;get map #5", "Missing ACL identifier and/or key.\n\nMissing ACL identifier and/or key.\n\nMissing map identifier and/or key.\n\nMissing map identifier and/or key.\n\n"},
		{"get acl nosuch x;get map nosuch x", "Unknown ACL identifier. Please use #<id> or <file>.\n\nUnknown map identifier. Please use #<id> or <file>.\n\n"},
		{"add acl #0 1.1.1.0/24;add acl #0 notanip;add acl #0;add acl", "\n'notanip' is not a valid IPv4 or IPv6 address.\n\n" +
			"'add acl' expects two parameters: ACL identifier and pattern.\n\n'add acl' expects two parameters: ACL identifier and pattern.\n\n"},
		{"add acl #5 foo", "This ACL is shared with a map containing samples. You must use the command 'add map' to add values.\n\n"},
		{"add acl #1 2.2.2.2;show acl #1", "\nID 2.2.2.2\n\n"},
		{"del acl #0 1.1.1.0/24;del acl #0 9.9.9.9;del acl #0;del acl #0 #0x1234;del acl #5 a.example", "\nKey not found.\n\n" +
			"This command expects two parameters: ACL identifier and key.\n\nKey not found.\n\nUnknown map identifier. Please use #<id> or <file>.\n\n"},
		{"add map #5 d.example be_a;add map #5 d.example;del map #5 d.example", "\n'add map' expects three parameters (map identifier, key and value) or one parameter (map identifier) and a payload\n\n\n"},
		{"set map #5 a.example be_c;set map #5 zz be_c;set map #5 a.example;set map #5 #0xzz q;set map #5 #zz q", "\nentry not found.\n\n" +
			"'set map' expects three parameters: map identifier, key and value.\n\nMalformed identifier. Please use #<id> or <file>.\n\nentry not found.\n\n"},
		{"set map nosuch a b;add map nosuch a b;add map #0 a b", "Unknown map identifier. Please use #<id> or <file>.\n\n" +
			"Unknown map identifier. Please use #<id> or <file>.\n\n'a' is not a valid IPv4 or IPv6 address.\n\n"},
		{"del map #0 10.0.0.0/8;clear map #0;clear acl #5;clear acl;clear map", "Unknown map identifier. Please use #<id> or <file>.\n\n" +
			"Unknown map identifier. Please use #<id> or <file>.\n\nUnknown ACL identifier. Please use #<id> or <file>.\n\nMissing ACL identifier.\n\nMissing map identifier.\n\n"},
		{"add map #0 9.9.9.9 val;show acl #0", "\nID 10.0.0.0/8\nID 192.168.1.1\nID 127.0.0.2\nID 9.9.9.9 val\n\n"},
		{"get map #0 9.9.9.9", "type=ip, case=sensitive, found=yes, idx=tree, key=\"9.9.9.9\", value=none\n\n"},
		{"show acl #;show acl #2x;show acl #02", "ID 10.0.0.0/8\nID 192.168.1.1\nID 127.0.0.2\nID 9.9.9.9 val\n\n" +
			"Unknown ACL identifier. Please use #<id> or <file>.\n\nID ^/api/ x\nID /img$\n\n"},
		{"add acl @5 #4 x;add acl @0 #4 /z;show acl @1 #4;show acl @x #4", "Version number in the future, please use 'prepare acl' before.\n\n\n\nID /x\nID /y\nID /z\n\n"},
		{"commit acl @1 #4;commit acl #4;commit acl @1;prepare acl", "Version number out of range.\n\nMissing version number.\n\nMissing ACL identifier.\n\n" +
			"Unknown ACL identifier. Please use #<id> or <file>.\n\n"},
		{"clear acl #1;add acl #1 bad;show acl #1", "\n'bad' is not a valid IPv4 or IPv6 address.\n\n\n"},
	} {
		got := patIDRE.ReplaceAllString(Do(src, LevelUser, c.cmd), "ID ")
		if got != c.want {
			t.Errorf("%q:\n got %q\nwant %q", c.cmd, got, c.want)
		}
	}
	// HAProxy's entry_cnt: +1 per use an entry is indexed in, -1 per entry deleted,
	// -1 for a refused add; it wraps below zero.
	if got := Do(src, LevelUser, "show acl"); !strings.Contains(got, "\n1 () acl 'src' file 'h.cfg' line 5. curr_ver=0 next_ver=0 entry_cnt=18446744073709551615\n") {
		t.Errorf("entry_cnt after clear and a refused add:\n%s", got)
	}
	// A map payload is refused, whether it came (a line ending with "<<", then lines)
	// or the line was cut short; nothing is added.
	for _, cmd := range []string{"add map #5 <<\nk1 v1\nk2 v2\n", "add map #5 k0 <<"} {
		if got := Do(src, LevelUser, cmd); got != msgPayload+"\n" {
			t.Errorf("%q: got %q, want %q", cmd, got, msgPayload+"\n")
		}
	}
	if got := Do(src, LevelUser, "show map #5"); strings.Contains(got, "k1") || strings.Contains(got, "k0") {
		t.Errorf("a refused payload was added:\n%s", got)
	}
	if got := Do(src, LevelUser, "prepare acl #4"); !strings.HasPrefix(got, "tandem does not support 'prepare acl'") {
		t.Errorf("prepare acl: %q", got)
	}
}
