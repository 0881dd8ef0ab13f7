package persist

import (
	"net/netip"
	"testing"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/http1"
	"tandem/internal/sample"
	"tandem/internal/stick"
)

type txn struct {
	src netip.AddrPort
	st  sample.State
}

func (t *txn) Addrs() (netip.AddrPort, netip.AddrPort)              { return t.src, netip.AddrPort{} }
func (t *txn) Request() (*http1.Request, []byte)                    { return nil, nil }
func (t *txn) Response() (*http1.Response, []byte)                  { return nil, nil }
func (t *txn) Payload() []byte                                      { return nil }
func (t *txn) Counter(sample.Counter, string, string) (int64, bool) { return 0, false }
func (t *txn) State() *sample.State                                 { return &t.st }

func table(name string, srvkey bool, now time.Time) *stick.Table {
	def := stick.Def{Name: name, Type: stick.KeyIP, Size: 10, Expire: 10 * time.Second}
	def.Store.Add(stick.ServerID, 0)
	if srvkey {
		def.Store.Add(stick.ServerKey, 0)
	}
	return stick.New(def, now)
}

func rule(t *testing.T, kind config.StickKind, expr, tab string) config.StickRule {
	e, err := sample.ParseExpr(expr, &sample.Ctx{})
	if err != nil {
		t.Fatal(err)
	}
	return config.StickRule{Kind: kind, Expr: e, Table: tab}
}

// TestMatchAndStore: a stored entry sends the next request of its key to its server
// (by server_key when stored, else by server_id); only the first store rule of a table
// counts; an entry past its expiry is not matched.
func TestMatchAndStore(t *testing.T) {
	now := time.Unix(100, 0)
	b := &config.Backend{Name: "be"}
	for _, n := range []string{"s1", "s2", "s3"} {
		b.Servers = append(b.Servers, &config.Server{Name: n, Addr: netip.MustParseAddrPort("127.0.0.1:1"), Weight: 1})
	}
	pool := backend.New(b, backend.NewStates())
	for _, srvkey := range []bool{false, true} {
		tabs := map[string]*stick.Table{"t": table("t", srvkey, now), "u": table("u", srvkey, now)}
		rules := []config.StickRule{
			rule(t, config.StickOn, "src", "t"),
			rule(t, config.StickStoreRequest, "dst", "t"), // the table has a store already: skipped
			rule(t, config.StickMatch, "src", "u"),
		}
		tx := &txn{src: netip.MustParseAddrPort("192.0.2.1:5")}
		var p Pending
		if s := Match(rules, tabs, pool, tx, &p, now); s != nil {
			t.Fatalf("empty tables matched %s", s.Cfg.Name)
		}
		if p.n != 1 || p.tab[0] != tabs["t"] {
			t.Fatalf("pending %d stores, want the first rule's only", p.n)
		}
		Store(rules, tabs, pool, pool.Servers[2], tx, &p, false, now)
		k, _ := tabs["t"].KeyAddr(netip.MustParseAddr("192.0.2.1"))
		e := tabs["t"].Lookup(k, now)
		if id, _ := e.Get(stick.ServerID, now); e == nil || id != 3 {
			t.Fatalf("stored server_id %d, want 3 (s3)", id)
		}
		if srvkey && e.ServerKey() != "s3" {
			t.Errorf("server_key %q, want s3", e.ServerKey())
		}
		if s := Match(rules, tabs, pool, tx, &p, now.Add(5*time.Second)); s != pool.Servers[2] {
			t.Errorf("srvkey %v: matched %v, want s3", srvkey, s)
		}
		if s := Match(rules, tabs, pool, tx, &p, now.Add(30*time.Second)); s != nil {
			t.Errorf("an expired entry matched %s", s.Cfg.Name)
		}
		other := &txn{src: netip.MustParseAddrPort("192.0.2.2:5")}
		if s := Match(rules, tabs, pool, other, &p, now); s != nil {
			t.Errorf("another key matched %s", s.Cfg.Name)
		}
	}
}
