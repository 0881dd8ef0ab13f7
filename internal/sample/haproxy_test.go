package sample

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// diffExprs are evaluated by Debian's haproxy (http-request return lf-string) and by
// this package over the same request: the texts must be equal.
var diffExprs = []string{
	"path", "url", "query", "base", "method", "req.ver", "pathq",
	"url_param(q)", "urlp(k)", "url_param(k,;)", "url_param(a,;)", "urlp(nope)", "urlp", "url_param(q,;)",
	"hdr(host)", "hdr(x)", "hdr(x,1)", "hdr(x,2)", "hdr(x,-2)", "hdr(x,9)", "req.fhdr(x)", "req.fhdr(x,1)",
	"req.hdr(user-agent)", "req.fhdr(user-agent)", "hdr_cnt(x)", "req.fhdr_cnt(x)", "hdr_cnt", "hdr_val(x-num)",
	"hdr_ip(x-forwarded-for)", "hdr_ip(x-forwarded-for,1)",
	"req.cook(c)", "req.cook(sid)", "req.cook", "cook(other)", "req.cook_cnt(c)", "req.cook_cnt", "req.cook_val(c)",
	"src", "src,ipmask(24)", "str(2001:db8::1),ipmask(8,48)",
	"hdr(host),lower", "hdr(host),upper", "hdr(host),field(1,.)", "hdr(host),field(-1,.)", "hdr(host),field(2,.,0)",
	"str(a..b.c),field(2,.)", "str(a..b.c),word(2,.)", "str(a..b.c),word(-1,.,2)", "hdr(host),base64", "hdr(host),length",
	"str(a/b/c),regsub(/,_,g)", "str(a/b/c),regsub(/,_)", `str(abcabc),regsub('(b)(c)','<\2\1>',g)`, "str(Abc),regsub(a,x,i)",
	"str(x),concat(<,txn.nope,>)", "int(7),add(3),mul(2),sub(1),div(4),mod(3)", "int(5),neg",
	"hdr(host),lower,map(%[1]s/hosts.map,none)", "hdr(host),map(%[1]s/hosts.map)", "path,map_beg(%[1]s/beg.map)",
	"str(10.1.2.3),map_ip(%[1]s/ip.map)", "str(10.200.0.1),map_ip(%[1]s/ip.map,no)", "str(www.Example.com),map_dom(%[1]s/dom.map,no)",
	"str(/u/42),map_reg(%[1]s/reg.map)", "str(a),map_str_int(%[1]s/num.map),add(1)", "path,map_sub(%[1]s/sub.map,no)",
	"path,map_end(%[1]s/end.map,no)", "str(/a/b/c),map_dir(%[1]s/dir.map,no)",
}

const diffRequest = "POST /p/a.php?q=z&q=y;k=v HTTP/1.1\r\n" +
	"Host: Www.Example.com\r\n" +
	"X: 1, 2\r\n" +
	"X: 3\r\n" +
	"User-Agent: Mozilla/5.0 (X11, Linux)\r\n" +
	"Cookie: c=1; sid = abc ;c=2\r\n" +
	"Cookie: other=x\r\n" +
	"X-Num: 12abc\r\n" +
	"X-Forwarded-For: 10.1.2.3, 2001:db8::1\r\n" +
	"Content-Length: 0\r\n"

var diffFiles = map[string]string{
	"hosts.map": "www.example.com be_www\nwww.example.com dup\n",
	"beg.map":   "/q be_q\n/p be_p\n/p/a be_pa\n/p/a.php\tfull\n",
	"ip.map":    "10.0.0.0/8 ten\n10.1.0.0/16 ten-one\n",
	"dom.map":   "example.com dom\nwww.example.com www\n",
	"reg.map":   "^/u/[0-9]+$ user\n",
	"num.map":   "a 17\n",
	"sub.map":   "a.p ap\n/p/ p\n",
	"end.map":   ".html html\n.php php\na.php aphp\n",
	"dir.map":   "b dirb\n",
}

// haproxyBin is Debian's haproxy: the differential tests skip without it, except under
// CI=true, where scripts/test installs it and its absence must not pass unseen.
func haproxyBin(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("haproxy is needed under CI (apt-get install haproxy): %v", err)
		}
		t.Skip("haproxy not installed")
	}
	return bin
}

