package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rulesCompareConfig is the configuration both proxies run: ACLs of every fetch and match
// family this issue builds, use_backend rules in order, dynamic names from a map.
const rulesCompareConfig = `global
    stats socket %[1]s mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind %[2]s
    acl host_b       hdr(host),field(1,:) -i b.example www.b.example
    acl host_dom     hdr_dom(host) -i c.example
    acl host_beg     hdr_beg(host) -i shop.
    acl host_end     hdr_end(host) -i .internal
    acl api          path_beg /api/ /v2/
    acl api_json     path_end .json
    acl admin        path_beg -i /ADMIN
    acl img          path_sub -i /img/
    acl num          path_reg ^/item/[0-9]+$
    acl dir_x        path_dir xdir
    acl dom_z        path_dom z
    acl long         path_len gt 20
    acl q_debug      url_param(debug) -m found
    acl q_page       urlp(page) -m int ge 5
    acl has_query    query -m found
    acl post         method POST
    acl beta         req.cook(beta) 1
    acl many_xff     hdr_cnt(x-forwarded-for) gt 1
    acl big_len      hdr_val(x-len) ge 100
    acl from_list    hdr_ip(x-client) -f %[3]s/nets.lst
    acl ua_bot       hdr_sub(user-agent) -i bot
    acl ua_reg       hdr_reg(user-agent) ^curl/[0-9]
    acl lang         req.fhdr(accept-language) -m beg fr
    acl accept_json  hdr(accept) application/json
    acl blocked_path path -f %[3]s/paths.lst
    acl local        src 127.0.0.0/8
    use_backend be_b      if host_b
    use_backend be_map    if { req.hdr(x-tenant) -m found } { req.hdr(x-tenant),lower,map(%[3]s/tenants.map) -m found }
    use_backend %%[req.hdr(x-tenant),lower,map(%[3]s/tenants.map,be_default)] if { req.hdr(x-tenant) -m found }
    use_backend be_api    if api !api_json || num
    use_backend be_static if img || dir_x || dom_z
    use_backend be_b      if host_dom || host_beg || host_end
    use_backend be_api    if admin local
    use_backend be_static if q_debug || q_page
    use_backend be_b      if post beta
    use_backend be_api    if many_xff || big_len
    use_backend be_static if from_list
    use_backend be_b      if ua_bot !ua_reg
    use_backend be_api    if ua_reg
    use_backend be_static if lang || accept_json
    use_backend be_b      if blocked_path
    use_backend be_api    if long has_query
    use_backend be_static if METH_PUT || HTTP_1.0
    use_backend be_b      if HTTP_URL_ABS
    use_backend be_api    if { hdr(x-multi) two }
    use_backend be_static if !{ hdr(x-none) -m found } { req.hdr(x-neg) -m len 3 }
    default_backend be_default
backend be_default
    server def %[4]s
backend be_b
    server b %[5]s
backend be_api
    server api %[6]s
backend be_static
    server static %[7]s
backend be_map
    server map %[8]s
`

// rulesRequests are the requests both proxies get: each line is a raw request head.
var rulesRequests = []string{
	"GET / HTTP/1.1\r\nHost: a.example\r\n",
	"GET / HTTP/1.1\r\nHost: b.example\r\n",
	"GET / HTTP/1.1\r\nHost: B.EXAMPLE:8080\r\n",
	"GET / HTTP/1.1\r\nHost: www.b.example\r\n",
	"GET / HTTP/1.1\r\nHost: x.b.example\r\n",
	"GET / HTTP/1.1\r\nHost: www.c.example\r\n",
	"GET / HTTP/1.1\r\nHost: c.example.org\r\n",
	"GET / HTTP/1.1\r\nHost: shop.a.example\r\n",
	"GET / HTTP/1.1\r\nHost: db.internal\r\n",
	"GET /api/users HTTP/1.1\r\nHost: a.example\r\n",
	"GET /api/users.json HTTP/1.1\r\nHost: a.example\r\n",
	"GET /v2/x HTTP/1.1\r\nHost: a.example\r\n",
	"GET /apix HTTP/1.1\r\nHost: a.example\r\n",
	"GET /item/42 HTTP/1.1\r\nHost: a.example\r\n",
	"GET /item/42x HTTP/1.1\r\nHost: a.example\r\n",
	"GET /a/IMG/b.png HTTP/1.1\r\nHost: a.example\r\n",
	"GET /a/xdir/b HTTP/1.1\r\nHost: a.example\r\n",
	"GET /a/xdirx/b HTTP/1.1\r\nHost: a.example\r\n",
	"GET /xdir HTTP/1.1\r\nHost: a.example\r\n",
	"GET /a.z.b HTTP/1.1\r\nHost: a.example\r\n",
	"GET /admin/panel HTTP/1.1\r\nHost: a.example\r\n",
	"GET /Admin HTTP/1.1\r\nHost: a.example\r\n",
	"GET /x?debug HTTP/1.1\r\nHost: a.example\r\n",
	"GET /x?debug=0&a=1 HTTP/1.1\r\nHost: a.example\r\n",
	"GET /x?page=7 HTTP/1.1\r\nHost: a.example\r\n",
	"GET /x?page=3 HTTP/1.1\r\nHost: a.example\r\n",
	"GET /x?a=1&page=12 HTTP/1.1\r\nHost: a.example\r\n",
	"POST /x HTTP/1.1\r\nHost: a.example\r\nCookie: beta=1\r\nContent-Length: 0\r\n",
	"POST /x HTTP/1.1\r\nHost: a.example\r\nCookie: a=2; beta=1\r\nContent-Length: 0\r\n",
	"POST /x HTTP/1.1\r\nHost: a.example\r\nCookie: beta=2\r\nContent-Length: 0\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nCookie: beta=1\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Forwarded-For: 1.1.1.1\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Len: 150\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Len: 99\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Client: 10.20.30.40\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Client: 10.21.30.40\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Client: 2001:db8::7\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nUser-Agent: GoogleBot/2\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nUser-Agent: curl/8.1 bot\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nUser-Agent: curl/x\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nAccept-Language: fr-FR, en\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nAccept-Language: en, fr\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nAccept: text/html, application/json\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nAccept: application/json;q=1\r\n",
	"GET /blocked HTTP/1.1\r\nHost: a.example\r\n",
	"GET /Blocked HTTP/1.1\r\nHost: a.example\r\n",
	"GET /a/very/long/path/over/twenty?q HTTP/1.1\r\nHost: a.example\r\n",
	"GET /a/very/long/path/over/twenty HTTP/1.1\r\nHost: a.example\r\n",
	"PUT /x HTTP/1.1\r\nHost: a.example\r\nContent-Length: 0\r\n",
	"GET /x HTTP/1.0\r\nHost: a.example\r\n",
	"GET http://a.example/x HTTP/1.1\r\nHost: a.example\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Multi: one\r\nX-Multi: two\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Multi: one, two\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Neg: abc\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Neg: abc\r\nX-None: 1\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Tenant: ACME\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Tenant: globex\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Tenant: nobody\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Tenant: ghost\r\n",
}

