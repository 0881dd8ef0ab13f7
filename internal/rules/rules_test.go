package rules

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"tandem/internal/http1"
	"tandem/internal/sample"
)

// txn is a sample.Txn over a Msg, as the data path implements it.
type txn struct {
	m  *Msg
	st sample.State
}

func (t *txn) Addrs() (netip.AddrPort, netip.AddrPort) {
	return netip.MustParseAddrPort("192.0.2.7:4000"), netip.MustParseAddrPort("127.0.0.1:80")
}
func (t *txn) Request() (*http1.Request, []byte) {
	if t.m.Req == nil {
		return nil, nil
	}
	return t.m.Req, t.m.Buf
}
func (t *txn) Response() (*http1.Response, []byte) {
	if t.m.Resp == nil {
		return nil, nil
	}
	return t.m.Resp, t.m.Buf
}
func (t *txn) Payload() []byte                                      { return nil }
func (t *txn) Counter(sample.Counter, string, string) (int64, bool) { return 0, false }
func (t *txn) State() *sample.State                                 { return &t.st }

func testEnv() *Env {
	acls := sample.NewACLSet()
	return &Env{
		Cond: func(w []string, where sample.Use) (*sample.Cond, error) {
			return sample.ParseCond(w, acls, &sample.Ctx{Where: where})
		},
		ReadFile: func(name string) ([]byte, error) {
			if name == "/etc/page.txt" {
				return []byte("page body"), nil
			}
			if name == "/etc/403.http" {
				return []byte("HTTP/1.1 403 Forbidden\r\ncontent-length: 2\r\n\r\nno"), nil
			}
			return nil, errors.New("no such file")
		},
	}
}

func compile(t *testing.T, ph Phase, lines ...string) Program {
	t.Helper()
	var p Program
	for _, l := range lines {
		r, err := Parse(ph, strings.Fields(l), testEnv())
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		p = append(p, r)
	}
	return p
}

func request(t *testing.T, raw string) (*Msg, *txn) {
	t.Helper()
	req := new(http1.Request)
	if err := req.Parse([]byte(raw)); err != nil {
		t.Fatalf("parse: %v", err)
	}
	m := new(Msg)
	m.Request(req, []byte(raw))
	return m, &txn{m: m}
}

const baseReq = "GET /a/b?x=1 HTTP/1.1\r\nHost: h.example\r\nX-A: one\r\nx-a: two\r\nX-V: ab, b, ac,ad\r\nAccept: */*\r\n\r\n"

