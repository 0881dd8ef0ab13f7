package sample

import (
	"fmt"
	"strings"
	"testing"
)

var aclFiles = map[string]string{
	"/f/paths.lst":  "# paths\n/admin\n  /private  \n\n",
	"/f/nets.lst":   "10.0.0.0/8\n192.0.2.0/24\n2001:db8::/32\n",
	"/f/hosts.lst":  "www.example.com\nexample.org\n",
	"/f/agents.lst": "curl\nwget\n",
}

func testCtx() *Ctx {
	return &Ctx{Store: NewStore(), ReadFile: func(n string) ([]byte, error) {
		if s, ok := aclFiles[n]; ok {
			return []byte(s), nil
		}
		return nil, errNoFile
	}}
}

const aclGet = "GET /Images/logo.PNG?size=2 HTTP/1.1\r\nHost: www.Example.com:8080\r\nAccept: text/html, image/png\r\nX-Num: 12\r\nX-Num: 7\r\nUser-Agent: curl/8.1\r\n\r\n"

// aclCases are ACLs over aclGet from src (192.0.2.10 when ""); TestACLsMatchHAProxy
// checks the ones without src or -f against Debian's haproxy.
var aclCases = []struct {
	acl  string
	src  string // client address ("" : 192.0.2.10)
	want bool
}{
	// string methods and their derivatives
	{"path /Images/logo.PNG", "", true},
	{"path /images/logo.png", "", false},
	{"path -i /images/logo.png", "", true},
	{"path_beg /Images/", "", true},
	{"path -m beg /Images/", "", true},
	{"path_beg /img/ /Images", "", true},
	{"path_beg -i /IMAGES/", "", true},
	{"path_end .PNG", "", true},
	{"path_end -i .png .jpg", "", true},
	{"path_end .png", "", false},
	{"path_sub logo", "", true},
	{"path_sub -i LOGO", "", true},
	{"path_reg ^/Images/.*\\.PNG$", "", true},
	{"path_reg -i ^/images/", "", true},
	{"path -m reg ^/x", "", false},
	{"path_dir Images", "", true},
	{"path_dir /Images/", "", true},
	{"path_dir logo", "", false},
	{"path_dir logo.PNG", "", true},
	{"path_dom logo", "", true},
	{"path_dom PNG", "", true},
	{"path_dom mages", "", false},
	{"path_len 16", "", true},
	{"path_len gt 100", "", false},
	{"path_len 10:20", "", true},
	{"path -m len ge 16", "", true},
	{"url_beg /Images", "", true},
	{"url /Images/logo.PNG?size=2", "", true},
	{"url_param(size) 2", "", true},
	{"urlp(size) -m int eq 2", "", true},
	{"urlp_val(size) gt 1", "", true},
	{"base www.Example.com:8080/Images/logo.PNG", "", true},
	{"base_beg -i www.example.com", "", true},
	{"query size=2", "", true},
	{"query -m found", "", true},
	{"method GET", "", true},
	{"method POST PUT", "", false},
	{"method -i get", "", false}, // HAProxy: known methods match exactly
	{"method -i propfind", "", false},
	// headers: every value is tried
	{"hdr(host) -i www.example.com:8080", "", true},
	{"hdr_beg(host) -i www.example.", "", true},
	{"hdr_end(host) :8080", "", true},
	{"hdr_dom(host) -i example", "", true},
	{"hdr_dom(host) -i www.example.com", "", true},
	{"hdr_sub(user-agent) curl", "", true},
	{"hdr_reg(user-agent) ^curl/[0-9]", "", true},
	{"hdr(accept) image/png", "", true},
	{"hdr(accept,1) image/png", "", false},
	{"req.fhdr(accept) image/png", "", false},
	{"req.fhdr(accept) -m sub image/png", "", true},
	{"hdr_cnt(accept) 2", "", true},
	{"hdr_cnt(x-num) eq 2", "", true},
	{"hdr_cnt(nope) eq 0", "", true},
	{"hdr_val(x-num) gt 10", "", true},
	{"hdr_val(x-num) lt 5", "", false},
	{"hdr_val(x-num) le 7", "", true},
	{"hdr_val(x-num) ge 13", "", false},
	{"hdr(x-num) -m int 7", "", true},
	{"hdr(nope) -m found", "", false},
	{"hdr(host) -m found", "", true},
	{"hdr(host) -m len 20", "", true},
	{"hdr_len(host) 20", "", true},
	{"req.hdr(user-agent) -f /f/agents.lst -m beg", "", true},
	{"hdr(host),field(1,:),lower -f /f/hosts.lst", "", true},
	{"hdr(host),lower -m beg www.", "", true},
	// addresses
	{"src 192.0.2.10", "", true},
	{"src 192.0.2.0/24", "", true},
	{"src 192.0.2.0/255.255.255.0", "", true},
	{"src 10.0.0.0/8", "", false},
	{"src -f /f/nets.lst", "", true},
	{"src -f /f/nets.lst", "10.200.3.4", true},
	{"src -f /f/nets.lst", "11.0.0.1", false},
	{"src -f /f/nets.lst", "2001:db8:1::1", true},
	{"src -f /f/nets.lst", "2001:db9::1", false},
	{"src -f /f/nets.lst", "::ffff:10.1.1.1", true},
	{"src ::1", "::1", true},
	{"src 127.0.0.1/8 ::1", "127.3.3.3", true},
	{"src_port gt 1024", "", true},
	{"dst_port 8080", "", true},
	{"dst 127.0.0.1", "", true},
	{"hdr_ip(x-forwarded-for) 10.0.0.0/8", "", false},
	// booleans and constants
	{"always_true", "", true},
	{"always_false", "", false},
	{"req.proto_http", "", true},
	{"req.ver 1.1", "", true},
	{"req.len gt 0", "", true},
	{"int(5) -m bool", "", true},
	{"int(0) -m bool", "", false},
	{"str(x) -m found", "", true},
	{"-- path /x", "", false}, // not a flag: the fetch is "--"… refused below
}

