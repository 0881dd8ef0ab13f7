package httpproxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"tandem/internal/config"
	"tandem/internal/rules"
	"tandem/internal/sample"
)

// echoServer answers every request with the head it received as its body, and
// headers X-Server and Server.
func echoServer(t testing.TB, name string) string {
	addr, _ := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			var head strings.Builder
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				head.WriteString(line)
				if line == "\r\n" {
					break
				}
			}
			body := head.String()
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nServer: echo\r\nX-Server: %s\r\nContent-Length: %d\r\n\r\n%s", name, len(body), body)
		}
	})
	return addr
}

const actionsCfg = `defaults
    mode http
    timeout connect 200ms
    timeout client 5s
    timeout server 5s
userlist L1
    group G1
    user bob insecure-password secret groups G1
    user eve insecure-password evil
frontend fe
    bind 127.0.0.1:1
    monitor-uri /health
    monitor fail if { req.hdr(x-fail) -m found }
    acl admin path_beg /admin
    http-request deny if { path /deny }
    http-request deny deny_status 429 if { path /deny429 }
    http-request return status 200 content-type text/plain lf-string "hi %[req.hdr(x-who)]" hdr X-R 1 if { path /ret }
    http-request redirect location /new%[path] code 301 if { path_beg /old }
    http-request redirect scheme https drop-query if { path_beg /sch }
    http-request auth realm Adm if admin !{ http_auth_group(L1) G1 }
    http-request tarpit if { path /tarpit }
    http-request allow if { path /allow }
    http-request set-header X-Via-Rule %[src] if { path /allow }
    http-request set-header X-Added a
    http-request add-header X-Added b
    http-request del-header X-Secret
    http-request replace-header X-R ^a(.*) z\1
    http-request replace-value X-V ^a(.*)$ q\1
    http-request set-var(txn.orig) path
    http-request set-path /p%[path] if { path_beg /rw }
    http-request set-query q=1 if { path_beg /p/rw }
    http-request set-method POST if { req.hdr(x-post) -m found }
    http-request set-header X-Orig %[var(txn.orig)]
    http-response set-header X-Resp %[status]
    http-response del-header Server
    http-after-response set-header X-After-CT %[res.hdr(content-type)]
    http-after-response add-header X-After 1
    redirect prefix /legacy if { path /leg }
    use_backend be_b if { path_beg /b }
    default_backend be_a
backend be_a
    server a {a}
backend be_b
    http-request set-header X-Backend-Rule b
    http-request deny if { req.hdr(x-deny-in-b) -m found }
    http-response set-status 203
    server b {b}
`

func actionsProxy(t *testing.T) string {
	t.Helper()
	text := strings.ReplaceAll(actionsCfg, "{a}", echoServer(t, "a"))
	text = strings.ReplaceAll(text, "{b}", echoServer(t, "b"))
	_, addr := rulesProxy(t, text, nil)
	return addr
}