func TestRequestEdits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules []string
		req   string
		want  string // the head after the rules
	}{
		{"set-header replaces every occurrence and appends", []string{"set-header x-a new"}, baseReq,
			"GET /a/b?x=1 HTTP/1.1\r\nHost: h.example\r\nX-V: ab, b, ac,ad\r\nAccept: */*\r\nx-a: new\r\n\r\n"},
		{"add-header appends", []string{"add-header X-New %[src]"}, baseReq,
			strings.TrimSuffix(baseReq, "\r\n") + "X-New: 192.0.2.7\r\n\r\n"},
		{"del-header removes all, any case", []string{"del-header X-A"}, baseReq,
			"GET /a/b?x=1 HTTP/1.1\r\nHost: h.example\r\nX-V: ab, b, ac,ad\r\nAccept: */*\r\n\r\n"},
		{"del-header -m beg", []string{"del-header x- -m beg"}, baseReq,
			"GET /a/b?x=1 HTTP/1.1\r\nHost: h.example\r\nAccept: */*\r\n\r\n"},
		{"del-header -m reg", []string{"del-header ^(host|accept)$ -m reg"}, baseReq,
			"GET /a/b?x=1 HTTP/1.1\r\nX-A: one\r\nx-a: two\r\nX-V: ab, b, ac,ad\r\n\r\n"},
		{"replace-header replaces the whole value", []string{`replace-header X-A n(e) Z\1`}, baseReq,
			"GET /a/b?x=1 HTTP/1.1\r\nHost: h.example\r\nX-A: Ze\r\nx-a: two\r\nX-V: ab, b, ac,ad\r\nAccept: */*\r\n\r\n"},
		{"replace-value per comma value (HAProxy drops the blank before a replaced value)", []string{`replace-value X-V ^a(.*)$ q\1`}, baseReq,
			"GET /a/b?x=1 HTTP/1.1\r\nHost: h.example\r\nX-A: one\r\nx-a: two\r\nX-V: qb, b,qc,qd\r\nAccept: */*\r\n\r\n"},
		{"replace-header no match: head unchanged", []string{`replace-header X-A ^zzz$ y`}, baseReq, baseReq},
		{"set-path keeps the query", []string{"set-path /p%[path]"}, baseReq,
			strings.Replace(baseReq, "/a/b?x=1", "/p/a/b?x=1", 1)},
		{"set-pathq", []string{"set-pathq /n"}, baseReq, strings.Replace(baseReq, "/a/b?x=1", "/n", 1)},
		{"set-query", []string{"set-query y=2"}, baseReq, strings.Replace(baseReq, "/a/b?x=1", "/a/b?y=2", 1)},
		{"set-query adds a ?", []string{"set-query y=2"}, strings.Replace(baseReq, "/a/b?x=1", "/a", 1),
			strings.Replace(baseReq, "/a/b?x=1", "/a?y=2", 1)},
		{"set-uri", []string{"set-uri /u?v"}, baseReq, strings.Replace(baseReq, "/a/b?x=1", "/u?v", 1)},
		{"set-method", []string{"set-method POST"}, baseReq, strings.Replace(baseReq, "GET", "POST", 1)},
		{"replace-path", []string{`replace-path /a/(.*) /\1`}, baseReq, strings.Replace(baseReq, "/a/b?x=1", "/b?x=1", 1)},
		{"replace-pathq", []string{`replace-pathq ([^?]*)(\?(.*))? \1/foo\2`}, baseReq, strings.Replace(baseReq, "/a/b?x=1", "/a/b/foo?x=1", 1)},
		{"replace-uri absolute form", []string{`replace-uri ^http://(.*) https://\1`},
			strings.Replace(baseReq, "/a/b?x=1", "http://h.example/a", 1), strings.Replace(baseReq, "/a/b?x=1", "https://h.example/a", 1)},
		{"set-path on absolute form keeps scheme and authority", []string{"set-path /z"},
			strings.Replace(baseReq, "/a/b?x=1", "http://h.example/a?q", 1), strings.Replace(baseReq, "/a/b?x=1", "http://h.example/z?q", 1)},
		{"set-header Host updates an absolute-form authority", []string{"set-header Host new.example"},
			strings.Replace(baseReq, "/a/b?x=1", "http://h.example/a?q", 1),
			"GET http://new.example/a?q HTTP/1.1\r\nX-A: one\r\nx-a: two\r\nX-V: ab, b, ac,ad\r\nAccept: */*\r\nHost: new.example\r\n\r\n"},
		{"later rules see earlier edits", []string{"set-header X-P %[path]", "set-path /q", "add-header X-Q %[path],%[req.hdr(x-p)]"}, baseReq,
			"GET /q?x=1 HTTP/1.1\r\nHost: h.example\r\nX-A: one\r\nx-a: two\r\nX-V: ab, b, ac,ad\r\nAccept: */*\r\nX-P: /a/b\r\nX-Q: /q,/a/b\r\n\r\n"},
		{"condition false: nothing", []string{"set-header X-N 1 if { path /nope }"}, baseReq, baseReq},
		{"unless", []string{"set-header X-N 1 unless { path /nope }"}, baseReq,
			strings.TrimSuffix(baseReq, "\r\n") + "X-N: 1\r\n\r\n"},
		{"set-var-fmt", []string{"set-var-fmt(txn.f) <%[path]|%[req.hdr(host)]>", "set-header X-F %[var(txn.f)]"}, baseReq,
			strings.TrimSuffix(baseReq, "\r\n") + "X-F: </a/b|h.example>\r\n\r\n"},
		{"set-var then var() in a header", []string{"set-var(txn.p) path", "set-header X-V2 %[var(txn.p)]", "unset-var(txn.p)", "add-header X-V3 <%[var(txn.p)]>"}, baseReq,
			strings.TrimSuffix(baseReq, "\r\n") + "X-V2: /a/b\r\nX-V3: <>\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, tx := request(t, tc.req)
			out := Run(compile(t, Request, tc.rules...), tx, m)
			if out.Rule != nil || out.Fail {
				t.Fatalf("outcome %+v", out)
			}
			if got := string(m.Buf[:m.Req.Len]); got != tc.want {
				t.Errorf("head\n got %q\nwant %q", got, tc.want)
			}
			if m.Edited != (tc.want != tc.req) {
				t.Errorf("Edited = %v", m.Edited)
			}
		})
	}
}

