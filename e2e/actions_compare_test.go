package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// actionsCompareConfig covers every HTTP action tandem carries out: http-request (every
// action, in a frontend, in backends after use_backend, inherited from a named defaults
// section, in a listen section used as a backend), the legacy redirect, http-response,
// http-after-response, monitor-uri and monitor fail, userlist with auth and the
// http_auth fetches, http-errors with errorfiles, errorloc, timeout tarpit.
const actionsCompareConfig = `global
    stats socket %[1]s mode 600 level admin
userlist users
    group admins
    group staff users carol
    user alice password $6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1 groups admins
    user bob insecure-password builder
    user carol insecure-password c4rol
http-errors site
    errorfile 503 %[3]s/503.http
    errorfile 404 %[3]s/404.http
defaults base
    mode http
    timeout connect 300ms
    timeout client 10s
    timeout server 10s
    http-request set-header X-From-Defaults 1
frontend fe
    bind %[2]s
    timeout tarpit 200ms
    monitor-uri /health
    monitor fail if { req.hdr(x-fail) -m found }
    errorfiles site 404
    errorloc302 503 /sorry
    acl admin path_beg /admin
    acl staff path_beg /staff
    http-request deny if { path /deny }
    http-request reject if { path /rejected }
    http-request silent-drop if { path /dropped }
    http-request disable-l7-retry if { path /noretry }
    http-request deny deny_status 429 if { path /deny429 }
    http-request deny deny_status 404 if { path /deny404 }
    http-request deny status 403 content-type text/plain string nope hdr X-Deny yes if { path /deny-body }
    http-request tarpit deny_status 403 if { path /tarpit }
    http-request deny deny_status 503 errorfile %[3]s/503.http if { path /deny-ef }
    http-request return status 404 errorfiles site if { path /ret-ef404 }
    http-request return status 200 content-type "text/plain; charset=utf-8" lf-string "%%[req.hdr(x-a)]/%%[query]" hdr X-One 1 hdr X-Two %%[method] if { path /ret-multi }
    http-request auth realm "Two Words" if { path /auth2 }
    http-request redirect location https://%%[req.hdr(host)]%%[path]?moved=1 code 302 if { path_beg /loc-q }
    http-request redirect prefix /p append-slash code 301 if { path_beg /pfx-slash }
    http-request redirect scheme http drop-query append-slash if { path_beg /sch-slash }
    http-request return status 200 content-type text/plain lf-string "hello %%[req.hdr(x-name)] %%[path]" hdr X-Ret 1 if { path /ret }
    http-request return status 204 if { path /ret204 }
    http-request return status 503 errorfiles site if { path /ret503 }
    http-request return status 200 content-type text/html file %[3]s/page.html if { path /page }
    http-request redirect location /new%%[path] code 301 if { path_beg /old/ }
    http-request redirect prefix https://example.com drop-query if { path_beg /pfx }
    http-request redirect prefix / append-slash drop-query code 308 if { path_beg /slash }
    http-request redirect scheme https set-cookie SEEN=1 if { path_beg /sch }
    http-request redirect location /bye clear-cookie SID= code 303 if { path /logout }
    http-request auth realm Admin if admin !{ http_auth_group(users) admins }
    http-request auth if staff !{ http_auth_group(users) staff }
    http-request auth realm Any if { path /any } !{ http_auth(users) }
    http-request allow if { path /allowed }
    http-request set-header X-Set %%[src]
    http-request add-header X-Add first
    http-request add-header X-Add second
    http-request del-header X-Drop
    http-request del-header X-Pre- -m beg
    http-request del-header -suffix -m end
    http-request del-header zap -m sub
    http-request del-header ^x-re[0-9]$ -m reg
    http-request replace-header X-Rep ^(\w+)-(\w+)$ \2-\1
    http-request replace-value X-Vals ^v(.*)$ w\1
    http-request set-var(txn.p) path
    http-request set-var(txn.m) method,lower
    http-request set-var-fmt(txn.f) "%%[path]|%%[req.hdr(host)]"
    http-request set-header X-Var %%[var(txn.p)]-%%[var(txn.m)]-%%[var(txn.f)]
    http-request unset-var(txn.p) if { path /unset }
    http-request set-header X-After-Unset <%%[var(txn.p)]>
    http-request set-path /v2%%[path] if { path_beg /v1/ }
    http-request set-pathq /pq if { path /setpq }
    http-request set-query x=1&%%[query] if { path /sq }
    http-request set-uri /uri%%[path] if { path_beg /seturi }
    http-request replace-path ^/rp/(.*) /replaced/\1
    http-request replace-uri ^/ru/(.*)$ /uri-replaced/\1
    http-request replace-pathq ^/rq(.*) /rq-new\1
    http-request set-method PUT if { path /put }
    http-request set-header Host new.example if { path /sethost }
    http-request set-uri http://uri.example/abs if { path /seturi-abs }
    http-request del-header Host if { path /delhost }
    http-request set-header X-Big %%[req.hdr(x-fill)]%%[req.hdr(x-fill)]%%[req.hdr(x-fill)] if { req.hdr(x-fill) -m found }
    http-request replace-header Cookie ^(.*)sid=[^;]*(.*)$ \1sid=hidden\2
    http-response set-header X-Resp-Status %%[status]
    http-response add-header X-Resp-Add 1
    http-response del-header X-Up-Drop
    http-response replace-header X-Up ^up-(.*) down-\1
    http-response replace-value X-Up-Multi ^a(.*)$ b\1
    http-response set-status 299 reason Custom if { status 200 } { var(txn.m) -m str delete }
    http-response set-status 404 if { var(txn.m) -m str options }
    http-response deny if { res.hdr(x-up-deny) -m found }
    http-response return status 202 content-type text/plain lf-string "replaced %%[status]" hdr X-Ret r if { res.hdr(x-up-return) -m found }
    http-response redirect location /moved if { res.hdr(x-up-redirect) -m found }
    http-response set-var(txn.s) status
    http-response set-header X-S %%[var(txn.s)]
    http-after-response set-header X-After 1
    http-after-response add-header X-After-Status %%[status]
    http-after-response del-header X-Resp-Add if { status 299 }
    http-after-response replace-header X-After ^1$ one
    http-after-response set-status 202 if { var(txn.m) -m str patch }
    redirect location /legacy-loc if { path /legacy }
    redirect prefix /pre code 307 if { path_beg /legacypre }
    http-request set-var(txn.route) str(be_b) if { req.hdr(x-route) -m str b }
    http-request set-header X-Route-Hdr b if { path /via-header }
    use_backend %%[var(txn.route)] if { var(txn.route) -m found }
    use_backend be_b if { req.hdr(x-route-hdr) b }
    use_backend be_b if { path_beg /b/ }
    use_backend li if { path_beg /l/ }
    use_backend be_down if { path /down }
    default_backend be_a
defaults plain
    mode http
    timeout connect 300ms
    timeout client 10s
    timeout server 10s
backend be_a
    server a %[4]s
backend be_b
    http-request set-header X-Backend b
    http-request deny if { req.hdr(x-deny-b) -m found }
    http-request redirect location /from-b if { path /b/redirect }
    http-response set-header X-Backend-Resp b
    redirect location /b-legacy if { path /b/legacy }
    server b %[5]s
backend be_down
    server down %[6]s
listen li
    bind %[7]s
    http-request set-header X-Listen 1
    http-request deny if { path /l/deny }
    http-response set-header X-Listen-Resp 1
    server l %[8]s
`