// TestActionsLoopback sends requests through the proxy: what the client got and what
// the server saw.
func TestActionsLoopback(t *testing.T) {
	addr := actionsProxy(t)
	cl := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		name     string
		method   string
		path     string
		hdr      map[string]string
		user     string
		status   int
		server   string            // X-Server ("" : no server answered)
		respHdr  map[string]string // response headers (value "" : absent)
		saw      []string          // lines the server saw in the head
		notSaw   []string
		bodySub  string
		minDelay time.Duration
	}{
		{name: "monitor-uri", path: "/health", status: 200, bodySub: "Service ready."},
		{name: "monitor fail", path: "/health", hdr: map[string]string{"X-Fail": "1"}, status: 503},
		{name: "deny", path: "/deny", status: 403, bodySub: "Request forbidden by administrative rules.",
			respHdr: map[string]string{"X-After": "1", "X-After-CT": "text/html"}}, // after-response reads the proxy's own page
		{name: "deny_status", path: "/deny429", status: 429, bodySub: "Too Many Requests"},
		{name: "return lf-string", path: "/ret", hdr: map[string]string{"X-Who": "you"}, status: 200,
			respHdr: map[string]string{"X-R": "1", "Content-Type": "text/plain"}, bodySub: "hi you"},
		{name: "redirect location", path: "/old/x?y", status: 301, respHdr: map[string]string{"Location": "/new/old/x"}},
		{name: "redirect scheme", path: "/sch/a?b", status: 302, respHdr: map[string]string{"Location": "https://h.example/sch/a", "Cache-Control": "no-cache"}},
		{name: "legacy redirect after http-request", path: "/leg", status: 302, respHdr: map[string]string{"Location": "/legacy/leg"}},
		{name: "auth challenge", path: "/admin", status: 401, respHdr: map[string]string{"Www-Authenticate": `Basic realm="Adm"`}},
		{name: "auth wrong group", path: "/admin", user: "eve:evil", status: 401},
		{name: "auth wrong password", path: "/admin", user: "bob:nope", status: 401},
		{name: "auth ok", path: "/admin", user: "bob:secret", status: 200, server: "a"},
		{name: "tarpit", path: "/tarpit", status: 500, minDelay: 150 * time.Millisecond},
		{name: "allow skips the rest of the list", path: "/allow", status: 200, server: "a", notSaw: []string{"X-Via-Rule", "X-Added"}},
		{name: "header edits", path: "/x", status: 200, server: "a",
			hdr:     map[string]string{"X-Secret": "s", "X-R": "abc", "X-V": "ab, b, ac"},
			saw:     []string{"X-Added: a\r\n", "X-Added: b\r\n", "X-R: zbc\r\n", "X-V: qb, b,qc\r\n", "X-Orig: /x\r\n"},
			notSaw:  []string{"X-Secret"},
			respHdr: map[string]string{"X-Resp": "200", "Server": "", "X-After": "1"}},
		{name: "path and query edits", path: "/rw/a?z=9", status: 200, server: "a", saw: []string{"GET /p/rw/a?q=1 HTTP/1.1\r\n", "X-Orig: /rw/a\r\n"}},
		{name: "set-method", path: "/x", hdr: map[string]string{"X-Post": "1"}, status: 200, server: "a", saw: []string{"POST /x HTTP/1.1\r\n"}},
		{name: "backend rules after use_backend", path: "/b", status: 203, server: "b",
			saw: []string{"X-Backend-Rule: b\r\n", "X-Added: a\r\n"}, respHdr: map[string]string{"X-Resp": "203"}},
		{name: "backend deny", path: "/b", hdr: map[string]string{"X-Deny-In-B": "1"}, status: 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = "GET"
			}
			req, _ := http.NewRequest(method, "http://"+addr+tc.path, nil)
			req.Host = "h.example"
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			if tc.user != "" {
				u, p, _ := strings.Cut(tc.user, ":")
				req.SetBasicAuth(u, p)
			}
			start := time.Now()
			resp, err := cl.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d (body %q)", resp.StatusCode, tc.status, body)
			}
			if got := resp.Header.Get("X-Server"); got != tc.server {
				t.Errorf("served by %q, want %q", got, tc.server)
			}
			for k, v := range tc.respHdr {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("response %s: %q, want %q", k, got, v)
				}
			}
			for _, s := range tc.saw {
				if !strings.Contains(string(body), s) {
					t.Errorf("the server did not see %q; it saw:\n%s", s, body)
				}
			}
			for _, s := range tc.notSaw {
				if strings.Contains(string(body), s) {
					t.Errorf("the server saw %q:\n%s", s, body)
				}
			}
			if tc.bodySub != "" && !strings.Contains(string(body), tc.bodySub) {
				t.Errorf("body %q does not contain %q", body, tc.bodySub)
			}
			if d := time.Since(start); d < tc.minDelay {
				t.Errorf("answered after %v, want at least %v", d, tc.minDelay)
			}
		})
	}
}