func TestACLMatch(t *testing.T) {
	const get = aclGet
	for _, tc := range aclCases {
		if strings.HasPrefix(tc.acl, "--") {
			continue
		}
		words := append([]string{"x"}, strings.Fields(tc.acl)...)
		a, err := ParseACL(words, testCtx())
		if err != nil {
			t.Errorf("acl %s: %v", tc.acl, err)
			continue
		}
		txn := newTxn(t, get)
		if tc.src != "" {
			txn.src = mustAddrPort(tc.src)
		}
		if got := a.Match(txn); got != tc.want {
			t.Errorf("acl %s (src %s) = %v, want %v", tc.acl, txn.src, got, tc.want)
		}
	}
}

func TestACLDoubleDash(t *testing.T) {
	a, err := ParseACL([]string{"x", "path", "-i", "--", "-f"}, testCtx())
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Lists) != 1 || len(a.Lists[0].Entries()) != 1 || a.Lists[0].Entries()[0].Key != "-f" {
		t.Errorf("after --: pattern lists %v, want one list [-f]", a.Lists)
	}
}

func TestACLErrors(t *testing.T) {
	for _, tc := range []struct{ words, want string }{
		{"", "missing name"},
		{"x", "missing fetch"},
		{"x$y path /", "invalid character"},
		{"x nope /", "unknown fetch"},
		{"x path -m foo /", "unknown match method"},
		{"x path -f", "missing argument"},
		{"x path -f /nope.lst", "/nope.lst"},
		{"x src 300.1.1.1", "not an IP address"},
		{"x src www.example.com", "host names are not resolved"},
		{"x hdr_cnt(host) gt x", "needs an integer"},
		{"x hdr_cnt(host) gt", "missing value"},
		{"x path_reg (a)\\1", "backreferences"},
		{"x path_reg (?!a)", "RE2"},
		{"x hdr(host) -m found www", "takes no pattern"},
		{"x path -m bool", "-m bool"},
		{"x ssl_fc_sni_beg www", `unknown fetch method "ssl_fc_sni_beg"`},
		{"x ssl_c_sha1 -m found", "tandem does not support yet: issue 11"},
		{"x path -M", "missing argument"},
		{"x path -u 3 /", "not supported"},
	} {
		_, err := ParseACL(strings.Fields(tc.words), testCtx())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("acl %q: %v, want an error with %q", tc.words, err, tc.want)
		}
	}
}