// actionRequests are raw request heads (without the final empty line) sent to the
// frontend; those starting with "LI " go to the listen section's own address.
var actionRequests = []string{
	"GET / HTTP/1.1\r\nHost: a.example\r\n",
	"GET /health HTTP/1.1\r\nHost: a.example\r\n",
	"GET /health HTTP/1.1\r\nHost: a.example\r\nX-Fail: 1\r\n",
	"GET /deny HTTP/1.1\r\nHost: a.example\r\n",
	"GET /deny?x=1 HTTP/1.1\r\nHost: a.example\r\n",
	"GET /deny429 HTTP/1.1\r\nHost: a.example\r\n",
	"GET /deny404 HTTP/1.1\r\nHost: a.example\r\n",
	"GET /deny-body HTTP/1.1\r\nHost: a.example\r\n",
	"GET /tarpit HTTP/1.1\r\nHost: a.example\r\n",
	"GET /ret HTTP/1.1\r\nHost: a.example\r\nX-Name: world\r\n",
	"GET /ret HTTP/1.1\r\nHost: a.example\r\n",
	"GET /ret204 HTTP/1.1\r\nHost: a.example\r\n",
	"GET /ret503 HTTP/1.1\r\nHost: a.example\r\n",
	"GET /page HTTP/1.1\r\nHost: a.example\r\n",
	"GET /old/x?q=1 HTTP/1.1\r\nHost: a.example\r\n",
	"GET /old/ HTTP/1.1\r\nHost: a.example\r\n",
	"GET /pfx/a?b=c HTTP/1.1\r\nHost: a.example\r\n",
	"GET /slash/a?b=c HTTP/1.1\r\nHost: a.example\r\n",
	"GET /slash/a/ HTTP/1.1\r\nHost: a.example\r\n",
	"GET /sch/x?y HTTP/1.1\r\nHost: a.example\r\n",
	"GET /sch HTTP/1.0\r\n",
	"GET /logout HTTP/1.1\r\nHost: a.example\r\n",
	"GET /admin HTTP/1.1\r\nHost: a.example\r\n",
	"GET /admin HTTP/1.1\r\nHost: a.example\r\nAuthorization: Basic " + basic("alice", "secret") + "\r\n",
	"GET /admin HTTP/1.1\r\nHost: a.example\r\nAuthorization: Basic " + basic("alice", "wrong") + "\r\n",
	"GET /admin HTTP/1.1\r\nHost: a.example\r\nAuthorization: Basic " + basic("bob", "builder") + "\r\n",
	"GET /admin HTTP/1.1\r\nHost: a.example\r\nAuthorization: Basic " + basic("nobody", "x") + "\r\n",
	"GET /admin HTTP/1.1\r\nHost: a.example\r\nAuthorization: Bearer abc\r\n",
	"GET /admin HTTP/1.1\r\nHost: a.example\r\nAuthorization: Basic !!!\r\n",
	"GET /staff HTTP/1.1\r\nHost: a.example\r\n",
	"GET /staff HTTP/1.1\r\nHost: a.example\r\nAuthorization: Basic " + basic("carol", "c4rol") + "\r\n",
	"GET /staff HTTP/1.1\r\nHost: a.example\r\nAuthorization: Basic " + basic("alice", "secret") + "\r\n",
	"GET /any HTTP/1.1\r\nHost: a.example\r\n",
	"GET /any HTTP/1.1\r\nHost: a.example\r\nAuthorization: Basic " + basic("bob", "builder") + "\r\n",
	"GET /any HTTP/1.1\r\nHost: a.example\r\nAuthorization: basic " + basic("carol", "c4rol") + "\r\n",
	"GET /allowed HTTP/1.1\r\nHost: a.example\r\nX-Drop: 1\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Drop: 1\r\nx-drop: 2\r\nX-Keep: 3\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Pre-A: 1\r\nX-Pre-B: 2\r\nX-Prefix: 3\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nA-Suffix: 1\r\nSuffix-B: 2\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Zap-Me: 1\r\nZAPPED: 2\r\nX-Zip: 3\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Re1: 1\r\nX-Re12: 2\r\nX-RE3: 3\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Rep: left-right\r\nX-Rep: one\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Vals: v1, x2, v3,v4\r\nX-Vals: v5\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Set: spoofed\r\nX-Add: zero\r\n",
	"GET /unset HTTP/1.1\r\nHost: a.example\r\n",
	"GET /v1/items?id=3 HTTP/1.1\r\nHost: a.example\r\n",
	"GET /setpq?drop=1 HTTP/1.1\r\nHost: a.example\r\n",
	"GET /sq?y=2 HTTP/1.1\r\nHost: a.example\r\n",
	"GET /sq HTTP/1.1\r\nHost: a.example\r\n",
	"GET /seturi/a?b HTTP/1.1\r\nHost: a.example\r\n",
	"GET /rp/a/b?c=d HTTP/1.1\r\nHost: a.example\r\n",
	"GET /ru/a/b?c=d HTTP/1.1\r\nHost: a.example\r\n",
	"GET /rq/a?c=d HTTP/1.1\r\nHost: a.example\r\n",
	"GET /put HTTP/1.1\r\nHost: a.example\r\n",
	"GET http://a.example/v1/abs?q HTTP/1.1\r\nHost: a.example\r\n",
	"GET http://a.example/rp/abs HTTP/1.1\r\nHost: a.example\r\n",
	"DELETE /x HTTP/1.1\r\nHost: a.example\r\n",
	"OPTIONS /x HTTP/1.1\r\nHost: a.example\r\n",
	"PATCH /x HTTP/1.1\r\nHost: a.example\r\nContent-Length: 0\r\n",
	"POST /x HTTP/1.1\r\nHost: a.example\r\nContent-Length: 0\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Echo-Resp: X-Up-Deny: 1\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Echo-Resp: X-Up-Redirect: 1\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Echo-Resp: X-Up-Return: 1\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Echo-Resp: X-Up: up-stream\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Echo-Resp: X-Up: other\r\n",
	"GET /legacy HTTP/1.1\r\nHost: a.example\r\n",
	"GET /legacypre/a?b HTTP/1.1\r\nHost: a.example\r\n",
	"GET /b/x HTTP/1.1\r\nHost: a.example\r\n",
	"GET /b/x HTTP/1.1\r\nHost: a.example\r\nX-Deny-B: 1\r\n",
	"GET /b/redirect HTTP/1.1\r\nHost: a.example\r\n",
	"GET /b/legacy HTTP/1.1\r\nHost: a.example\r\n",
	"GET /b/x HTTP/1.1\r\nHost: a.example\r\nX-Echo-Resp: X-Up-Deny: 1\r\n",
	"DELETE /b/x HTTP/1.1\r\nHost: a.example\r\n",
	"GET /l/x HTTP/1.1\r\nHost: a.example\r\n",
	"GET /l/deny HTTP/1.1\r\nHost: a.example\r\n",
	"GET /down HTTP/1.1\r\nHost: a.example\r\n",
	"GET /nothing-here HTTP/1.1\r\nHost: a.example\r\n",
	"HEAD /x HTTP/1.1\r\nHost: a.example\r\n",
	"HEAD /deny HTTP/1.1\r\nHost: a.example\r\n",
	"HEAD /ret HTTP/1.1\r\nHost: a.example\r\n",
	"HEAD /old/x HTTP/1.1\r\nHost: a.example\r\n",
	"HEAD /deny404 HTTP/1.1\r\nHost: a.example\r\n",
	"GET /x HTTP/1.0\r\nHost: a.example\r\n",
	"GET /ret HTTP/1.0\r\n",
	"GET /deny HTTP/1.0\r\n",
	"POST /x HTTP/1.1\r\nHost: a.example\r\nX-Drop: 1\r\nContent-Length: 11\r\n\r\nhello world",
	"POST /v1/post HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"POST /deny HTTP/1.1\r\nHost: a.example\r\nContent-Length: 3\r\n\r\nabc",
	"GET /sethost HTTP/1.1\r\nHost: a.example\r\n",
	"GET http://a.example/sethost HTTP/1.1\r\nHost: a.example\r\n",
	"GET /seturi-abs HTTP/1.1\r\nHost: a.example\r\n",
	"GET /delhost HTTP/1.1\r\nHost: a.example\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Fill: " + strings.Repeat("f", 300) + "\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nCookie: a=1; sid=secret; b=2\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nCookie: nothing=here\r\n",
	"GET /X HTTP/1.1\r\nhost: a.example\r\nx-DROP: 1\r\nX-REP: A-B\r\n",
	"GET /old HTTP/1.1\r\nHost: a.example\r\n",
	"GET /old/a%20b?c HTTP/1.1\r\nHost: a.example\r\n",
	"GET /v1/ HTTP/1.1\r\nHost: a.example\r\n",
	"GET /v1 HTTP/1.1\r\nHost: a.example\r\n",
	"GET /rp/ HTTP/1.1\r\nHost: a.example\r\n",
	"GET /ru/?only HTTP/1.1\r\nHost: a.example\r\n",
	"GET /sq? HTTP/1.1\r\nHost: a.example\r\n",
	"GET /b/deny HTTP/1.1\r\nHost: a.example\r\nX-Deny-B: yes\r\n",
	"PUT /put HTTP/1.1\r\nHost: a.example\r\nContent-Length: 0\r\n",
	"GET /put HTTP/1.1\r\nHost: a.example\r\nX-Echo-Resp: X-Up-Multi: a9\r\n",
	"GET /admin/x HTTP/1.1\r\nHost: a.example\r\nAuthorization: Basic " + basic("alice", "secret") + "\r\n",
	"GET /staff/x HTTP/1.1\r\nHost: a.example\r\nAuthorization: Basic " + basic("carol", "wrong") + "\r\n",
	"GET /any HTTP/1.1\r\nHost: a.example\r\nAuthorization: Basic " + basic("alice", "secret") + "\r\n",
	"GET /rejected HTTP/1.1\r\nHost: a.example\r\n",
	"GET /deny-ef HTTP/1.1\r\nHost: a.example\r\n",
	"GET /ret-ef404 HTTP/1.1\r\nHost: a.example\r\n",
	"GET /ret-multi?q=1 HTTP/1.1\r\nHost: a.example\r\nX-A: aa\r\n",
	"GET /ret-multi HTTP/1.1\r\nHost: a.example\r\n",
	"GET /auth2 HTTP/1.1\r\nHost: a.example\r\n",
	"GET /loc-q/x?y=2 HTTP/1.1\r\nHost: a.example:8080\r\n",
	"GET /pfx-slash/a?b HTTP/1.1\r\nHost: a.example\r\n",
	"GET /pfx-slash/ HTTP/1.1\r\nHost: a.example\r\n",
	"GET /sch-slash/a?b HTTP/1.1\r\nHost: a.example\r\n",
	"GET /sch-slash HTTP/1.1\r\nHost: A.Example\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Rep: a-b-c\r\nX-Rep: left-right\r\nX-Vals: ,v1,,\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Vals: \r\n",
	"GET /sq?& HTTP/1.1\r\nHost: a.example\r\n",
	"GET /x HTTP/1.1\r\nHost: a.example\r\nX-Fill: " + strings.Repeat("f", 5000) + "\r\n",
	"GET /x?a=%41 HTTP/1.1\r\nHost: a.example\r\nX-Pre-: 1\r\nsuffix: 2\r\n",
	"GET /noretry HTTP/1.1\r\nHost: a.example\r\n",
	"GET /routed HTTP/1.1\r\nHost: a.example\r\nX-Route: b\r\n",
	"GET /routed HTTP/1.1\r\nHost: a.example\r\nX-Route: c\r\n",
	"GET /via-header HTTP/1.1\r\nHost: a.example\r\n",
	"GET /via-header2 HTTP/1.1\r\nHost: a.example\r\nX-Route-Hdr: b\r\n",
	"LI GET /l/x HTTP/1.1\r\nHost: a.example\r\n",
	"LI GET /l/deny HTTP/1.1\r\nHost: a.example\r\n",
	"LI GET /other HTTP/1.1\r\nHost: a.example\r\nX-From-Defaults: spoof\r\n",
}

