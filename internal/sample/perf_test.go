package sample

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// bigNets is 1,000 distinct /24 and /32 networks, in no order.
func bigNets() string {
	var b strings.Builder
	for i := 0; i < 1000; i++ {
		x := (i * 7919) % 1000
		if i%2 == 0 {
			fmt.Fprintf(&b, "10.%d.%d.0/24\n", x/250, x%250)
		} else {
			fmt.Fprintf(&b, "172.16.%d.%d\n", x/250, x%250)
		}
	}
	return b.String()
}

// perfCond returns a condition and a request that satisfies its first group only when
// every ACL of that group is evaluated (src list, path, header, map, header count).
func perfCond(tb testing.TB) (*Cond, *testTxn) {
	files := map[string]string{
		"/big.lst":  bigNets(),
		"/host.map": "a.example be_a\nb.example be_b\n",
	}
	ctx := &Ctx{Store: NewStore(), ReadFile: func(n string) ([]byte, error) { return []byte(files[n]), nil }}
	acls := NewACLSet()
	for _, l := range []string{
		"blocked src -f /big.lst",
		"api path_beg /api/ /v2/",
		"host_a hdr(host) -i a.example",
		"mapped hdr(host),lower,map(/host.map) -m str be_a",
		"many hdr_cnt(x-forwarded-for) gt 3",
		"static path_end -i .css .js .png",
	} {
		a, err := ParseACL(strings.Fields(l), ctx)
		if err != nil {
			tb.Fatal(err)
		}
		acls.Add(a)
	}
	c, err := ParseCond(strings.Fields("if !blocked api host_a mapped !many || static { method GET HEAD } || { url_param(x) -m found }"), acls, ctx)
	if err != nil {
		tb.Fatal(err)
	}
	txn := newTxn(tb, "GET /api/v1/users?id=3 HTTP/1.1\r\nHost: A.Example\r\nX-Forwarded-For: 1.2.3.4\r\nUser-Agent: test\r\n\r\n")
	return c, txn
}

// TestMatchAllocs: evaluating a condition over a parsed request allocates nothing
// once the transaction's scratch space has grown, both when every ACL of the first
// group runs and matches and when every group is tried and fails.
func TestMatchAllocs(t *testing.T) {
	c, txn := perfCond(t)
	// /API/ fails path_beg (case-sensitive) and path_end, so every group is tried.
	miss := newTxn(t, "GET /API/v1/users?id=3 HTTP/1.1\r\nHost: A.Example\r\nX-Forwarded-For: 1.2.3.4\r\nUser-Agent: test\r\n\r\n")
	for _, tc := range []struct {
		name string
		txn  *testTxn
		want bool
	}{{"match", txn, true}, {"miss", miss, false}} {
		if got := c.Match(tc.txn); got != tc.want {
			t.Fatalf("%s: Match = %v, want %v", tc.name, got, tc.want)
		}
		if n := testing.AllocsPerRun(200, func() { c.Match(tc.txn) }); n != 0 {
			t.Errorf("%s: Cond.Match allocates %.1f times per run, want 0", tc.name, n)
		}
	}
	e, err := ParseExpr("req.hdr(host),lower,concat(:,txn.x,)", nil)
	if err != nil {
		t.Fatal(err)
	}
	txn.st.SetVar(ScopeTxn, "x", Int(3))
	lf, err := ParseLogFormat("host=%[req.hdr(host),lower] src=%[src] n=%[var(txn.x)] %%", nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 256)
	e.Eval(txn)
	if n := testing.AllocsPerRun(200, func() { e.Eval(txn); buf = lf.Append(buf[:0], txn) }); n != 0 {
		t.Errorf("Expr.Eval and LogFormat.Append allocate %.1f times per run, want 0", n)
	}
	if got := string(lf.Append(nil, txn)); got != "host=a.example src=192.0.2.10 n=3 %" {
		t.Errorf("log format: %q", got)
	}
}

// TestBigCIDRList: 1,000 networks are merged into sorted ranges searched in
// O(log n), and every listed address matches while its neighbours do not.
func TestBigCIDRList(t *testing.T) {
	ctx := &Ctx{Store: NewStore(), ReadFile: func(string) ([]byte, error) { return []byte(bigNets()), nil }}
	a, err := ParseACL([]string{"blocked", "src", "-f", "/big.lst"}, ctx)
	if err != nil {
		t.Fatal(err)
	}
	ps := a.views[0].set()
	if len(ps.v4) != 1000 {
		t.Fatalf("%d ranges, want 1000 (none of them touch)", len(ps.v4))
	}
	for i := 1; i < len(ps.v4); i++ {
		if ps.v4[i].lo <= ps.v4[i-1].hi {
			t.Fatalf("ranges %d and %d are not sorted and disjoint", i-1, i)
		}
	}
	for i := 0; i < 1000; i++ {
		x := (i * 7919) % 1000
		var in, out string
		if i%2 == 0 {
			in, out = fmt.Sprintf("10.%d.%d.77", x/250, x%250), fmt.Sprintf("10.%d.%d.0", 4+x/250, x%250)
		} else {
			in, out = fmt.Sprintf("172.16.%d.%d", x/250, x%250), fmt.Sprintf("172.17.%d.%d", x/250, x%250)
		}
		for _, c := range []struct {
			addr string
			want bool
		}{{in, true}, {out, false}} {
			txn := newTxn(t, "")
			txn.src = netip.AddrPortFrom(netip.MustParseAddr(c.addr), 1)
			if got := a.Match(txn); got != c.want {
				t.Fatalf("src %s: %v, want %v", c.addr, got, c.want)
			}
		}
	}
}

func BenchmarkCondMatch(b *testing.B) {
	c, txn := perfCond(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c.Match(txn)
	}
}

func BenchmarkBigCIDR(b *testing.B) {
	ctx := &Ctx{Store: NewStore(), ReadFile: func(string) ([]byte, error) { return []byte(bigNets()), nil }}
	a, err := ParseACL([]string{"blocked", "src", "-f", "/big.lst"}, ctx)
	if err != nil {
		b.Fatal(err)
	}
	txn := newTxn(b, "")
	txn.src = netip.MustParseAddrPort("172.16.3.200:1")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		a.Match(txn)
	}
}

// TestRegsubAllocs: regsub allocates only the submatch indices regexp returns, one
// slice per match, however long its replacement is.
func TestRegsubAllocs(t *testing.T) {
	long := strings.Repeat("x", 64)
	txn := newTxn(t, "GET /a/b/c/d HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, tc := range []struct {
		expr    string
		want    string
		matches float64
	}{
		{"path,regsub(/,_,g)", "_a_b_c_d", 4},
		{`path,regsub('/(.)','<\1>',g)`, "<a><b><c><d>", 4},
		{"path,regsub(^/a," + long + ")", long + "/b/c/d", 1},
		{`path,regsub('^/(a)','` + long + `\1')`, long + "a/b/c/d", 1},
	} {
		e, err := ParseExpr(tc.expr, nil)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := e.Eval(txn); !ok || string(v.B) != tc.want {
			t.Fatalf("%s: %q %v, want %q", tc.expr, v.B, ok, tc.want)
		}
		if raceEnabled {
			continue // regexp's sync.Pool of matchers is off under the race detector
		}
		if n := testing.AllocsPerRun(100, func() { e.Eval(txn) }); n > tc.matches {
			t.Errorf("%s: %.1f allocations per run, want at most %v (one per match)", tc.expr, n, tc.matches)
		}
	}
}