func TestStopActions(t *testing.T) {
	for _, tc := range []struct {
		rules []string
		want  Action
		stop  bool
		added bool // X-After was added: a rule after the first stop ran
	}{
		{[]string{"allow", "set-header X-After 1"}, Allow, true, false},
		{[]string{"deny if { path_beg /a }", "set-header X-After 1"}, Deny, true, false},
		{[]string{"deny if { path_beg /z }", "set-header X-After 1"}, 0, false, true},
		{[]string{"tarpit", "set-header X-After 1"}, Tarpit, true, false},
		{[]string{"return status 200 content-type text/plain string hi"}, Return, true, false},
		{[]string{"auth realm R"}, Auth, true, false},
		{[]string{"reject if { path_beg /a }", "set-header X-After 1"}, Reject, true, false},
		{[]string{"disable-l7-retry", "set-header X-After 1"}, 0, false, true},
		{[]string{"silent-drop", "set-header X-After 1"}, SilentDrop, true, false},
		{[]string{"redirect location /x"}, Redirect, true, false},
		{[]string{"redirect location %[req.hdr(nope)] ignore-empty", "set-header X-After 1"}, 0, false, true},
		{[]string{"use-service prometheus-exporter if { path /metrics }", "set-header X-After 1"}, 0, false, true},
	} {
		m, tx := request(t, baseReq)
		out := Run(compile(t, Request, tc.rules...), tx, m)
		if (out.Rule != nil) != tc.stop || tc.stop && out.Rule.Action != tc.want {
			t.Errorf("%q: outcome %+v", tc.rules, out)
		}
		_, added := m.Req.Get(m.Buf, "x-after")
		if added != tc.added {
			t.Errorf("%q: X-After added = %v", tc.rules, added)
		}
	}
}

