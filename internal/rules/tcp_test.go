package rules

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"tandem/internal/http1"
	"tandem/internal/sample"
	"tandem/internal/stick"
	"tandem/internal/track"
)

// tcpTxn is a connection's first bytes with stick counters, as tcpproxy implements it.
type tcpTxn struct {
	track.Session
	payload []byte
	st      sample.State
}

func (t *tcpTxn) Addrs() (netip.AddrPort, netip.AddrPort) {
	return netip.MustParseAddrPort("192.0.2.7:4000"), netip.MustParseAddrPort("127.0.0.1:80")
}
func (t *tcpTxn) Request() (*http1.Request, []byte)                    { return nil, nil }
func (t *tcpTxn) Response() (*http1.Response, []byte)                  { return nil, nil }
func (t *tcpTxn) Payload() []byte                                      { return t.payload }
func (t *tcpTxn) Counter(sample.Counter, string, string) (int64, bool) { return 0, false }
func (t *tcpTxn) State() *sample.State                                 { return &t.st }

func newTCPTxn(t *testing.T) (*tcpTxn, *stick.Table) {
	now := time.Unix(1000, 0)
	def := stick.Def{Name: "fe", Type: stick.KeyIP, Size: 10}
	def.Store.Add(stick.GPC0, 0)
	def.Store.Add(stick.ConnCur, 0)
	tab := stick.New(def, now)
	tx := &tcpTxn{}
	tx.Tables = map[string]*stick.Table{"fe": tab}
	tx.Clock = func() time.Time { return now }
	return tx, tab
}

func compileTCP(t *testing.T, ph TCPPhase, lines ...string) Program {
	t.Helper()
	var p Program
	for _, l := range lines {
		r, err := ParseTCP(ph, strings.Fields(l), testEnv())
		if err != nil {
			t.Fatalf("%s %s: %v", ph, l, err)
		}
		if r.Action == TrackSC && r.Table == "" {
			r.Table = "fe" // the configuration resolves it
		}
		p = append(p, r)
	}
	return p
}

// TestParseTCP: what each TCP phase takes and refuses.
func TestParseTCP(t *testing.T) {
	for _, c := range []struct {
		ph   TCPPhase
		line string
		want string // error substring, "" : accepted
	}{
		{TCPConnection, "accept", ""},
		{TCPConnection, "reject if { src 10.0.0.0/8 }", ""},
		{TCPConnection, "track-sc0 src table t", ""},
		{TCPConnection, "sc-inc-gpc0(0) if { src 10.0.0.1 }", ""},
		{TCPConnection, "sc-set-gpt0(1) 3", ""},
		{TCPConnection, "set-var(sess.a) src", ""},
		{TCPConnection, "set-var(txn.a) src", "only sess.* variables"},
		{TCPConnection, "reject if { req.len gt 0 }", "cannot be used here"},
		{TCPConnection, "expect-proxy layer4", "not supported by tandem"},
		{TCPConnection, "silent-drop if { src 10.0.0.1 }", ""},
		{TCPConnection, "close", "unknown action"},
		{TCPConnection, "", "missing action"},
		{TCPSession, "track-sc2 src", ""},
		{TCPContent, "accept if { req.len gt 0 }", ""},
		{TCPContent, "reject if WAIT_END", ""},
		{TCPContent, "track-sc1 req.payload(0,4)", ""},
		{TCPContent, "set-var(txn.x) req.payload(0,2)", ""},
		{TCPContent, "unset-var(txn.x)", ""},
		{TCPContent, "set-var(txn.x,ifnotexists) src", "conditions \"ifnotexists\" of set-var() are not supported"},
		{TCPContent, "set-var(txn.x)", "missing sample expression"},
		{TCPContent, "capture req.payload(0,4) len 4", "not supported by tandem"},
		{TCPContent, "accept if", "missing condition"},
		{TCPContent, "accept foo", "unexpected argument"},
		{TCPContent, "track-sc3 src", "unknown action"},
		{TCPResponse, "close", ""},
		{TCPResponse, "track-sc0 src", "unknown action"},
	} {
		_, err := ParseTCP(c.ph, strings.Fields(c.line), testEnv())
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s %s: %v", c.ph, c.line, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s %s: %v, want %q", c.ph, c.line, err, c.want)
		}
	}
}