func basic(u, p string) string {
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	src := []byte(u + ":" + p)
	var out []byte
	for i := 0; i < len(src); i += 3 {
		var b [3]byte
		n := copy(b[:], src[i:])
		v := uint(b[0])<<16 | uint(b[1])<<8 | uint(b[2])
		for j := 0; j < 4; j++ {
			if j > n {
				out = append(out, '=')
			} else {
				out = append(out, enc[v>>(18-6*j)&63])
			}
		}
	}
	return string(out)
}

// echoWeb is a server on loopback that answers with its name and the request head it
// received (request line and header lines as sent); a request header
// `X-Echo-Resp: Name: value` adds that header to the response.
func echoWeb(t *testing.T, name string) string {
	t.Helper()
	return serveTCP(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			c.SetDeadline(time.Now().Add(10 * time.Second))
			var head []string
			cl := 0
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if line == "\r\n" {
					break
				}
				head = append(head, strings.TrimRight(line, "\r\n"))
				if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "content-length") {
					cl, _ = strconv.Atoi(strings.TrimSpace(v))
				}
			}
			if _, err := io.CopyN(io.Discard, br, int64(cl)); err != nil {
				return
			}
			body := name + "\n" + strings.Join(head, "\n") + "\n"
			extra := ""
			for _, h := range head {
				if k, v, ok := strings.Cut(h, ":"); ok && strings.EqualFold(k, "x-echo-resp") {
					extra += strings.TrimSpace(v) + "\r\n"
				}
			}
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nServer: echo\r\nX-Server: %s\r\nX-Up: up-value\r\nX-Up-Multi: a1, c2, a3\r\nX-Up-Drop: x\r\n%sContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
				name, extra, len(body), body)
		}
	})
}

