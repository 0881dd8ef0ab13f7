package sample

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

const testReq = "POST http://Www.Example.com/p/a.php?q=z&q=y;k=v HTTP/1.1\r\n" +
	"Host: Www.Example.com\r\n" +
	"X: 1, 2\r\n" +
	"X: 3\r\n" +
	"User-Agent: Mozilla/5.0 (X11, Linux)\r\n" +
	"Cookie: c=1; sid = abc ;c=2\r\n" +
	"Cookie: other=x\r\n" +
	"Content-Length: 0\r\n" +
	"X-Forwarded-For: 10.1.2.3, 2001:db8::1\r\n" +
	"\r\n"

const testRes = "HTTP/1.0 302 Found\r\nLocation: /x\r\nSet-Cookie: s=1; Path=/\r\nSet-Cookie: t=2\r\nX: a,b\r\n\r\n"

func TestFetches(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want string // "" with ok false: "<none>"
		typ  Type
	}{
		{"src", "192.0.2.10", TIPv4},
		{"src_port", "40000", TInt},
		{"dst", "127.0.0.1", TIPv4},
		{"dst_port", "8080", TInt},
		{"method", "POST", TMeth},
		{"url", "http://Www.Example.com/p/a.php?q=z&q=y;k=v", TStr},
		{"path", "/p/a.php", TStr},
		{"pathq", "/p/a.php?q=z&q=y;k=v", TStr},
		{"query", "q=z&q=y;k=v", TStr},
		{"base", "Www.Example.com/p/a.php", TStr},
		{"url_param(q)", "z", TStr},
		{"urlp(k)", "v", TStr},
		{"urlp(nope)", "<none>", TStr},
		{"urlp", "z", TStr},
		{"hdr(x)", "3", TStr},
		{"hdr(x,1)", "1", TStr},
		{"hdr(x,2)", "2", TStr},
		{"hdr(x,-2)", "2", TStr},
		{"hdr(x,4)", "<none>", TStr},
		{"req.hdr(X)", "3", TStr},
		{"req.fhdr(x)", "3", TStr},
		{"req.fhdr(x,1)", "1, 2", TStr},
		{"req.fhdr(user-agent)", "Mozilla/5.0 (X11, Linux)", TStr},
		{"req.hdr(user-agent)", "Linux)", TStr},
		{"hdr_cnt(x)", "3", TInt},
		{"req.hdr_cnt(x)", "3", TInt},
		{"req.fhdr_cnt(x)", "2", TInt},
		{"hdr_cnt(nope)", "0", TInt},
		{"hdr_val(content-length)", "0", TInt},
		{"hdr_ip(x-forwarded-for)", "2001:db8::1", TIPv6},
		{"hdr_ip(x-forwarded-for,1)", "10.1.2.3", TIPv4},
		{"req.cook(c)", "2", TStr},
		{"req.cook(sid)", "abc", TStr},
		{"cook(other)", "x", TStr},
		{"req.cook", "1", TStr},
		{"req.cook_cnt(c)", "2", TInt},
		{"req.cook_cnt", "4", TInt},
		{"req.cook_val(c)", "2", TInt},
		{"req.ver", "1.1", TStr},
		{"req.len", "0", TInt},
		{"req.proto_http", "1", TBool},
		{"always_true", "1", TBool},
		{"always_false", "0", TBool},
		{"int(-12)", "-12", TInt},
		{"str(abc)", "abc", TStr},
		{"ssl_fc", "0", TBool},
		{"status", "<none>", TInt},
		{"res.hdr(location)", "<none>", TStr},
		{"var(txn.nope)", "<none>", TAny},
		{"var(txn.nope,dflt)", "dflt", TStr},
		{"nbsrv(app)", "2", TInt},
		{"nbsrv", "1", TInt},
		{"be_conn(app)", "7", TInt},
		{"fe_conn", "9", TInt},
		{"srv_is_up(app/web1)", "1", TBool},
		{"srv_is_up(app/web2)", "0", TBool},
		{"srv_is_up(app/nope)", "<none>", TBool},
	} {
		txn := newTxn(t, testReq)
		txn.payload = nil
		txn.counters = map[string]int64{
			counterKey(NbSrv, "app", ""): 2, counterKey(NbSrv, "", ""): 1,
			counterKey(BeConn, "app", ""): 7, counterKey(FeConn, "", ""): 9,
			counterKey(SrvIsUp, "app", "web1"): 1, counterKey(SrvIsUp, "app", "web2"): 0,
		}
		checkEval(t, txn, tc.expr, tc.want, tc.typ)
	}
}

func checkEval(t *testing.T, txn Txn, expr, want string, typ Type) {
	t.Helper()
	e, err := ParseExpr(expr, nil)
	if err != nil {
		t.Errorf("%s: %v", expr, err)
		return
	}
	v, ok := e.Eval(txn)
	got := "<none>"
	if ok {
		got = string(v.AppendText(nil))
		if typ != TAny && v.Type != typ {
			t.Errorf("%s: type %s, want %s", expr, v.Type, typ)
		}
	}
	if got != want {
		t.Errorf("%s = %q, want %q", expr, got, want)
	}
}