// TestRunTCPWaits: tcp-request content rules during inspect-delay stop at a rule whose
// condition may still change, resume there (earlier rules are not run again) as bytes
// arrive, and are final once State.WaitEnd is set.
func TestRunTCPWaits(t *testing.T) {
	prog := compileTCP(t, TCPContent,
		"track-sc0 src",
		"sc-inc-gpc0(0)",
		"reject if { req.payload(0,4) -m bin 51554954 }",
		"accept if { req.len ge 5 }",
		"reject if WAIT_END",
	)
	type step struct {
		payload string
		end     bool
		want    Verdict
		next    int
	}
	for _, c := range []struct {
		name  string
		steps []step
	}{
		{"accepted as bytes arrive", []step{{"B", false, Wait, 2}, {"BCD", false, Wait, 2}, {"BCDE", false, Wait, 3}, {"BCDEF", false, Accepted, 4}}},
		{"rejected on its first 4 bytes", []step{{"QU", false, Wait, 2}, {"QUIT", false, Rejected, 3}}},
		{"too short at the deadline", []step{{"x", false, Wait, 2}, {"x", true, Rejected, 5}}},
		{"nothing at all at the deadline", []step{{"", true, Rejected, 5}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tx, tab := newTCPTxn(t)
			next := 0
			for i, s := range c.steps {
				tx.payload = []byte(s.payload)
				tx.st.WaitEnd = s.end
				var v Verdict
				v, next = RunTCP(prog, next, tx, true)
				if v != s.want || next != s.next {
					t.Fatalf("step %d (%q, end %v): %v at %d, want %v at %d", i, s.payload, s.end, v, next, s.want, s.next)
				}
			}
			k, _ := tab.KeyAddr(netip.MustParseAddr("192.0.2.7"))
			e := tab.Lookup(k, time.Unix(1000, 0))
			if g, _ := e.GetGPC(0, time.Unix(1000, 0)); g != 1 {
				t.Errorf("gpc0 = %d: the rules before the waiting one ran %d times, want once", g, g)
			}
		})
	}
}

// TestMatchMore: HAProxy's three-valued ACL results (pass, fail, miss) through and,
// or, negation and unless.
func TestMatchMore(t *testing.T) {
	for _, c := range []struct {
		cond    string
		payload string
		end     bool
		match   bool
		wait    bool
	}{
		{"if { req.len gt 3 }", "ab", false, false, true},
		{"if { req.len gt 3 }", "abcd", false, true, false},
		{"if { req.len gt 3 }", "ab", true, false, false},
		{"unless { req.len gt 3 }", "ab", false, false, true},
		{"unless { req.len gt 3 }", "ab", true, true, false},
		{"if !{ req.len gt 3 }", "ab", false, false, true},
		{"if { src 10.0.0.1 } { req.len gt 3 }", "ab", false, false, false}, // fail ends the suite first
		{"if { req.len gt 3 } { src 10.0.0.1 }", "ab", false, false, true},  // a miss ends it
		{"if { req.len gt 3 } || { src 192.0.2.7 }", "ab", false, true, false},
		{"if { req.len gt 3 } || { src 10.0.0.1 }", "ab", false, false, true},
		{"if { src 192.0.2.7 }", "", false, true, false},
		{"if WAIT_END", "", false, false, true},
		{"if WAIT_END", "", true, true, false},
		{"if { req.payload(0,2) -m bin 4142 }", "A", false, false, true},
		{"if { req.payload(0,2) -m bin 4142 }", "AB", false, true, false},
		{"if { req.payload(0,2) -m bin 4142 }", "A", true, false, false},
	} {
		cond, err := sample.ParseCond(strings.Fields(c.cond), sample.NewACLSet(), &sample.Ctx{Where: sample.WhereTCPContent})
		if err != nil {
			t.Fatalf("%s: %v", c.cond, err)
		}
		tx := &tcpTxn{payload: []byte(c.payload)}
		tx.st.WaitEnd = c.end
		m, w := cond.MatchMore(tx)
		if m != c.match || w != c.wait {
			t.Errorf("%s over %q (end %v): match %v wait %v, want %v %v", c.cond, c.payload, c.end, m, w, c.match, c.wait)
		}
	}
}

// FuzzParseTCP compiles arbitrary TCP rule lines in every TCP phase and runs what
// compiles over some bytes, waiting and final: nothing panics, and a final run never
// answers Wait.
func FuzzParseTCP(f *testing.F) {
	for _, s := range []string{
		"accept", "reject if { src 10.0.0.0/8 }", "track-sc0 src table fe", "track-sc1 req.payload(0,4)",
		"sc-inc-gpc0(0)", "sc-inc-gpc(1,2)", "sc-set-gpt0(0) 5", "sc-set-gpt(0,1) req.len",
		"accept if { req.len ge 5 }", "reject if WAIT_END", "set-var(sess.a) src", "unset-var(txn.a)",
		"close if { req.payload(0,1) -m bin 16 }", "reject unless { req.len gt 0 } || !{ src 127.0.0.1 }",
	} {
		f.Add(s, "\x16\x03\x01\x00")
	}
	f.Fuzz(func(t *testing.T, line, payload string) {
		words := strings.Fields(line)
		for _, ph := range []TCPPhase{TCPConnection, TCPSession, TCPContent, TCPResponse} {
			r, err := ParseTCP(ph, words, testEnv())
			if err != nil {
				continue
			}
			if r.Action == TrackSC && r.Table == "" {
				r.Table = "fe"
			}
			tx, _ := newTCPTxn(&testing.T{})
			tx.payload = []byte(payload)
			RunTCP(Program{r}, 0, tx, true)
			tx.st.WaitEnd = true
			if v, _ := RunTCP(Program{r}, 0, tx, true); v == Wait {
				t.Fatalf("%s %q: Wait after the deadline", ph, line)
			}
			tx.End()
		}
	})
}
