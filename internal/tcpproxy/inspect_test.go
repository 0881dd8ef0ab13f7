package tcpproxy

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config/haproxy"
	"tandem/internal/proxystats"
	"tandem/internal/sample"
	"tandem/internal/stick"
)

// named is a server that says its name, then echoes; it counts its connections.
func named(t *testing.T, name string, n *atomic.Int32) string {
	return serve(t, func(c net.Conn) {
		n.Add(1)
		io.WriteString(c, name+":")
		io.Copy(c, c)
	})
}

// rulesProxy serves the frontend "fe" of text (mode tcp) on loopback in mode m, with
// its backends' servers replaced by be_a and be_b, and live stick tables.
func rulesProxy(t *testing.T, m mode, text string, a, b string) string {
	addr, _ := rulesProxyTables(t, m, text, a, b)
	return addr
}

// rulesProxyTables is rulesProxy, also returning the live stick tables.
func rulesProxyTables(t *testing.T, m mode, text string, a, b string) (string, map[string]*stick.Table) {
	t.Helper()
	text = strings.ReplaceAll(strings.ReplaceAll(text, "SRV_A", a), "SRV_B", b)
	cfg, err := haproxy.Parse("t.cfg", []byte(text), haproxy.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	pools := map[string]*backend.Pool{}
	st := backend.NewStates()
	for _, be := range cfg.Backends {
		pools[be.Name] = backend.New(be, st)
	}
	tables := map[string]*stick.Table{}
	for _, s := range cfg.Tables {
		tables[s.Def.Name] = stick.New(s.Def, time.Now())
	}
	fe := cfg.Frontend("fe")
	stats := proxystats.NewRegistry().Frontend("fe")
	h := NewHandler(&Route{Frontend: fe, Pool: pools[fe.DefaultBackend.Name], Backends: pools, Tables: tables, Stats: stats}, slog.New(slog.DiscardHandler))
	addr := listen(t, h, m, "127.0.0.1:0")
	proxyStats.Store(addr, stats)
	return addr, tables
}

// tcpDefaults starts the configurations of the tests: mode tcp, short timeouts.
const tcpDefaults = `defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
`

const inspectCfg = tcpDefaults + `frontend fe
    bind 127.0.0.1:9000
    stick-table type ip size 10 expire 10s store conn_cur
    tcp-request connection track-sc0 src
    tcp-request connection reject if { sc0_conn_cur gt 2 }
    tcp-request inspect-delay 1s
    tcp-request content reject if { req.payload(0,4) -m bin 51554954 }
    tcp-request content accept if { req.len ge 5 }
    tcp-request content reject if WAIT_END
    use_backend be_b if { req.payload(0,1) -m bin 42 }
    default_backend be_a
backend be_a
    server s SRV_A
backend be_b
    server s SRV_B
`

// closedWithin reports how long c took to be closed by the proxy (EOF or reset), and
// whether it said anything first.
func closedWithin(t *testing.T, c net.Conn, limit time.Duration) (time.Duration, string) {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(limit))
	b, err := io.ReadAll(c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("still open after %v (read %q)", limit, b)
	}
	return time.Since(start), string(b)
}

