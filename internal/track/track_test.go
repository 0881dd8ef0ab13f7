package track

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"tandem/internal/http1"
	"tandem/internal/sample"
	"tandem/internal/stick"
)

// txn is a sample.Txn with stick counters, on a clock the test moves.
type txn struct {
	Session
	src netip.AddrPort
	st  sample.State
}

func (t *txn) Addrs() (netip.AddrPort, netip.AddrPort)              { return t.src, netip.AddrPort{} }
func (t *txn) Request() (*http1.Request, []byte)                    { return nil, nil }
func (t *txn) Response() (*http1.Response, []byte)                  { return nil, nil }
func (t *txn) Payload() []byte                                      { return nil }
func (t *txn) State() *sample.State                                 { return &t.st }
func (t *txn) Counter(sample.Counter, string, string) (int64, bool) { return 0, false }

func newTable(t *testing.T, name, store string, now time.Time) *stick.Table {
	t.Helper()
	def := stick.Def{Name: name, Type: stick.KeyIP, Size: 100, Expire: 30 * time.Second}
	for _, s := range strings.Split(store, ",") {
		name, period, _ := strings.Cut(strings.TrimSuffix(s, ")"), "(")
		d, ok := stick.ParseData(name)
		if !ok {
			t.Fatalf("data %q", name)
		}
		p := time.Duration(0)
		if period != "" {
			p, _ = time.ParseDuration(period)
		}
		def.Store.Add(d, p)
	}
	return stick.New(def, now)
}

func key(t *testing.T, tab *stick.Table, ip string) stick.Key {
	k, ok := tab.KeyAddr(netip.MustParseAddr(ip))
	if !ok {
		t.Fatal("key")
	}
	return k
}

// TestSessionCounts: the first tracker of a slot wins; a stream tracker from HTTP rules
// counts its request; requests, errors (4xx), failures (5xx but 501 and 505) and bytes
// count once per tracked slot; ending the stream, then the session, gives conn_cur back.
func TestSessionCounts(t *testing.T) {
	now := time.Unix(1000, 0)
	tab := newTable(t, "t", "conn_cur,conn_cnt,http_req_cnt,http_err_cnt,http_fail_cnt,bytes_in_cnt", now)
	s := &Session{Tables: map[string]*stick.Table{"t": tab}, Clock: func() time.Time { return now }}
	k := key(t, tab, "192.0.2.1")
	get := func(d stick.Data) uint64 {
		e := tab.Lookup(k, now)
		if e == nil {
			return 0
		}
		v, _ := e.Get(d, now)
		return v
	}
	s.AtConnection = true
	e := s.Track(0, tab, k)
	s.AtConnection = false
	if e == nil || s.Sess.Entry(0) != e || s.Stream.Entry(0) != nil {
		t.Fatal("tcp-request connection track-sc0 must track for the session")
	}
	if s.Track(0, tab, k) != nil {
		t.Fatal("a slot tracked by the session must not be tracked again by the stream")
	}
	s.CountHTTPReq() // a request starts: counted on sc0
	s.HTTP = true
	if s.Track(1, tab, k) == nil || s.Stream.Entry(1) == nil {
		t.Fatal("http-request track-sc1 must track for the stream")
	}
	s.HTTP = false
	if got := get(stick.HTTPReqCnt); got != 2 {
		t.Errorf("http_req_cnt = %d, want 2 (the session's count and track-sc1's)", got)
	}
	if got := get(stick.ConnCur); got != 2 {
		t.Errorf("conn_cur = %d, want 2", got)
	}
	for _, st := range []int{200, 404, 501, 503, 505} {
		s.CountResponse(st)
	}
	if e, f := get(stick.HTTPErrCnt), get(stick.HTTPFailCnt); e != 2 || f != 2 {
		t.Errorf("http_err_cnt %d, http_fail_cnt %d: want 2 and 2 (one 404 and one 503, on two slots)", e, f)
	}
	s.CountBytes(100, 0)
	if got := get(stick.BytesInCnt); got != 200 {
		t.Errorf("bytes_in_cnt = %d, want 200", got)
	}
	s.EndStream()
	if got := get(stick.ConnCur); got != 1 || s.Tracked(1) != nil || s.Tracked(0) == nil {
		t.Errorf("after the stream: conn_cur %d, sc1 %v, sc0 %v", got, s.Tracked(1), s.Tracked(0))
	}
	s.End()
	if got := get(stick.ConnCur); got != 0 || s.Any() {
		t.Errorf("after the session: conn_cur %d, tracking %v", got, s.Any())
	}
}