func TestResponseEdits(t *testing.T) {
	raw := "HTTP/1.1 200 OK\r\nServer: s\r\nX-A: 1\r\n\r\n"
	for _, tc := range []struct {
		rules []string
		want  string
	}{
		{[]string{"set-status 404"}, "HTTP/1.1 404 Not Found\r\nServer: s\r\nX-A: 1\r\n\r\n"},
		{[]string{"set-status 299 reason Fine"}, "HTTP/1.1 299 Fine\r\nServer: s\r\nX-A: 1\r\n\r\n"},
		{[]string{"set-header Strict-Transport-Security max-age=1", "del-header server"}, "HTTP/1.1 200 OK\r\nX-A: 1\r\nStrict-Transport-Security: max-age=1\r\n\r\n"},
		{[]string{"set-header X-S %[status]"}, "HTTP/1.1 200 OK\r\nServer: s\r\nX-A: 1\r\nX-S: 200\r\n\r\n"},
	} {
		res := new(http1.Response)
		if err := res.Parse([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		m := new(Msg)
		m.Response(res, []byte(raw))
		out := Run(compile(t, Response, tc.rules...), &txn{m: m}, m)
		if out.Rule != nil || out.Fail {
			t.Fatalf("%q: %+v", tc.rules, out)
		}
		if got := string(m.Buf[:m.Resp.Len]); got != tc.want {
			t.Errorf("%q:\n got %q\nwant %q", tc.rules, got, tc.want)
		}
	}
}

func TestRewriteFailure(t *testing.T) {
	m, tx := request(t, baseReq)
	out := Run(compile(t, Request, "set-header X-Bad a\x01b"), tx, m)
	if !out.Fail {
		t.Fatalf("a control byte in a header value must fail the rewrite: %+v", out)
	}
}

func TestRedirects(t *testing.T) {
	req := "GET /as/b?q=1 HTTP/1.1\r\nHost: h.com\r\n\r\n"
	for _, tc := range []struct {
		line, want string
	}{
		// What HAProxy 2.6.12 sent for these rules (probed on loopback).
		{"redirect location /x%[path] code 301", "HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: /x/as/b\r\n"},
		{"redirect prefix https://ex.com set-cookie A=1", "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: https://ex.com/as/b?q=1\r\ncache-control: no-cache\r\nset-cookie: A=1; path=/;\r\n"},
		{"redirect scheme https drop-query append-slash", "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: https://h.com/as/b/\r\ncache-control: no-cache\r\n"},
		{"redirect prefix / append-slash", "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /as/b?q=1/\r\ncache-control: no-cache\r\n"},
		{"redirect location /c clear-cookie B=", "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /c\r\ncache-control: no-cache\r\nset-cookie: B=; path=/; Max-Age=0;\r\n"},
		{"redirect scheme https code 307", "HTTP/1.1 307 Temporary Redirect\r\ncontent-length: 0\r\nlocation: https://h.com/as/b?q=1\r\ncache-control: no-cache\r\n"},
	} {
		m, tx := request(t, req)
		p := compile(t, Request, tc.line)
		out := Run(p, tx, m)
		if out.Rule == nil || out.Rule.Action != Redirect {
			t.Fatalf("%q: %+v", tc.line, out)
		}
		if got := string(AppendRedirect(nil, out.Rule, tx, m)); got != tc.want {
			t.Errorf("%q:\n got %q\nwant %q", tc.line, got, tc.want)
		}
	}
	// The legacy keyword takes its value literally.
	r, err := ParseRedirect(strings.Fields("code 301 location /%[x] if TRUE"), testEnv())
	if err != nil {
		t.Fatal(err)
	}
	m, tx := request(t, req)
	if got := string(AppendRedirect(nil, r, tx, m)); !strings.Contains(got, "location: /%[x]\r\n") {
		t.Errorf("legacy redirect: %q", got)
	}
}

func TestReplies(t *testing.T) {
	for _, tc := range []struct {
		line       string
		kind       ReplyKind
		head, body string
	}{
		{"return status 200 content-type text/plain string hello hdr X-A b", ReplyBody,
			"HTTP/1.1 200 OK\r\nX-A: b\r\ncontent-length: 5\r\ncontent-type: text/plain\r\n", "hello"},
		{"return", ReplyEmpty, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n", ""},
		{"return status 204", ReplyEmpty, "HTTP/1.1 204 No Content\r\n", ""},
		{"deny status 403", ReplyEmpty, "HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n", ""},
		{"deny hdr x-a b", ReplyEmpty, "HTTP/1.1 403 Forbidden\r\nx-a: b\r\ncontent-length: 0\r\n", ""},
		{"return status 404 content-type text/plain lf-string p=%[path]", ReplyLF,
			"HTTP/1.1 404 Not Found\r\ncontent-length: 6\r\ncontent-type: text/plain\r\n", "p=/a/b"},
		{"return content-type text/plain file /etc/page.txt", ReplyBody,
			"HTTP/1.1 200 OK\r\ncontent-length: 9\r\ncontent-type: text/plain\r\n", "page body"},
	} {
		m, tx := request(t, baseReq)
		out := Run(compile(t, Request, tc.line), tx, m)
		rp := out.Rule.Reply
		if rp.Kind != tc.kind {
			t.Errorf("%q: kind %d, want %d", tc.line, rp.Kind, tc.kind)
		}
		h, b := AppendReply(nil, nil, rp, tx)
		if string(h) != tc.head || string(b) != tc.body {
			t.Errorf("%q:\n got %q %q\nwant %q %q", tc.line, h, b, tc.head, tc.body)
		}
	}
	for line, want := range map[string]struct {
		kind   ReplyKind
		status int
	}{
		"deny":                 {ReplyDefault, 403},
		"deny deny_status 429": {ReplyDefault, 429},
		"tarpit":               {ReplyDefault, 500},
		"return status 403 errorfile /etc/403.http": {ReplyRaw, 403},
		"deny errorfiles myerrs":                    {ReplyRaw, 403},
		"return status 503 default-errorfiles":      {ReplyDefault, 503},
	} {
		r, err := Parse(Request, strings.Fields(line), testEnv())
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if r.Reply.Kind != want.kind || r.Reply.Status != want.status {
			t.Errorf("%q: %+v", line, r.Reply)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		ph   Phase
		line string
		want string
	}{
		{Request, "", "missing action"},
		{Request, "frobnicate", "unknown action"},
		{Request, "deny deny_status 418", "not handled by default"},
		{Request, "return status 600", "unexpected status code"},
		{Request, "return string hi", "content type must be defined"},
		{Request, "deny status 403 deny_status 404", "deny_status comes first"},
		{Request, "return deny_status 404", "unexpected argument"},
		{Request, "return errorfile /nope", "error opening file"},
		{Request, "track-sc3 src", "track-sc0, track-sc1 or track-sc2"},
		{Request, "track-sc0", "missing key"},
		{Request, "sc-inc-gpc0(5)", "invalid stick counter"},
		{Request, "sc-inc-gpc0", "expected sc-inc-gpc0(<sc-id>)"},
		{Request, "sc-set-gpt0(0)", "missing value"},
		{Response, "track-sc0 src", "tandem carries out track-sc in http-request"},
		{Request, "set-var-fmt(txn.x)", "missing format"},
		{Request, "set-status 200", "not allowed in http-request"},
		{Response, "set-path /x", "not allowed in http-response"},
		{Response, "redirect prefix /x", "only supports redirect type 'location'"},
		{AfterResponse, "deny", "not allowed"},
		{Response, "capture path len 3", "not supported by tandem yet in http-response"},
		{Request, "set-header X", "missing value"},
		{Request, "set-header X v extra", "unexpected argument \"extra\""},
		{Request, "replace-path (?<=a)b c", "RE2"},
		{Request, "redirect code 305 location /", "only 301, 302, 303, 307 and 308"},
		{Request, "redirect drop-query", "expects 'location', 'prefix' or 'scheme'"},
		{Request, "set-var(x) path", "missing scope"},
		{Request, "set-var(txn.x,ifnotexists) path", "conditions \"ifnotexists\" of set-var() are not supported"},
		{Request, "set-log-level loud", "unknown level"},
		{Request, "use-service lua.foo", "only prometheus-exporter"},
		{Request, "capture path", "len"},
		{Request, "del-header x -m dom", "expected str, beg, end, sub or reg"},
		{Request, "deny if", "missing condition"},
		{Request, "set-header X %[nosuchfetch]", "nosuchfetch"},
	} {
		_, err := Parse(tc.ph, strings.Fields(tc.line), testEnv())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %q: error %v, want it to contain %q", tc.ph, tc.line, err, tc.want)
		}
	}
}

func TestNoRuleFiresAllocatesNothing(t *testing.T) {
	p := compile(t, Request, "deny if { path /x }", "set-header X-Y 1 if { hdr(host) -i other }",
		"redirect scheme https if { path_beg /z }")
	m, tx := request(t, baseReq)
	n := testing.AllocsPerRun(100, func() {
		m.Request(m.Req, m.Buf)
		if out := Run(p, tx, m); out.Rule != nil {
			t.Fatal("a rule fired")
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per request when no rule fires", n)
	}
}

func TestEditsReuseBuffers(t *testing.T) {
	p := compile(t, Request, "set-header X-Y %[path]", "del-header accept")
	m, tx := request(t, baseReq)
	orig := m.Buf
	req := *m.Req
	Run(p, tx, m) // first run grows the buffers
	n := testing.AllocsPerRun(100, func() {
		*m.Req = req
		m.Request(m.Req, orig)
		Run(p, tx, m)
	})
	if n != 0 {
		t.Errorf("%v allocations per request with two edits once buffers are grown", n)
	}
}