// TestContentRulesWaitForBytes: tcp-request content rules wait for the bytes their
// conditions need: a rule on req.payload(0,4) and one on req.len are evaluated again
// as bytes arrive, the connection is accepted once 5 bytes came, routed on its first
// byte, and the bytes read reach the server first; "QUIT" is rejected without a server
// connection; a client that sends too little is rejected at the inspect delay
// (WAIT_END); a third concurrent connection of one source is rejected by the
// tcp-request connection rule on sc0_conn_cur.
func TestContentRulesWaitForBytes(t *testing.T) {
	eachRulesMode(t, func(t *testing.T, m mode) {
		var na, nb atomic.Int32
		addr, tables := rulesProxyTables(t, m, inspectCfg, named(t, "a", &na), named(t, "b", &nb))
		// settle waits (bounded) for the sessions closed before to leave sc0_conn_cur:
		// they end just after their clients close.
		k, _ := tables["fe"].KeyAddr(netip.MustParseAddr("127.0.0.1"))
		settle := func() {
			for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				if e := tables["fe"].Lookup(k, time.Now()); e == nil || e.Use() == 0 {
					return
				}
			}
		}

		// Accepted after two writes, routed on the first byte to be_b.
		c := dial(t, addr)
		io.WriteString(c, "B")
		time.Sleep(50 * time.Millisecond)
		io.WriteString(c, "CDEF")
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		got := make([]byte, len("b:BCDEF"))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "b:BCDEF" {
			t.Fatalf("got %q, %v; want b:BCDEF", got, err)
		}
		// The session goes on as a plain tunnel.
		io.WriteString(c, "more")
		got = make([]byte, 4)
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "more" {
			t.Fatalf("after inspection: %q, %v", got, err)
		}
		c.Close()

		// Another first byte goes to the default backend.
		settle()
		c = dial(t, addr)
		io.WriteString(c, "hello")
		got = make([]byte, len("a:hello"))
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "a:hello" {
			t.Fatalf("got %q, %v; want a:hello", got, err)
		}
		c.Close()

		// QUIT is rejected at once, without a server connection.
		served := na.Load() + nb.Load()
		settle()
		c = dial(t, addr)
		io.WriteString(c, "QUIT")
		if d, said := closedWithin(t, c, 3*time.Second); said != "" || d > 600*time.Millisecond {
			t.Errorf("QUIT: closed after %v having said %q; want closed at once, silently", d, said)
		}
		c.Close()

		// One byte only: rejected when the inspect delay ends (WAIT_END).
		settle()
		c = dial(t, addr)
		io.WriteString(c, "x")
		start := time.Now()
		if _, said := closedWithin(t, c, 3*time.Second); said != "" {
			t.Errorf("short client: got %q", said)
		}
		if d := time.Since(start); d < 900*time.Millisecond {
			t.Errorf("short client closed after %v, before the 1s inspect delay", d)
		}
		c.Close()
		if n := na.Load() + nb.Load(); n != served {
			t.Errorf("rejected connections reached a server (%d connections)", n-served)
		}
		if got := statsOf(t, addr).Denied; got != 2 {
			t.Errorf("denied requests %d, want 2 (QUIT and the short client; HAProxy's dreq)", got)
		}

		// sc0_conn_cur: two connections of one source are tracked, a third is rejected.
		settle()
		var open []net.Conn
		for i := 0; i < 2; i++ {
			c := dial(t, addr)
			io.WriteString(c, "hello")
			got := make([]byte, len("a:hello"))
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
			open = append(open, c)
		}
		before := statsOf(t, addr).Total
		// Refused with a reset, which may come before the dial returns.
		if c, err := net.Dial("tcp", addr); err == nil {
			if d, said := closedWithin(t, c, 3*time.Second); said != "" || d > 600*time.Millisecond {
				t.Errorf("third connection: closed after %v having said %q; want rejected at once", d, said)
			}
			c.Close()
		} else if !strings.Contains(err.Error(), "reset") {
			t.Fatal(err)
		}
		if after := statsOf(t, addr).Total; after != before {
			t.Errorf("a connection refused by tcp-request connection counted as a session (stot %d → %d)", before, after)
		}
		for _, c := range open {
			c.Close()
		}
		// Once they are gone, conn_cur is back down: a new connection is served.
		deadline := time.Now().Add(3 * time.Second)
		for {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				io.WriteString(c, "hello")
				c.SetReadDeadline(time.Now().Add(time.Second))
				got := make([]byte, 2)
				_, err = io.ReadFull(c, got)
				c.Close()
			}
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal(fmt.Errorf("conn_cur never came down: %v", err))
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

const stickCfg = tcpDefaults + `frontend fe
    bind 127.0.0.1:9000
    default_backend be_a
backend be_a
    balance roundrobin
    stick-table type ip size 10 expire 10s
    stick on src
    server a SRV_A
    server b SRV_B
`

// TestStickOnSrc: with stick on src, every connection of a source goes to the server
// its first went to (roundrobin alone would alternate), and the table names it.
func TestStickOnSrc(t *testing.T) {
	eachRulesMode(t, func(t *testing.T, m mode) {
		var na, nb atomic.Int32
		addr := rulesProxy(t, m, stickCfg, named(t, "a", &na), named(t, "b", &nb))
		var first string
		for i := 0; i < 4; i++ {
			c := dial(t, addr)
			io.WriteString(c, "x")
			got := make([]byte, 3)
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatal(err)
			}
			c.Close()
			if i == 0 {
				first = string(got)
			} else if string(got) != first {
				t.Fatalf("connection %d went to %q, the first to %q", i, got, first)
			}
		}
		if na.Load()+nb.Load() != 4 || na.Load() != 0 && nb.Load() != 0 {
			t.Errorf("servers saw a=%d b=%d, want all on one", na.Load(), nb.Load())
		}
	})
}

const sessCountCfg = tcpDefaults + `frontend fe
    bind 127.0.0.1:9000
    stick-table type ip size 10 expire 10s store sess_cnt,conn_cnt
    tcp-request connection track-sc0 src
    default_backend be_a
backend be_a
    server a SRV_A
`

// TestConnectionRulesCountSessions: each connection that tcp-request connection rules
// accept and track becomes a session counted in sess_cnt, as HAProxy 2.6 counts it
// (sess_cnt stayed 0: e2e TestStickFetchesMatchHAProxy compares the HTTP side).
func TestConnectionRulesCountSessions(t *testing.T) {
	eachRulesMode(t, func(t *testing.T, m mode) {
		var na atomic.Int32
		addr, tables := rulesProxyTables(t, m, sessCountCfg, named(t, "a", &na), named(t, "b", &na))
		for i := 0; i < 3; i++ {
			c := dial(t, addr)
			io.WriteString(c, "x")
			got := make([]byte, 3)
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatal(err)
			}
			c.Close()
		}
		tb := tables["fe"]
		k, _ := tb.KeyAddr(netip.MustParseAddr("127.0.0.1"))
		e := tb.Lookup(k, time.Now())
		if e == nil {
			t.Fatal("no entry for 127.0.0.1")
		}
		sess, _ := e.Get(stick.SessCnt, time.Now())
		conns, _ := e.Get(stick.ConnCnt, time.Now())
		if sess != 3 || conns != 3 {
			t.Errorf("sess_cnt %d, conn_cnt %d after 3 accepted connections; want 3 and 3", sess, conns)
		}
	})
}