func TestResponseFetches(t *testing.T) {
	for _, tc := range []struct {
		expr, want string
		typ        Type
	}{
		{"status", "302", TInt},
		{"res.hdr(location)", "/x", TStr},
		{"res.hdr(x)", "b", TStr},
		{"res.fhdr(x)", "a,b", TStr},
		{"res.hdr_cnt(x)", "2", TInt},
		{"res.cook(t)", "2", TStr},
		{"res.cook(s)", "1", TStr},
		{"res.cook_cnt", "2", TInt},
		{"res.ver", "1.0", TStr},
		{"hdr(x)", "b", TStr},     // hdr() reads the response in a response phase
		{"req.hdr(x)", "3", TStr}, // the request is still there
	} {
		txn := newTxn(t, testReq).withResponse(t, testRes)
		checkEval(t, txn, tc.expr, tc.want, tc.typ)
	}
}

func TestPayloadFetches(t *testing.T) {
	txn := newTxn(t, "")
	txn.payload = []byte("\x16\x03\x01hello")
	checkEval(t, txn, "req.len", "8", TInt)
	checkEval(t, txn, "req.payload(0,1),hex", "16", TStr)
	checkEval(t, txn, "req.payload(3,0)", "hello", TBin)
	checkEval(t, txn, "req.payload(3,10)", "<none>", TBin)
	checkEval(t, txn, "req.proto_http", "0", TBool)
	checkEval(t, txn, "path", "<none>", TStr)
	for _, c := range []struct{ payload, want string }{
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "1"},
		{"GET / HTTP/1.1\r\nHost: a\r\n", "<none>"}, // may still become a request
		{"GE", "<none>"},
		{"", "<none>"},
		{"GET / HTTP/1.1\r\nbad header\r\n\r\n", "0"},
		{" GET", "0"},
	} {
		txn.payload = []byte(c.payload)
		checkEval(t, txn, "req.proto_http", c.want, TBool)
	}
	txn.payload = []byte("\x03\x00\x00\x2aCookie: mstshash=bob\r\n")
	checkEval(t, txn, "req.rdp_cookie_cnt", "1", TInt)
	checkEval(t, txn, "req.rdp_cookie_cnt(other)", "0", TInt)
}

func TestVariables(t *testing.T) {
	txn := newTxn(t, testReq)
	st := txn.State()
	st.SetVar(ScopeTxn, "host", Str([]byte("a.example")))
	st.SetVar(ScopeSess, "n", Int(41))
	checkEval(t, txn, "var(txn.host)", "a.example", TStr)
	checkEval(t, txn, "var(sess.n),add(1)", "42", TInt)
	checkEval(t, txn, "int(2),add(sess.n)", "43", TInt)
	checkEval(t, txn, "str(x),concat(<,txn.host,>)", "x<a.example>", TStr)
	st.Reset()
	checkEval(t, txn, "var(txn.host)", "<none>", TAny)
	checkEval(t, txn, "var(sess.n)", "41", TInt)
	st.ResetAll()
	checkEval(t, txn, "var(sess.n)", "<none>", TAny)
}