// TestFetches evaluates the stick-counter fetches and converters in order over one
// tracked source, as HAProxy 2.6 answers them (checked against Debian's haproxy by
// e2e TestStickFetchesMatchHAProxy): an untracked counter gives no sample, a data
// type the table does not store gives none, a key not in the table reads 0.
func TestFetches(t *testing.T) {
	now := time.Unix(1000, 0)
	tab := newTable(t, "t", "http_req_rate(10s),gpc0,gpc0_rate(10s),conn_cur,bytes_in_cnt,gpt0", now)
	other := newTable(t, "o", "http_req_cnt", now)
	tx := &txn{src: netip.MustParseAddrPort("192.0.2.10:1234")}
	tx.Tables = map[string]*stick.Table{"t": tab, "o": other}
	tx.Clock = func() time.Time { return now }
	k := key(t, tab, "192.0.2.10")
	tx.HTTP = true
	tx.Track(0, tab, k)
	tx.HTTP = false
	tx.CountHTTPReq()
	tx.CountHTTPReq()
	tx.CountBytes(3000, 0)
	var tables []string
	ctx := &sample.Ctx{Proxy: "t", UseTable: func(n string) { tables = append(tables, n) }}
	for _, c := range []struct {
		expr string
		want string // "" : no sample
	}{
		{"sc0_http_req_rate", "3"},
		{"sc_http_req_rate(0)", "3"},
		{"sc_http_req_rate(0,t)", "3"},
		{"sc_http_req_rate(0,o)", "0"}, // not in o: 0
		{"sc1_http_req_rate", ""},      // not tracked
		{"sc0_http_err_rate", ""},      // not stored
		{"sc0_conn_cur", "1"},
		{"sc0_trackers", "1"},
		{"sc0_tracked", "1"},
		{"sc2_tracked", "0"},
		{"sc0_kbytes_in", "2"},
		{"sc0_get_gpc0", "0"},
		{"sc0_inc_gpc0", "1"},
		{"sc_inc_gpc0(0)", "2"},
		{"sc_get_gpc0(0)", "2"},
		{"sc0_gpc0_rate", "2"},
		{"sc0_clr_gpc0", "2"},
		{"sc0_get_gpc0", "0"},
		{"sc0_get_gpt0", "0"},
		{"src_http_req_rate", "3"},
		{"src_http_req_rate(t)", "3"},
		{"src_http_req_cnt(o)", "0"},
		{"src_inc_gpc0", "1"},
		{"src_get_gpc0", "1"},
		{"str(192.0.2.10),table_http_req_rate(t)", "3"},
		{"str(10.0.0.1),table_http_req_rate(t)", "0"},
		{"src,table_gpc0(t)", "1"},
		{"src,table_http_err_rate(t)", ""}, // not stored
		{"src,table_trackers(t)", "1"},
		{"src,table_conn_cur(t)", "1"},
		{"str(nonsense),table_conn_cur(t)", ""}, // not an address: no key
	} {
		e, err := sample.ParseExpr(c.expr, ctx)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		got := ""
		if v, ok := e.Eval(tx); ok {
			got = string(v.AppendText(nil))
		}
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
	if len(tables) == 0 || tables[0] != "t" {
		t.Errorf("tables named: %v", tables)
	}
	// Twenty seconds later the rate is gone.
	now = now.Add(20 * time.Second)
	e, _ := sample.ParseExpr("sc0_http_req_rate", ctx)
	if v, ok := e.Eval(tx); !ok || v.I != 0 {
		t.Errorf("after 20s: sc0_http_req_rate = %v %v, want 0", v.I, ok)
	}
}

// TestFetchErrors: arguments HAProxy refuses are errors when the expression compiles.
func TestFetchErrors(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{"sc_http_req_rate(3)", "invalid stick counter"},
		{"sc_http_req_rate", "argument"},
		{"src_conn_rate", "needs a table here"},
		{"src,table_conn_cur", "argument"},
	} {
		_, err := sample.ParseExpr(c.expr, &sample.Ctx{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.expr, err, c.want)
		}
	}
}