const backendContentCfg = tcpDefaults + `frontend fe
    bind 127.0.0.1:9000
    default_backend be_a
backend be_a
    tcp-request inspect-delay 1s
    tcp-request content reject if { req.payload(0,1) -m bin 5a }
    tcp-request content accept if { req.len ge 3 }
    server a SRV_A
backend be_b
    server b SRV_B
`

// A fetch another package registers, as the ClientHello fetches (req.ssl_sni…) will:
// no answer until its bytes are all there.
func init() {
	sample.RegisterFetch(sample.Fetch{Name: "test.first3", Out: sample.TStr, Use: sample.UseContent | sample.UseHTTPReq | sample.UseHTTPRes, MayChange: true,
		Eval: func(t sample.Txn, _ any) (sample.Value, bool) {
			p := t.Payload()
			if len(p) < 3 {
				return sample.Value{}, false
			}
			return sample.Str(p[:3]), true
		}})
}

const registeredCfg = tcpDefaults + `frontend fe
    bind 127.0.0.1:9000
    tcp-request inspect-delay 1s
    tcp-request content accept if { test.first3 -m found }
    use_backend be_b if { test.first3 -m str abc }
    default_backend be_a
backend be_a
    server a SRV_A
backend be_b
    server b SRV_B
`

var proxyStats sync.Map // listening address → *proxystats.Frontend, for statsOf

