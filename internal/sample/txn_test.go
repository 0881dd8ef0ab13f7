package sample

import (
	"net/netip"
	"testing"

	"tandem/internal/http1"
)

// testTxn is a Txn over a parsed request (and optionally a response).
type testTxn struct {
	src, dst netip.AddrPort
	reqBuf   []byte
	req      *http1.Request
	resBuf   []byte
	res      *http1.Response
	payload  []byte
	counters map[string]int64 // "kind/proxy/server"
	st       State
}

func newTxn(tb testing.TB, raw string) *testTxn {
	tb.Helper()
	t := &testTxn{
		src: netip.MustParseAddrPort("192.0.2.10:40000"),
		dst: netip.MustParseAddrPort("127.0.0.1:8080"),
	}
	if raw != "" {
		t.reqBuf = []byte(raw)
		t.req = new(http1.Request)
		if err := t.req.Parse(t.reqBuf); err != nil {
			tb.Fatalf("parse %q: %v", raw, err)
		}
		t.payload = t.reqBuf
	}
	return t
}

func (t *testTxn) withResponse(tb testing.TB, raw string) *testTxn {
	tb.Helper()
	t.resBuf = []byte(raw)
	t.res = new(http1.Response)
	if err := t.res.Parse(t.resBuf); err != nil {
		tb.Fatalf("parse %q: %v", raw, err)
	}
	return t
}

func (t *testTxn) Addrs() (netip.AddrPort, netip.AddrPort) { return t.src, t.dst }
func (t *testTxn) Request() (*http1.Request, []byte) {
	if t.req == nil {
		return nil, nil
	}
	return t.req, t.reqBuf
}
func (t *testTxn) Response() (*http1.Response, []byte) {
	if t.res == nil {
		return nil, nil
	}
	return t.res, t.resBuf
}
func (t *testTxn) Payload() []byte { return t.payload }
func (t *testTxn) Counter(c Counter, proxy, server string) (int64, bool) {
	n, ok := t.counters[counterKey(c, proxy, server)]
	return n, ok
}
func (t *testTxn) State() *State { return &t.st }

func counterKey(c Counter, proxy, server string) string {
	return string(rune('0'+c)) + "/" + proxy + "/" + server
}

func TestSeamCondition(t *testing.T) {
	acls := NewACLSet()
	for _, w := range [][]string{
		{"is_api", "path_beg", "/api/"},
		{"host_a", "hdr(host)", "-i", "a.example"},
	} {
		a, err := ParseACL(w, nil)
		if err != nil {
			t.Fatal(err)
		}
		acls.Add(a)
	}
	c, err := ParseCond([]string{"if", "is_api", "host_a", "||", "{", "src", "10.0.0.0/8", "}"}, acls, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Match(newTxn(t, "GET /api/x HTTP/1.1\r\nHost: A.example\r\n\r\n")) {
		t.Error("api on host a: want a match")
	}
	if c.Match(newTxn(t, "GET /web HTTP/1.1\r\nHost: a.example\r\n\r\n")) {
		t.Error("/web from 192.0.2.10: want no match")
	}
	var nilCond *Cond
	if !nilCond.Match(newTxn(t, "")) {
		t.Error("a nil condition is true")
	}
}

func mustAddrPort(s string) netip.AddrPort {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap
	}
	return netip.AddrPortFrom(netip.MustParseAddr(s), 40000)
}