// TestExpressionsMatchHAProxy runs every expression of diffExprs through Debian's
// haproxy 2.6 and through Eval over the same request.
func TestExpressionsMatchHAProxy(t *testing.T) {
	bin := haproxyBin(t)
	dir := t.TempDir()
	for n, s := range diffFiles {
		os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend f\n    bind %s\n", addr)
	exprs := make([]string, len(diffExprs))
	for i, e := range diffExprs {
		exprs[i] = strings.ReplaceAll(e, "%[1]s", dir)
		fmt.Fprintf(&cfg, "    http-request return status 200 content-type text/plain lf-string \"[%%[%s]]\" if { req.hdr(x-n) %d }\n", exprs[i], i)
	}
	path := filepath.Join(dir, "h.cfg")
	os.WriteFile(path, []byte(cfg.String()), 0o644)
	cmd := exec.Command(bin, "-db", "-f", path)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i > 200 {
			t.Fatalf("haproxy did not start:\n%s", out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx := &Ctx{Store: NewStore(), ReadFile: os.ReadFile}
	for i, e := range exprs {
		raw := diffRequest + fmt.Sprintf("X-N: %d\r\n", i)
		hb := haproxyBody(t, addr, raw+"Connection: close\r\n\r\n")
		x, err := ParseExpr(e, ctx)
		if err != nil {
			t.Errorf("%s: %v", e, err)
			continue
		}
		txn := newTxn(t, raw+"\r\n")
		txn.src = netip.MustParseAddrPort("127.0.0.1:1")
		v, ok := x.Eval(txn)
		got := "[]"
		if ok {
			got = "[" + string(v.AppendText(nil)) + "]"
		}
		if got != hb {
			t.Errorf("%s: tandem %s, haproxy %s", diffExprs[i], got, hb)
		}
	}
}

func haproxyBody(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, raw)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestACLsMatchHAProxy checks the verdict of every ACL of aclCases that does not depend
// on the client's address or on files against Debian's haproxy 2.6 on the same request.
func TestACLsMatchHAProxy(t *testing.T) {
	bin := haproxyBin(t)
	dir := t.TempDir()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var cases []string
	for _, tc := range aclCases {
		if tc.src != "" || strings.Contains(tc.acl, "-f") || strings.HasPrefix(tc.acl, "src") || strings.HasPrefix(tc.acl, "dst") || strings.HasPrefix(tc.acl, "--") {
			continue
		}
		cases = append(cases, tc.acl)
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\nfrontend f\n    bind %s\n", addr)
	for i, a := range cases {
		fmt.Fprintf(&cfg, "    acl a%d %s\n", i, a)
	}
	var lf strings.Builder
	for i := range cases {
		fmt.Fprintf(&cfg, "    http-request set-var(txn.a%d) int(1) if a%d\n", i, i)
		fmt.Fprintf(&lf, "%%[var(txn.a%d,0)] ", i)
	}
	fmt.Fprintf(&cfg, "    http-request return status 200 content-type text/plain lf-string \"%s\"\n", lf.String())
	path := filepath.Join(dir, "h.cfg")
	os.WriteFile(path, []byte(cfg.String()), 0o644)
	cmd := exec.Command(bin, "-db", "-f", path)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i > 200 {
			t.Fatalf("haproxy did not start:\n%s", out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	verdicts := strings.Fields(haproxyBody(t, addr, strings.TrimSuffix(aclGet, "\r\n")+"Connection: close\r\n\r\n"))
	if len(verdicts) != len(cases) {
		t.Fatalf("%d verdicts from haproxy for %d acls", len(verdicts), len(cases))
	}
	for i, a := range cases {
		acl, err := ParseACL(append([]string{"x"}, strings.Fields(a)...), nil)
		if err != nil {
			t.Errorf("%s: %v", a, err)
			continue
		}
		txn := newTxn(t, aclGet)
		if got, want := acl.Match(txn), verdicts[i] == "1"; got != want {
			t.Errorf("acl %s: tandem %v, haproxy %v", a, got, want)
		}
	}
	t.Logf("%d ACLs agree with haproxy", len(cases))
}