func TestPredefinedACLs(t *testing.T) {
	for _, tc := range []struct {
		name, req, src string
		want           bool
	}{
		{"TRUE", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "", true},
		{"FALSE", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "", false},
		{"HTTP", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "", true},
		{"HTTP", "", "", false},
		{"HTTP_1.0", "GET / HTTP/1.0\r\n\r\n", "", true},
		{"HTTP_1.0", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "", false},
		{"HTTP_1.1", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "", true},
		{"HTTP_CONTENT", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc", "", true},
		{"HTTP_CONTENT", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", "", false},
		{"HTTP_URL_ABS", "GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", "", true},
		{"HTTP_URL_ABS", "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", "", false},
		{"HTTP_URL_SLASH", "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", "", true},
		{"HTTP_URL_STAR", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", "", true},
		{"HTTP_URL_STAR", "OPTIONS / HTTP/1.1\r\nHost: h\r\n\r\n", "", false},
		{"LOCALHOST", "", "127.0.0.1:1", true},
		{"LOCALHOST", "", "127.9.0.1:1", true},
		{"LOCALHOST", "", "[::1]:1", true},
		{"LOCALHOST", "", "192.0.2.1:1", false},
		{"METH_CONNECT", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "", false}, // http1 refuses CONNECT before rules run
		{"METH_DELETE", "DELETE / HTTP/1.1\r\nHost: h\r\n\r\n", "", true},
		{"METH_GET", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "", true},
		{"METH_GET", "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", "", true},
		{"METH_GET", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", "", false},
		{"METH_HEAD", "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", "", true},
		{"METH_OPTIONS", "OPTIONS / HTTP/1.1\r\nHost: h\r\n\r\n", "", true},
		{"METH_POST", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", "", true},
		{"METH_PUT", "PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", "", true},
		{"METH_TRACE", "TRACE / HTTP/1.1\r\nHost: h\r\n\r\n", "", true},
		{"REQ_CONTENT", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "", true},
		{"REQ_CONTENT", "", "", false},
		{"RDP_COOKIE", "", "", false},
		{"WAIT_END", "", "", false},
	} {
		c, err := ParseCond([]string{"if", tc.name}, NewACLSet(), nil)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		txn := newTxn(t, tc.req)
		if tc.src != "" {
			txn.src = mustAddrPort(tc.src)
		}
		if got := c.Match(txn); got != tc.want {
			t.Errorf("%s over %q from %s = %v, want %v", tc.name, tc.req, txn.src, got, tc.want)
		}
	}
}

func TestConditions(t *testing.T) {
	acls := NewACLSet()
	for _, l := range []string{
		"api path_beg /api",
		"adm path_beg /admin",
		"h_a hdr(host) a.example",
		"h_b hdr(host) b.example",
		"multi path /one",
		"multi path /two", // same name: ORed
		"int_net src 10.0.0.0/8",
	} {
		a, err := ParseACL(strings.Fields(l), nil)
		if err != nil {
			t.Fatal(err)
		}
		acls.Add(a)
	}
	for _, tc := range []struct {
		cond, path, host string
		want             bool
	}{
		{"if api", "/api/x", "a.example", true},
		{"unless api", "/api/x", "a.example", false},
		{"unless api", "/web", "a.example", true},
		{"if api h_a", "/api/x", "a.example", true},
		{"if api h_a", "/api/x", "b.example", false},
		{"if api h_a || adm", "/admin", "c.example", true},
		{"if api h_a or adm", "/admin", "c.example", true},
		{"if !api", "/web", "a.example", true},
		{"if !api !adm", "/admin", "a.example", false},
		{"if h_a || h_b", "/", "b.example", true},
		{"if multi", "/two", "x", true},
		{"if multi", "/three", "x", false},
		{"if { path /exact }", "/exact", "x", true},
		{"if ! { path /exact }", "/exact", "x", false},
		{"if !{ path /exact }", "/x", "x", true},
		{"if ! api", "/api/x", "a.example", false},
		{"if ! api", "/web", "a.example", true},
		{"if !!api", "/api/x", "a.example", true},
		{"if ! ! api", "/api/x", "a.example", true},
		{"if { hdr(host) -i A.EXAMPLE } api", "/api", "a.example", true},
		{"unless h_a || h_b", "/", "c.example", true},
		{"unless h_a || h_b", "/", "a.example", false},
		{"if TRUE", "/", "x", true},
		{"if !int_net { path_beg /admin }", "/admin/x", "x", true},
	} {
		c, err := ParseCond(strings.Fields(tc.cond), acls, nil)
		if err != nil {
			t.Errorf("%s: %v", tc.cond, err)
			continue
		}
		txn := newTxn(t, fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", tc.path, tc.host))
		if got := c.Match(txn); got != tc.want {
			t.Errorf("%s over %s %s = %v, want %v", tc.cond, tc.host, tc.path, got, tc.want)
		}
	}
}

func TestCondErrors(t *testing.T) {
	acls := NewACLSet()
	a, _ := ParseACL([]string{"res_ok", "status", "200"}, nil)
	acls.Add(a)
	for _, tc := range []struct{ cond, want string }{
		{"when x", `expected "if" or "unless"`},
		{"if", "missing condition"},
		{"if nope", `no such ACL : "nope"`},
		{"if || TRUE", "nothing before"},
		{"if TRUE ||", "ends with"},
		{"if { path /x", "missing '}'"},
		{"if { }", "empty anonymous"},
		{"if TRUE }", "without '{'"},
		{"if {path /x }", "needs a space"},
		{"if !", `"!" with no ACL`},
		{"if { nope x }", "unknown fetch"},
		{"if res_ok", "not available here"},
	} {
		_, err := ParseCond(strings.Fields(tc.cond), acls, &Ctx{Where: WhereHTTPRequest})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error with %q", tc.cond, err, tc.want)
		}
	}
}

// TestACLDescribeNamesKeywordAsWritten: `show acl` describes an ACL by its fetch as
// written, an alias included (checked against haproxy 2.6: req.hdr_cnt, req_len and
// cook are printed so, not as hdr_cnt, req.len or req.cook).
func TestACLDescribeNamesKeywordAsWritten(t *testing.T) {
	for _, fetch := range []string{"req.hdr_cnt(host)", "hdr_cnt(host)", "req_len", "cook(x)", "url_param(a)", "shdr(x)", "req_ssl_sni"} {
		a, err := ParseACL([]string{"x", fetch, "1"}, &Ctx{Where: WhereAll})
		if err != nil {
			t.Fatalf("%s: %v", fetch, err)
		}
		a.Describe("a.cfg", 10)
		name, _, _ := strings.Cut(fetch, "(")
		if want := "acl '" + name + "' file 'a.cfg' line 10"; len(a.Lists) != 1 || a.Lists[0].Desc != want {
			t.Errorf("%s: %q, want %q", fetch, a.Lists[0].Desc, want)
		}
	}
}