func TestConverters(t *testing.T) {
	maps := map[string]string{
		"/m/hosts.map": "# comment\nwww.example.com be_www\napi.example.com\tbe_api\n\n",
		"/m/beg.map":   "/api be_api\n/ be_root\n/static be_static\n",
		"/m/ip.map":    "10.0.0.0/8 ten\n10.1.0.0/16 ten-one\n192.0.2.10 exact\n2001:db8::/32 v6\n",
		"/m/dom.map":   "example.com dom\n",
		"/m/reg.map":   `^/u/[0-9]+$ user` + "\n",
		"/m/int.map":   "404 notfound\n200 ok\n",
		"/m/num.map":   "a 17\n",
	}
	ctx := &Ctx{Store: NewStore(), ReadFile: func(n string) ([]byte, error) {
		if s, ok := maps[n]; ok {
			return []byte(s), nil
		}
		return nil, errNoFile
	}}
	for _, tc := range []struct {
		expr, want string
	}{
		{"str(HeLLo),lower", "hello"},
		{"str(HeLLo),upper", "HELLO"},
		{"str(Hello),base64", "SGVsbG8="},
		{"str(Hello),length", "5"},
		{"str(a.b.c),field(2,.)", "b"},
		{"str(a.b.c),field(-1,.)", "c"},
		{"str(a.b.c.d),field(2,.,2)", "b.c"},
		{"str(a.b.c.d),field(-2,.,2)", "b.c"},
		{"str(a.b.c),field(5,.)", ""},
		{"str(a..b),field(2,.)", ""},
		{"str(a..b),word(2,.)", "b"},
		{"str(/a//b/c),word(2,/)", "b"},
		{"str(a/b/c),regsub(/,_,g)", "a_b_c"},
		{"str(a/b/c),regsub(/,_)", "a_b/c"},
		{`str(abc),regsub('(b)','[\1]')`, "a[b]c"},
		{"str(ABC),regsub(b,x,gi)", "AxC"},
		{"src,ipmask(24)", "192.0.2.0"},
		{"src,ipmask(255.255.0.0)", "192.0.0.0"},
		{"str(x),concat(<,txn.nope,>)", "x<>"},
		{"int(5),add(2),mul(3),sub(1),div(4)", "5"},
		{"int(7),mod(4),neg", "-3"},
		{"hdr(host),lower,map(/m/hosts.map,be_default)", "be_www"},
		{"str(nope),map(/m/hosts.map,be_default)", "be_default"},
		{"str(nope),map(/m/hosts.map)", "<none>"},
		{"str(api.example.com),map_str(/m/hosts.map)", "be_api"},
		{"path,map_beg(/m/beg.map)", "be_root"},
		{"str(/api/v1),map_beg(/m/beg.map)", "be_api"},
		{"str(10.1.2.3),map_ip(/m/ip.map)", "ten-one"},
		{"src,map_ip(/m/ip.map)", "exact"},
		{"str(10.9.9.9),map_ip(/m/ip.map)", "ten"},
		{"str(2001:db8::5),map_ip(/m/ip.map)", "v6"},
		{"str(11.0.0.1),map_ip(/m/ip.map,none)", "none"},
		{"str(www.example.com),map_dom(/m/dom.map)", "dom"},
		{"str(/u/42),map_reg(/m/reg.map)", "user"},
		{"str(/u/x),map_reg(/m/reg.map,no)", "no"},
		{"int(404),map_int(/m/int.map)", "notfound"},
		{"str(a),map_str_int(/m/num.map),add(1)", "18"},
	} {
		e, err := ParseExpr(tc.expr, ctx)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		txn := newTxn(t, testReq)
		v, ok := e.Eval(txn)
		got := "<none>"
		if ok {
			got = string(v.AppendText(nil))
		}
		if got != tc.want {
			t.Errorf("%s = %q, want %q", tc.expr, got, tc.want)
		}
	}
}

type fileError string

func (e fileError) Error() string { return string(e) }

const errNoFile = fileError("no such file")

func TestParseExprErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"nope", `unknown fetch method "nope"`},
		{"ssl_fc_session_reused", "does not support yet"}, // not a fetch of HAProxy 2.6
		{"ssl_c_s_dn(CN,1,ldap)", `HAProxy knows only "rfc2253"`},
		{"ssl_c_s_dn(CN,x)", "not an integer"},
		{"path_beg", "only an ACL keyword"},
		{"hdr(host,x)", "not an integer"},
		{"req.fhdr", "missing argument"},
		{"path,nope", `unknown converter "nope"`},
		{"path,lower(1)", "at most 0 arguments"},
		{"str(a),field(0,.)", "index 0"},
		{`str(a),regsub('(a)\1',b)`, "backreferences"},
		{"str(a),regsub('(?=a)',b)", "RE2"},
		{"path,map(/nope.map)", "/nope.map"},
		{"var(x)", "missing scope"},
		{"var(foo.x)", "unknown scope"},
		{"var(proc.x)", "not supported"},
		{"hdr(host", "missing ')'"},
		{"path]", `unexpected "]"`},
		{"src,ipmask(33)", "out of 0..32"},
		{"src,ipmask(255.0.255.0)", "contiguous"},
	} {
		_, err := ParseExpr(tc.expr, &Ctx{Store: NewStore(), ReadFile: func(string) ([]byte, error) { return nil, errNoFile }})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseExpr(%q) = %v, want an error with %q", tc.expr, err, tc.want)
		}
	}
}

func TestWhere(t *testing.T) {
	ctx := &Ctx{Where: WhereHTTPRequest}
	if _, err := ParseExpr("status", ctx); err == nil || !strings.Contains(err.Error(), "HTTP response") {
		t.Errorf("status in http-request: %v", err)
	}
	ctx.Where = WhereTCPConnection
	if _, err := ParseExpr("path", ctx); err == nil {
		t.Error("path in tcp-request connection: accepted")
	}
	if _, err := ParseExpr("src", ctx); err != nil {
		t.Errorf("src in tcp-request connection: %v", err)
	}
	_ = netip.Addr{}
}

// TestFieldBeyond64: field and word count every field, however many there are (they
// kept the first 64). The answers are haproxy 2.6's on the same header.
func TestFieldBeyond64(t *testing.T) {
	var p []string
	for i := 1; i <= 70; i++ {
		p = append(p, "f"+strconv.Itoa(i))
	}
	txn := newTxn(t, "GET / HTTP/1.1\r\nHost: a\r\nX: "+strings.Join(p, "|")+"\r\n\r\n")
	for expr, want := range map[string]string{
		"req.fhdr(x),field(-1,|)":   "f70",
		"req.fhdr(x),field(70,|)":   "f70",
		"req.fhdr(x),field(65,|,0)": "f65|f66|f67|f68|f69|f70",
		"req.fhdr(x),word(-2,|,2)":  "f68|f69",
	} {
		checkEval(t, txn, expr, want, TStr)
	}
}
