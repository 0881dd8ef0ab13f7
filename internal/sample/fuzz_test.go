package sample

import (
	"strings"
	"testing"

	"tandem/internal/http1"
)

func fuzzACLs() *ACLSet {
	acls := NewACLSet()
	for _, l := range []string{"a path_beg /a", "b hdr(host) -i x", "c src 10.0.0.0/8"} {
		a, err := ParseACL(strings.Fields(l), nil)
		if err != nil {
			panic(err)
		}
		acls.Add(a)
	}
	return acls
}

// FuzzParseCond: condition and anonymous ACL parsing never panics, and a condition
// it accepts can be evaluated.
func FuzzParseCond(f *testing.F) {
	for _, s := range []string{
		"if a b || !c", "unless { path_beg /x /y } a", "if { hdr(host),lower -m dom -i example.com }",
		"if !{ src -f /x.lst }", "if { hdr_cnt(x) gt 1 } || { path_reg ^/(a|b)+$ }",
		"if { req.payload(0,2),hex -m beg 16 }", "if { url_param(x) -m found }", "if { status ge 500 }",
	} {
		f.Add(s)
	}
	acls := fuzzACLs()
	f.Fuzz(func(t *testing.T, s string) {
		ctx := &Ctx{Store: NewStore(), ReadFile: func(string) ([]byte, error) { return []byte(s), nil }}
		c, err := ParseCond(strings.Fields(s), acls, ctx)
		if err != nil || c == nil {
			return
		}
		c.Match(newTxn(t, "GET /a?x=1 HTTP/1.1\r\nHost: X\r\n\r\n"))
	})
}

// FuzzParseExpr: expression and log-format parsing never panics, and what parses
// evaluates.
func FuzzParseExpr(f *testing.F) {
	for _, s := range []string{
		"req.hdr(host),lower,map(/m,dflt)", "str(a.b),field(-1,.,2)", "src,ipmask(24,64)",
		`str(abc),regsub('(b)','[\1]',g)`, "var(txn.x,def),concat(a,txn.y,b)", "int(3),add(txn.x),div(0)",
		"url_param(q,;)", "hdr(x,-2)", "req.payload(1,3),base64",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ctx := &Ctx{Store: NewStore(), ReadFile: func(string) ([]byte, error) { return []byte("a b\n1 2\n"), nil }}
		txn := newTxn(t, "GET /a?q=1;x HTTP/1.1\r\nHost: X\r\nX: 1,2\r\n\r\n")
		if e, err := ParseExpr(s, ctx); err == nil {
			e.Eval(txn)
		}
		if lf, err := ParseLogFormat(s, ctx); err == nil {
			lf.Append(nil, txn)
		}
	})
}

var fuzzConds = []string{
	"if { path_beg /api } { hdr(host) -i -m dom example.com }",
	"if { hdr_cnt(cookie) gt 1 } || { req.cook(sid) -m found } || { url_param(id) -m int ge 3 }",
	"if { base_beg -i www.example.com/ } !{ method GET HEAD } || { hdr_ip(x-forwarded-for) 10.0.0.0/8 ::1 }",
	"if { path_reg -i ^/(a|b)/[0-9]+$ } || { path_dir api } || { path_end .php } || { query -m sub x= }",
	"if { req.fhdr(user-agent) -m sub bot } || { hdr_val(content-length) gt 100 } || { urlp_val(p) lt 0 }",
	"if HTTP_1.1 METH_GET HTTP_URL_SLASH || HTTP_CONTENT || HTTP_URL_ABS || LOCALHOST",
}

// FuzzEval: the fixed conditions and expressions over arbitrary request bytes that
// http1 accepts never panic.
func FuzzEval(f *testing.F) {
	f.Add([]byte("GET /a/1?id=4 HTTP/1.1\r\nHost: www.example.com\r\nCookie: sid=1; a=2\r\n\r\n"))
	f.Add([]byte("POST http://h/x.php HTTP/1.0\r\nContent-Length: 3\r\nX-Forwarded-For: 10.0.0.1, ::1\r\n\r\nabc"))
	f.Add([]byte("GET * HTTP/1.1\r\nHost: a\r\nUser-Agent: a, b, bot\r\n\r\n"))
	var conds []*Cond
	for _, s := range fuzzConds {
		c, err := ParseCond(strings.Fields(s), NewACLSet(), nil)
		if err != nil {
			f.Fatal(err)
		}
		conds = append(conds, c)
	}
	var exprs []*Expr
	for _, s := range []string{"base", "path", "query", "req.cook", "hdr(x-forwarded-for,-1)", "url_param", "req.hdr_cnt", "hdr(host),lower,field(1,:)"} {
		e, err := ParseExpr(s, nil)
		if err != nil {
			f.Fatal(err)
		}
		exprs = append(exprs, e)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		txn := &testTxn{reqBuf: b, payload: b, req: new(http1.Request)}
		if txn.req.Parse(b) != nil {
			txn.req = nil
		}
		for _, c := range conds {
			c.Match(txn)
		}
		for _, e := range exprs {
			e.Eval(txn)
		}
	})
}