// TestRulesMatchHAProxy sends the same requests through Debian's haproxy 2.6 and tandem
// running the same configuration: every request must reach the same server with the
// same status.
func TestRulesMatchHAProxy(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"nets.lst":    "# clients\n10.20.0.0/16\n2001:db8::/32\n",
		"paths.lst":   "/blocked\n/private\n",
		"tenants.map": "acme be_b\nglobex be_api\nghost be_nothere\n",
	}
	for n, s := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	webs := []*web{startWeb(t, "def"), startWeb(t, "b"), startWeb(t, "api"), startWeb(t, "static"), startWeb(t, "map")}
	conf := func(sock, front string) string {
		return fmt.Sprintf(rulesCompareConfig, sock, front, dir, webs[0].addr, webs[1].addr, webs[2].addr, webs[3].addr, webs[4].addr)
	}
	hsock, tsock := filepath.Join(dir, "h.sock"), filepath.Join(dir, "t.sock")
	hfront, tfront := freeAddr(t), freeAddr(t)
	startHAProxy(t, conf(hsock, hfront), hsock)
	startTandem(t, conf(tsock, tfront), tfront)
	served := map[string]int{}
	for _, raw := range rulesRequests {
		hs, hb := rawRequest(t, hfront, raw)
		ts, tb := rawRequest(t, tfront, raw)
		served[hb]++
		if hs != ts || hb != tb {
			t.Errorf("%q:\n  haproxy %d %q\n  tandem  %d %q", raw, hs, hb, ts, tb)
		}
	}
	t.Logf("requests per server (haproxy): %v", served)
	// the requests exercise every backend, so that agreeing means something
	for _, w := range webs {
		if served[w.name] == 0 {
			t.Errorf("no request went to %s with haproxy: %v", w.name, served)
		}
	}
}

// rawRequest sends one request head (Connection: close) and returns status and body.
func rawRequest(t *testing.T, addr, head string) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, head+"Connection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, "error: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// TestTCPUseBackendByPort: a mode tcp frontend on two ports sends each connection to the
// backend its use_backend rules pick from connection fetches (dst_port, src), through
// the built binary's real data path.
func TestTCPUseBackendByPort(t *testing.T) {
	wa, wb, wc := startWeb(t, "a"), startWeb(t, "b"), startWeb(t, "c")
	p1, p2 := freeAddr(t), freeAddr(t)
	_, port2, _ := net.SplitHostPort(p2)
	cfg := fmt.Sprintf(`defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend ft
    bind %s
    bind %s
    acl alt dst_port %s
    use_backend bb if alt
    use_backend bc if { src 10.0.0.0/8 }
    default_backend ba
backend ba
    server a %s
backend bb
    server b %s
backend bc
    server c %s
`, p1, p2, port2, wa.addr, wb.addr, wc.addr)
	startTandem(t, cfg, p1)
	for _, tc := range []struct{ addr, want string }{{p1, "a"}, {p2, "b"}, {p1, "a"}, {p2, "b"}} {
		if s, b := rawRequest(t, tc.addr, "GET / HTTP/1.1\r\nHost: x\r\n"); s != 200 || b != tc.want {
			t.Errorf("connection to %s: %d %q, want %q", tc.addr, s, b, tc.want)
		}
	}
	if wc.hits.Load() != 0 {
		t.Errorf("backend bc got %d requests", wc.hits.Load())
	}
}