// statsOf is the frontend counters of the proxy rulesProxy serves at addr.
func statsOf(t *testing.T, addr string) proxystats.Snapshot {
	v, ok := proxyStats.Load(addr)
	if !ok {
		t.Fatalf("no proxy at %s", addr)
	}
	return v.(*proxystats.Frontend).Snapshot(time.Now())
}

const responseCfg = tcpDefaults + `frontend fe
    bind 127.0.0.1:9000
    default_backend be_a
backend be_a
    tcp-response inspect-delay 1s
    tcp-response content reject if { res.payload(0,1) -m bin 62 }
    tcp-response content accept if { res.len ge 4 }
    server a SRV_A
backend be_b
    server b SRV_B
`

// TestContentInspection: rules that wait for bytes, on the client's side or the
// server's, decide on the bytes waited for:
//   - backend content rules: a backend's tcp-request content rules run (and wait for
//     bytes) for the connections its frontend sends it, though the frontend has none;
//     a first byte "Z" is rejected at once, without a server connection;
//   - registered fetch: a registered MayChange fetch without an answer makes the content
//     rules wait for more bytes (what issue 11's req.ssl_sni needs), and use_backend
//     reads it on the bytes waited for;
//   - response rules: tcp-response content rules hold the server's first bytes until
//     they decide (the client's bytes flow meanwhile): a server that says "a:" then
//     echoes is accepted once 4 bytes came; a server whose first byte is "b" is rejected.
func TestContentInspection(t *testing.T) {
	cases := []struct {
		name, cfg string
		a, b      string   // what be_a's server (SRV_A) and be_b's (SRV_B) say first
		writes    []string // written 50ms apart on a first connection
		want      string   // what that connection gets back
		refused   string   // then a connection sending this is closed having said nothing
		atOnce    bool     // … within 600ms
		servedA   int32    // connections SRV_A saw in all (-1: not checked)
	}{
		{name: "backend content rules", cfg: backendContentCfg, a: "a", b: "b",
			writes: []string{"h", "ey"}, want: "a:hey", refused: "Zed", atOnce: true, servedA: 1},
		{name: "registered fetch", cfg: registeredCfg, a: "a", b: "b",
			writes: []string{"a", "bc"}, want: "b:abc", servedA: -1}, // routed on the three bytes waited for
		{name: "response rules accepted", cfg: responseCfg, a: "a", b: "b",
			writes: []string{"xy"}, want: "a:xy", servedA: -1}, // "a:" is 2 bytes: the echo of the client's makes 4
		{name: "response rules rejected", cfg: responseCfg, a: "b", b: "a",
			refused: "xy", servedA: -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachRulesMode(t, func(t *testing.T, m mode) {
				var na, nb atomic.Int32
				addr := rulesProxy(t, m, tc.cfg, named(t, tc.a, &na), named(t, tc.b, &nb))
				if tc.want != "" {
					c := dial(t, addr)
					for i, w := range tc.writes {
						if i > 0 {
							time.Sleep(50 * time.Millisecond)
						}
						io.WriteString(c, w)
					}
					got := make([]byte, len(tc.want))
					c.SetReadDeadline(time.Now().Add(3 * time.Second))
					if _, err := io.ReadFull(c, got); err != nil || string(got) != tc.want {
						t.Fatalf("got %q, %v; want %s", got, err, tc.want)
					}
					c.Close()
				}
				if tc.refused != "" {
					c := dial(t, addr)
					io.WriteString(c, tc.refused)
					d, said := closedWithin(t, c, 3*time.Second)
					if said != "" {
						t.Errorf("%s: the client got %q; want closed silently", tc.refused, said)
					}
					if tc.atOnce && d > 600*time.Millisecond {
						t.Errorf("%s: closed after %v; want rejected at once", tc.refused, d)
					}
					c.Close()
				}
				if tc.servedA >= 0 && na.Load() != tc.servedA {
					t.Errorf("server a saw %d connections, want %d", na.Load(), tc.servedA)
				}
			})
		})
	}
}