// exchangeResult is what a client and a server saw of one request.
type exchangeResult struct {
	status  int
	headers []string // response headers, "name: value" with the name lower-cased, in order
	server  string   // the server that answered ("" : the proxy answered)
	saw     []string // the request line and headers the server received (names lower-cased)
	body    string   // a proxy-made response's body
	err     string
}

func doExchange(t *testing.T, addr, head string) exchangeResult {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	head, body, _ := strings.Cut(head, "\r\n\r\n") // a request with a body: "HEAD\r\n\r\nBODY"
	if !strings.HasSuffix(head, "\r\n") {
		head += "\r\n"
	}
	if _, err := io.WriteString(c, head+"Connection: close\r\n\r\n"+body); err != nil {
		t.Fatal(err)
	}
	method, _, _ := strings.Cut(head, " ")
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		return exchangeResult{err: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := exchangeResult{status: resp.StatusCode, server: resp.Header.Get("X-Server")}
	var names []string
	for k := range resp.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		lk := strings.ToLower(k)
		switch lk {
		case "date", "connection":
			continue
		case "content-length":
			if r.server != "" {
				continue // the echoed head differs in header name case
			}
		}
		for _, v := range resp.Header[k] {
			r.headers = append(r.headers, lk+": "+v)
		}
	}
	if r.server == "" {
		r.body = string(b)
		return r
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for _, l := range lines[1:] {
		if k, v, ok := strings.Cut(l, ":"); ok {
			lk := strings.ToLower(k)
			if lk == "connection" {
				continue
			}
			l = lk + ":" + v
		}
		r.saw = append(r.saw, l)
	}
	return r
}

// TestActionsMatchHAProxy sends the same requests through Debian's haproxy 2.6 and
// tandem running one configuration with every HTTP action: each answer must agree in
// status, answering server, the request the server saw (line and headers in order) and
// the response headers (all but Date and Connection), and a proxy-made body.
func TestActionsMatchHAProxy(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"503.http":  "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 9\r\n\r\nsite down",
		"404.http":  "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 10\r\n\r\nsite 404!!",
		"page.html": "<p>static page</p>\n",
	}
	for n, s := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	deadAddr := boundNotListening(t) // a dead server

	a, b, l := echoWeb(t, "a"), echoWeb(t, "b"), echoWeb(t, "l")
	conf := func(sock, front, li string) string {
		return fmt.Sprintf(actionsCompareConfig, sock, front, dir, a, b, deadAddr, li, l)
	}
	hsock, tsock := filepath.Join(dir, "h.sock"), filepath.Join(dir, "t.sock")
	hfront, tfront, hli, tli := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	startHAProxy(t, conf(hsock, hfront, hli), hsock)
	startTandem(t, conf(tsock, tfront, tli), tfront)
	agree := 0
	for _, raw := range actionRequests {
		h, tn := hfront, tfront
		if rest, ok := strings.CutPrefix(raw, "LI "); ok {
			raw, h, tn = rest, hli, tli
		}
		hr := doExchange(t, h, raw)
		tr := doExchange(t, tn, raw)
		if d := diffResults(hr, tr); d != "" {
			t.Errorf("%q:\n%s", raw, d)
			continue
		}
		agree++
	}
	t.Logf("%d of %d requests agree", agree, len(actionRequests))
}