// TestActionsKeepAliveZeroAllocs: with rules that do not fire, and with header edits
// that fire on every request, the keep-alive path allocates nothing once warm.
func TestActionsKeepAliveZeroAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts need a normal build (-race allocates)")
	}
	for name, rulesText := range map[string]string{
		"no rule fires": "    http-request deny if { path /nope }\n    http-request redirect scheme https if { hdr(host) -i other }\n" +
			"    http-request set-header X-A 1 if { path_beg /zz }\n    http-response set-header X-B 1 if { status 500 }\n",
		"edits fire": "    http-request set-header X-A %[path]\n    http-request del-header accept\n    http-response set-header X-B 1\n",
		"stick counters": "    stick-table type ip size 10 expire 30s store http_req_rate(10s),http_err_cnt,conn_cur,bytes_in_cnt\n" +
			"    tcp-request connection track-sc1 src\n    http-request track-sc0 src\n" +
			"    tcp-request content reject if { req.hdr(x-nope) -m found }\n    tcp-request content track-sc2 src\n" +
			"    http-request deny if { sc0_http_req_rate gt 100000000 } || { src_conn_cur gt 1000 }\n",
	} {
		t.Run(name, func(t *testing.T) {
			a := fastServer(t)
			text := "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n" +
				"frontend fe\n    bind 127.0.0.1:1\n" + rulesText + "    default_backend be_a\nbackend be_a\n    server a " + a + "\n"
			h, addr := rulesProxy(t, text, nil)
			exp := len(fixedResponse)
			if strings.Contains(rulesText, "X-B 1\n") && name == "edits fire" {
				exp += len("X-B: 1\r\n")
			}
			k := newKAClient(t, addr, exp)
			for i := 0; i < 50; i++ {
				if err := k.do(); err != nil {
					t.Fatal(err)
				}
			}
			allocs := testing.AllocsPerRun(300, func() {
				if err := k.do(); err != nil {
					t.Fatal(err)
				}
			})
			if allocs > 0.05 {
				t.Fatalf("%v allocations per request, want 0", allocs)
			}
			if tab := h.route.Load().r.Tables["fe"]; tab != nil {
				// The trackers did their work: every request counted on the entry.
				k, _ := tab.KeyAddr(netip.MustParseAddr("127.0.0.1"))
				if e := tab.Lookup(k, time.Now()); e == nil || e.Use() < 1 {
					t.Fatal("the source is not tracked")
				}
			}
		})
	}
}

// TestDisableL7Retry: retry-on 503 replays a request elsewhere, unless an http-request
// disable-l7-retry rule fired for it; http-request reject closes without an answer.
func TestDisableL7RetryAndReject(t *testing.T) {
	for _, tc := range []struct {
		path string
		want int // 0: closed without an answer
	}{{"/", 200}, {"/noretry", 503}, {"/reject", 0}} {
		bad, _ := rawServer(t, answer503)
		good, _ := httpServer(t, nameServer("web2"))
		be := newBackend(bad, good)
		be.Balance.Algo = config.AlgoFirst
		be.Retries, be.Redispatch, be.RetryOn = 3, true, config.Retry503
		be.RedispatchEvery = 1
		env := &rules.Env{Cond: func(w []string, where sample.Use) (*sample.Cond, error) {
			return sample.ParseCond(w, sample.NewACLSet(), &sample.Ctx{Where: where})
		}}
		var prog rules.Program
		for _, l := range []string{"disable-l7-retry if { path /noretry }", "reject if { path /reject }"} {
			r, err := rules.Parse(rules.Request, strings.Fields(l), env)
			if err != nil {
				t.Fatal(err)
			}
			prog = append(prog, r)
		}
		f := newFixture(t, be, func(fe *config.Frontend, _ *config.Global) { fe.Rules.Request = prog })
		resp, _, err := f.rawExchange("GET " + tc.path + " HTTP/1.1\r\nHost: a\r\n\r\n")
		switch {
		case tc.want == 0 && err == nil:
			t.Errorf("%s: answered %d, want the connection closed", tc.path, resp.StatusCode)
		case tc.want != 0 && (err != nil || resp.StatusCode != tc.want):
			t.Errorf("%s: %v %v, want %d", tc.path, resp, err, tc.want)
		}
	}
}