// TestKey: samples become keys as HAProxy casts them.
func TestKey(t *testing.T) {
	now := time.Unix(0, 0)
	ip := newTable(t, "ip", "conn_cnt", now)
	in := stick.New(stick.Def{Name: "i", Type: stick.KeyInteger, Size: 10}, now)
	st := stick.New(stick.Def{Name: "s", Type: stick.KeyString, KeyLen: 32, Size: 10}, now)
	a := netip.MustParseAddr("192.0.2.7")
	want, _ := ip.KeyAddr(a)
	for _, v := range []sample.Value{sample.IP(a), sample.Str([]byte("192.0.2.7")), sample.Int(0xC0000207)} {
		if k, ok := Key(ip, v, true); !ok || k != want {
			t.Errorf("ip key of %v: %v %v", v, k, ok)
		}
	}
	if _, ok := Key(ip, sample.Str([]byte("x")), false); ok {
		t.Error("a string that is no address made an ip key")
	}
	wi, _ := in.KeyInt(42)
	if k, ok := Key(in, sample.Str([]byte("42")), false); !ok || k != wi {
		t.Error("integer key from a string")
	}
	ws, _ := st.KeyString("192.0.2.7")
	if k, ok := Key(st, sample.IP(a), true); !ok || k != ws {
		t.Error("string key from an address")
	}
}

// TestCountSession: an accepted session counts sess_cnt and sess_rate once per slot the
// session tracks (the same entry in two slots counts twice, as HAProxy's per-counter
// loop), and nothing on what only a stream tracks.
func TestCountSession(t *testing.T) {
	now := time.Unix(1000, 0)
	tab := newTable(t, "t", "sess_cnt,sess_rate(10s)", now)
	s := &Session{Tables: map[string]*stick.Table{"t": tab}, Clock: func() time.Time { return now }}
	a, b := key(t, tab, "192.0.2.1"), key(t, tab, "192.0.2.2")
	s.AtConnection = true
	s.Track(0, tab, a)
	s.Track(1, tab, a)
	s.AtConnection = false
	s.Track(2, tab, b) // a stream tracker
	s.CountSession()
	for _, c := range []struct {
		k    stick.Key
		d    stick.Data
		want uint64
	}{{a, stick.SessCnt, 2}, {a, stick.SessRate, 2}, {b, stick.SessCnt, 0}, {b, stick.SessRate, 0}} {
		if v, ok := tab.Lookup(c.k, now).Get(c.d, now); !ok || v != c.want {
			t.Errorf("%v of %v: %d %v, want %d", c.d, c.k, v, ok, c.want)
		}
	}
	var none Session
	none.CountSession() // nothing tracked: nothing to count, no clock read
}

// TestForStream: a stream of a multiplexed connection sees and counts on what the
// connection's rules track, tracks for itself, and its end releases only its own
// trackers; the connection's go when the connection ends.
func TestForStream(t *testing.T) {
	now := time.Unix(1000, 0)
	tab := newTable(t, "t", "conn_cur,http_req_cnt", now)
	conn := &Session{Tables: map[string]*stick.Table{"t": tab}, Clock: func() time.Time { return now }}
	k := key(t, tab, "192.0.2.1")
	curOf := func() uint64 {
		v, _ := tab.Lookup(k, now).Get(stick.ConnCur, now)
		return v
	}
	conn.AtConnection = true
	conn.Track(0, tab, k)
	conn.AtConnection = false
	for i := 0; i < 2; i++ {
		s := conn.ForStream()
		if s.Tracked(0) == nil {
			t.Fatal("a stream must see the connection's sc0")
		}
		s.CountHTTPReq()
		s.HTTP = true
		if s.Track(1, tab, k) == nil {
			t.Fatal("a stream tracks sc1 for itself")
		}
		s.HTTP = false
		if got := curOf(); got != 2 {
			t.Fatalf("conn_cur %d during stream %d, want 2 (the connection and the stream)", got, i)
		}
		s.End()
		if got := curOf(); got != 1 || conn.Tracked(0) == nil {
			t.Fatalf("after stream %d: conn_cur %d, want 1: the connection's tracker stays", i, got)
		}
	}
	v, _ := tab.Lookup(k, now).Get(stick.HTTPReqCnt, now)
	if v != 4 {
		t.Errorf("http_req_cnt %d, want 4 (two streams, each counted on sc0 and by its track-sc1)", v)
	}
	conn.End()
	if got := curOf(); got != 0 {
		t.Errorf("conn_cur %d after the connection, want 0", got)
	}
}