func diffResults(h, t exchangeResult) string {
	var d []string
	if h.err != t.err {
		d = append(d, fmt.Sprintf("  error: haproxy %q, tandem %q", h.err, t.err))
	}
	if h.status != t.status {
		d = append(d, fmt.Sprintf("  status: haproxy %d, tandem %d", h.status, t.status))
	}
	if h.server != t.server {
		d = append(d, fmt.Sprintf("  server: haproxy %q, tandem %q", h.server, t.server))
	}
	if strings.Join(h.saw, "\n") != strings.Join(t.saw, "\n") {
		d = append(d, fmt.Sprintf("  the server saw:\n    haproxy %q\n    tandem  %q", h.saw, t.saw))
	}
	if strings.Join(h.headers, "\n") != strings.Join(t.headers, "\n") {
		d = append(d, fmt.Sprintf("  response headers:\n    haproxy %q\n    tandem  %q", h.headers, t.headers))
	}
	if h.body != t.body {
		d = append(d, fmt.Sprintf("  body:\n    haproxy %q\n    tandem  %q", h.body, t.body))
	}
	return strings.Join(d, "\n")
}

// boundNotListening returns the address of a TCP socket bound and never listening,
// held until the test ends: connecting to it is refused.
func boundNotListening(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}

// TestActionsKeepAliveMatchHAProxy sends sequences of requests on one connection
// through both proxies: after an answer a rule made (deny, redirect, return, auth, a
// response rule's deny), the connection must stay open or close as with HAProxy, and
// the next request must be answered the same.
func TestActionsKeepAliveMatchHAProxy(t *testing.T) {
	dir := t.TempDir()
	for n, s := range map[string]string{
		"503.http":  "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 9\r\n\r\nsite down",
		"404.http":  "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 10\r\n\r\nsite 404!!",
		"page.html": "<p>static page</p>\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	deadAddr := boundNotListening(t)
	a, b, l := echoWeb(t, "a"), echoWeb(t, "b"), echoWeb(t, "l")
	conf := func(sock, front, li string) string {
		return fmt.Sprintf(actionsCompareConfig, sock, front, dir, a, b, deadAddr, li, l)
	}
	hsock, tsock := filepath.Join(dir, "h.sock"), filepath.Join(dir, "t.sock")
	hfront, tfront, hli, tli := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	startHAProxy(t, conf(hsock, hfront, hli), hsock)
	startTandem(t, conf(tsock, tfront, tli), tfront)
	for _, first := range []string{"/deny", "/deny429", "/deny404", "/deny-body", "/ret", "/ret204", "/ret503", "/page",
		"/old/x", "/sch/x", "/admin", "/health", "/legacy", "/b/redirect", "/down", "/x?h=1",
		"HEAD /deny", "HEAD /ret", "HEAD /deny404", "HEAD /admin", "HEAD /health"} {
		seq := []string{first, "/x"}
		hs := keepAliveSeq(t, hfront, seq)
		ts := keepAliveSeq(t, tfront, seq)
		if hs != ts {
			t.Errorf("%v:\n  haproxy %s\n  tandem  %s", seq, hs, ts)
		}
	}
	// A response rule's deny.
	// silent-drop: the client hears nothing, neither an answer nor a close.
	for name, addr := range map[string]string{"haproxy": hfront, "tandem": tfront} {
		if got := dropOutcome(t, addr); got != "silence" {
			t.Errorf("%s: silent-drop: the client saw %s", name, got)
		}
	}
	for _, hdr := range []string{"X-Up-Deny", "X-Up-Return", "X-Up-Redirect"} {
		seq := []string{"/x\r\nX-Echo-Resp: " + hdr + ": 1", "/x"}
		if hs, ts := keepAliveSeq(t, hfront, seq), keepAliveSeq(t, tfront, seq); hs != ts {
			t.Errorf("%q:\n  haproxy %s\n  tandem  %s", seq, hs, ts)
		}
	}
}

// keepAliveSeq sends GET requests for paths one after the other on one connection and
// describes what came back: each status, and whether the connection closed after it.
func keepAliveSeq(t *testing.T, addr string, paths []string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	var out []string
	for _, p := range paths {
		c.SetDeadline(time.Now().Add(3 * time.Second))
		method := "GET"
		if rest, ok := strings.CutPrefix(p, "HEAD "); ok {
			method, p = "HEAD", rest
		}
		if _, err := io.WriteString(c, method+" "+p+" HTTP/1.1\r\nHost: a.example\r\n\r\n"); err != nil {
			out = append(out, "write failed")
			break
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			out = append(out, "closed")
			break
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out = append(out, fmt.Sprintf("%d close=%v", resp.StatusCode, resp.Close))
	}
	return strings.Join(out, ", ")
}

// TestUseServiceAnyConditionMatchesHAProxy: `http-request use-service
// prometheus-exporter` with a condition other than `{ path P }`, after a deny rule: both
// proxies answer the metrics for what the rule picks (whatever the path), the deny rule
// before it wins, and other requests go to the backend.
func TestUseServiceAnyConditionMatchesHAProxy(t *testing.T) {
	dir := t.TempDir()
	a := echoWeb(t, "a")
	conf := func(sock, front string) string {
		return fmt.Sprintf(`global
    stats socket %s mode 600 level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind %s
    http-request deny if { path /prom/deny }
    http-request use-service prometheus-exporter if { path_beg /prom } { src 127.0.0.0/8 }
    default_backend be
backend be
    server a %s
`, sock, front, a)
	}
	hsock, tsock := filepath.Join(dir, "h.sock"), filepath.Join(dir, "t.sock")
	hfront, tfront := freeAddr(t), freeAddr(t)
	startHAProxy(t, conf(hsock, hfront), hsock)
	startTandem(t, conf(tsock, tfront), tfront)
	for _, tc := range []struct {
		path    string
		status  int
		metrics bool
	}{{"/prom", 200, true}, {"/prom/x?y", 200, true}, {"/prom/deny", 403, false}, {"/other", 200, false}} {
		for name, addr := range map[string]string{"haproxy": hfront, "tandem": tfront} {
			r := doExchange(t, addr, "GET "+tc.path+" HTTP/1.1\r\nHost: a.example\r\n")
			isMetrics := strings.Contains(r.body, "haproxy_process_") || strings.Contains(r.body, "haproxy_frontend_")
			if r.status != tc.status || isMetrics != tc.metrics {
				t.Errorf("%s %s: status %d, metrics %v; want %d, %v", name, tc.path, r.status, isMetrics, tc.status, tc.metrics)
			}
		}
	}
}

// dropOutcome sends a request for /dropped and says what the client sees within 700 ms:
// "silence", "close", "reset" or "data".
func dropOutcome(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /dropped HTTP/1.1\r\nHost: a.example\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
	var b [64]byte
	n, err := c.Read(b[:])
	var ne net.Error
	switch {
	case n > 0:
		return "data"
	case errors.As(err, &ne) && ne.Timeout():
		return "silence"
	case errors.Is(err, io.EOF):
		return "close"
	}
	return "reset"
}

// TestRulesProtectStatsAndMetrics: the stats page and the Prometheus path answer only
// after the frontend's http-request rules, as in HAProxy, so a deny protects them (tandem
// answered both before any rule). The Prometheus path form keeps its place among other
// rules: a deny after it does not hide the metrics.
func TestRulesProtectStatsAndMetrics(t *testing.T) {
	dir := t.TempDir()
	a := echoWeb(t, "a")
	conf := func(sock, stats, deny, after string) string {
		return fmt.Sprintf(`global
    stats socket %s mode 600 level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen stats
    bind %s
    http-request deny if { path_beg /stats } { req.hdr(x-block) -m found }
    stats enable
    stats uri /stats
frontend deny_first
    bind %s
    http-request deny if { req.hdr(x-block) -m found }
    http-request use-service prometheus-exporter if { path /metrics }
    default_backend be
frontend metrics_first
    bind %s
    http-request use-service prometheus-exporter if { path /metrics }
    http-request deny
    default_backend be
backend be
    server a %s
`, sock, stats, deny, after, a)
	}
	hsock, tsock := filepath.Join(dir, "h.sock"), filepath.Join(dir, "t.sock")
	h := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	tn := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	startHAProxy(t, conf(hsock, h[0], h[1], h[2]), hsock)
	startTandem(t, conf(tsock, tn[0], tn[1], tn[2]), tn[0])
	for _, tc := range []struct {
		front  int
		head   string
		status int
	}{
		{0, "GET /stats HTTP/1.1\r\nHost: a\r\n", 200},
		{0, "GET /stats HTTP/1.1\r\nHost: a\r\nX-Block: 1\r\n", 403},
		{1, "GET /metrics HTTP/1.1\r\nHost: a\r\n", 200},
		{1, "GET /metrics HTTP/1.1\r\nHost: a\r\nX-Block: 1\r\n", 403},
		{1, "GET /other HTTP/1.1\r\nHost: a\r\n", 200},
		{2, "GET /metrics HTTP/1.1\r\nHost: a\r\n", 200},
		{2, "GET /other HTTP/1.1\r\nHost: a\r\n", 403},
	} {
		hr := doExchange(t, h[tc.front], tc.head)
		tr := doExchange(t, tn[tc.front], tc.head)
		if hr.status != tc.status || tr.status != tc.status {
			t.Errorf("front %d %q: haproxy %d, tandem %d; want %d", tc.front, tc.head, hr.status, tr.status, tc.status)
		}
	}
}
