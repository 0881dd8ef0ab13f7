package stick

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func store(list ...Stored) StoreSet {
	var s StoreSet
	for _, x := range list {
		s.Add(x.Data, x.Period)
	}
	return s
}

func intKey(t *testing.T, tb *Table, n int64) Key {
	t.Helper()
	k, ok := tb.KeyInt(n)
	if !ok {
		t.Fatal("not an integer table")
	}
	return k
}

func keysOf(tb *Table, now time.Time) []string {
	var out []string
	for _, e := range tb.Entries(now) {
		out = append(out, tb.FormatKey(e.Key()))
	}
	return out
}

// TestEvictsLeastRecentlyTouched: a full table evicts its oldest entries, (size/256)+1
// at once, as HAProxy 2.6 (measured: size 1000, keys 1..1000, one more key: 997 left,
// keys 1-4 gone).
func TestEvictsLeastRecentlyTouched(t *testing.T) {
	tb := New(Def{Name: "big", Type: KeyInteger, Size: 1000}, t0)
	for i := int64(1); i <= 1000; i++ {
		tb.Acquire(intKey(t, tb, i), t0).Release(t0)
	}
	if tb.Used() != 1000 {
		t.Fatalf("used %d", tb.Used())
	}
	tb.Acquire(intKey(t, tb, 5000), t0).Release(t0)
	if tb.Used() != 997 {
		t.Errorf("used %d, want 997", tb.Used())
	}
	for _, k := range []int64{1, 2, 3, 4} {
		if tb.Lookup(intKey(t, tb, k), t0) != nil {
			t.Errorf("key %d still there", k)
		}
	}
	for _, k := range []int64{5, 1000, 5000} {
		if tb.Lookup(intKey(t, tb, k), t0) == nil {
			t.Errorf("key %d missing", k)
		}
	}
}

// TestTouchMakesRecent: an entry touched later survives one that was not (measured on
// haproxy: set k1..k10 in a table of 10, set k1 again, a new key evicts k2).
func TestTouchMakesRecent(t *testing.T) {
	tb := New(Def{Type: KeyString, Size: 10}, t0)
	key := func(s string) Key { k, _ := tb.KeyString(s); return k }
	for i := 1; i <= 10; i++ {
		tb.Acquire(key(fmt.Sprintf("k%d", i)), at(i)).Release(at(i))
	}
	tb.Acquire(key("k1"), at(20)).Touch(at(20))
	tb.Lookup(key("k1"), at(20)).Release(at(20))
	tb.Lookup(key("k2"), at(21)) // a lookup is no touch
	tb.Acquire(key("new"), at(30)).Release(at(30))
	if tb.Lookup(key("k2"), at(30)) != nil || tb.Lookup(key("k1"), at(30)) == nil {
		t.Errorf("want k2 evicted and k1 kept: %v", keysOf(tb, at(30)))
	}
}

// TestNoPurgeRefuses: with nopurge a full table refuses new keys and keeps the old.
func TestNoPurgeRefuses(t *testing.T) {
	tb := New(Def{Type: KeyInteger, Size: 2, NoPurge: true}, t0)
	tb.Acquire(intKey(t, tb, 1), t0).Release(t0)
	tb.Acquire(intKey(t, tb, 2), t0).Release(t0)
	if e := tb.Acquire(intKey(t, tb, 3), t0); e != nil {
		t.Fatal("a full nopurge table took a new key")
	}
	if e := tb.Acquire(intKey(t, tb, 2), t0); e == nil {
		t.Fatal("an existing key was refused")
	}
	if tb.Used() != 2 {
		t.Errorf("used %d", tb.Used())
	}
}

// TestReferencedEntriesStay: an entry a session holds is neither evicted nor purged
// nor removed; it goes once released after its time.
func TestReferencedEntriesStay(t *testing.T) {
	tb := New(Def{Type: KeyInteger, Size: 1, Expire: time.Second}, t0)
	held := tb.Track(intKey(t, tb, 1), t0)
	if e := tb.Acquire(intKey(t, tb, 2), t0); e != nil {
		t.Fatal("evicted an entry in use")
	}
	if tb.Purge(at(5000)) != 0 || tb.Lookup(intKey(t, tb, 1), at(5000)) == nil {
		t.Fatal("purged an entry in use")
	}
	if tb.Remove(held) {
		t.Fatal("removed an entry in use")
	}
	if held.Use() != 1 {
		t.Errorf("use %d", held.Use())
	}
	held.Untrack(at(500)) // conn_cur is not stored: no touch; expired at 1000
	if tb.Used() != 1 {
		t.Fatal("released before expiry but removed")
	}
	if tb.Purge(at(999)) != 0 || tb.Purge(at(1000)) != 1 || tb.Used() != 0 {
		t.Errorf("want purge at 1000 ms, used %d", tb.Used())
	}
}

// TestExpiry: expiry starts again on every update, not on a lookup; an expired entry
// is gone for lookups at once and purged.
func TestExpiry(t *testing.T) {
	tb := New(Def{Type: KeyIP, Size: 10, Expire: 30 * time.Second,
		Store: store(Stored{Data: HTTPReqCnt})}, t0)
	k, _ := tb.KeyAddr(netip.MustParseAddr("127.0.0.1"))
	e := tb.Track(k, t0)
	e.CountHTTPReq(at(0))
	e.Untrack(at(0))
	if got := e.Expire(at(13)); got != 30*time.Second-13*time.Millisecond {
		t.Errorf("exp %v", got)
	}
	tb.Lookup(k, at(20_000))
	e2 := tb.Acquire(k, at(20_000))
	e2.CountHTTPReq(at(20_000))
	e2.Release(at(20_000))
	if got := e.Expire(at(40_000)); got != 10*time.Second {
		t.Errorf("after an update at 20 s: exp %v at 40 s, want 10s", got)
	}
	if tb.Lookup(k, at(49_999)) == nil || tb.Lookup(k, at(50_000)) != nil {
		t.Error("want the entry until 50 s exactly")
	}
	if tb.Purge(at(50_000)) != 1 || tb.Used() != 0 {
		t.Error("not purged")
	}
	// A table without expire keeps entries and shows exp=0.
	tn := New(Def{Type: KeyIP, Size: 10}, t0)
	tn.Acquire(k, t0).Release(t0)
	if tn.Purge(at(1e9)) != 0 || tn.Lookup(k, at(1e9)) == nil || tn.Lookup(k, at(1e9)).Expire(at(1e9)) != 0 {
		t.Error("no expire: entries must stay")
	}
}

// TestTrackCounts: tracking counts conn_cur, conn_cnt and conn_rate as HAProxy's
// track-sc; untracking decrements conn_cur only.
func TestTrackCounts(t *testing.T) {
	tb := New(Def{Type: KeyIP, Size: 10, Expire: time.Minute, Store: store(
		Stored{Data: ConnCur}, Stored{Data: ConnCnt}, Stored{Data: ConnRate, Period: 10 * time.Second},
		Stored{Data: HTTPReqRate, Period: 10 * time.Second}, Stored{Data: GPC0}, Stored{Data: GPC0Rate, Period: time.Second},
		Stored{Data: BytesInCnt}, Stored{Data: BytesOutRate, Period: time.Second}, Stored{Data: GPT0},
	)}, t0)
	k, _ := tb.KeyAddr(netip.MustParseAddr("::ffff:10.0.0.1"))
	a := tb.Track(k, at(0))
	b := tb.Track(k, at(10))
	if a != b {
		t.Fatal("two entries for one key")
	}
	get := func(d Data, ms int) uint64 {
		v, ok := a.Get(d, at(ms))
		if !ok {
			t.Fatalf("%v not stored", d)
		}
		return v
	}
	if get(ConnCur, 10) != 2 || get(ConnCnt, 10) != 2 || get(ConnRate, 10) != 2 || a.Use() != 2 {
		t.Errorf("after two tracks: cur %d cnt %d rate %d use %d", get(ConnCur, 10), get(ConnCnt, 10), get(ConnRate, 10), a.Use())
	}
	a.CountHTTPReq(at(20))
	a.CountBytes(1000, 70, at(20))
	if v, _ := a.IncGPC(0, at(30)); v != 1 {
		t.Errorf("inc gpc0 = %d", v)
	}
	if v, _ := a.IncGPC(0, at(30)); v != 2 {
		t.Errorf("inc gpc0 = %d", v)
	}
	a.SetGPT(0, 7, at(30))
	b.Untrack(at(40))
	if get(ConnCur, 40) != 1 || get(ConnCnt, 40) != 2 || get(HTTPReqRate, 40) != 1 || get(GPC0Rate, 40) != 2 ||
		get(BytesInCnt, 40) != 1000 || get(BytesOutRate, 40) != 70 || get(GPT0, 40) != 7 || a.Use() != 1 {
		t.Errorf("cur %d cnt %d req_rate %d gpc0_rate %d bytes_in %d bytes_out_rate %d gpt0 %d use %d",
			get(ConnCur, 40), get(ConnCnt, 40), get(HTTPReqRate, 40), get(GPC0Rate, 40), get(BytesInCnt, 40),
			get(BytesOutRate, 40), get(GPT0, 40), a.Use())
	}
	if old, _ := a.ClearGPC(0, at(50)); old != 2 || get(GPC0, 50) != 0 {
		t.Errorf("clear gpc0: old %d now %d", old, get(GPC0, 50))
	}
	if _, ok := a.Get(HTTPErrCnt, at(50)); ok {
		t.Error("http_err_cnt is not stored")
	}
	if _, ok := a.IncGPC(1, at(50)); ok {
		t.Error("gpc1 is not stored")
	}
	a.Untrack(at(60))
	if get(ConnCur, 60) != 0 || a.Use() != 0 {
		t.Error("untrack")
	}
}

// TestSetTruncates: `set table` keeps 32 bits of 32-bit types (measured: gpc0 -3 is
// 4294967293, 99999999999 is 1215752191) and 64 of byte counters.
func TestSetTruncates(t *testing.T) {
	tb := New(Def{Type: KeyInteger, Size: 10, Store: store(Stored{Data: GPC0}, Stored{Data: BytesInCnt}, Stored{Data: ServerID})}, t0)
	e := tb.Acquire(intKey(t, tb, 5), t0)
	for _, c := range []struct {
		d    Data
		v    int64
		want uint64
	}{{GPC0, -3, 4294967293}, {GPC0, 99999999999, 1215752191}, {BytesInCnt, 99999999999, 99999999999}, {ServerID, 5, 5}} {
		e.Set(c.d, c.v, t0)
		if got, _ := e.Get(c.d, t0); got != c.want {
			t.Errorf("set %v %d: got %d, want %d", c.d, c.v, got, c.want)
		}
	}
	e.Set(ServerID, -2, t0)
	if v, _ := e.GetSigned(ServerID, t0); v != -2 {
		t.Errorf("server_id signed: %d", v)
	}
	if e.Set(ConnCnt, 1, t0) {
		t.Error("set a type not stored")
	}
}

// TestConcurrentTracking: many goroutines track, count and untrack the same and
// different keys while purges and evictions run (run with -race); counts add up.
func TestConcurrentTracking(t *testing.T) {
	tb := New(Def{Type: KeyIP, Size: 64, Expire: time.Hour, Store: store(
		Stored{Data: ConnCur}, Stored{Data: HTTPReqCnt}, Stored{Data: HTTPReqRate, Period: time.Hour})}, t0)
	hot, _ := tb.KeyAddr(netip.MustParseAddr("192.0.2.1"))
	const workers, rounds = 8, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				now := at(i)
				e := tb.Track(hot, now)
				e.CountHTTPReq(now)
				// a cold key per round pushes the table to evict
				cold, _ := tb.KeyAddr(netip.AddrFrom4([4]byte{10, byte(w), byte(i >> 8), byte(i)}))
				if c := tb.Track(cold, now); c != nil {
					c.CountHTTPReq(now)
					c.Untrack(now)
				}
				tb.Purge(now)
				e.Untrack(now)
			}
		}()
	}
	wg.Wait()
	e := tb.Lookup(hot, at(rounds))
	if e == nil {
		t.Fatal("the hot entry was evicted while in use")
	}
	cnt, _ := e.Get(HTTPReqCnt, at(rounds))
	rate, _ := e.Get(HTTPReqRate, at(rounds))
	cur, _ := e.Get(ConnCur, at(rounds))
	if cnt != workers*rounds || rate != workers*rounds || cur != 0 || e.Use() != 0 {
		t.Errorf("cnt %d rate %d cur %d use %d, want %d %d 0 0", cnt, rate, cur, e.Use(), workers*rounds, workers*rounds)
	}
	if tb.Used() > 64 || tb.Used() != len(tb.Entries(at(rounds))) {
		t.Errorf("used %d, entries %d", tb.Used(), len(tb.Entries(at(rounds))))
	}
}

// TestTrackAllocatesNothing: tracking an existing IP key and counting on it does not
// allocate (the data path's budget).
func TestTrackAllocatesNothing(t *testing.T) {
	tb := New(Def{Type: KeyIP, Size: 10, Expire: time.Minute, Store: store(
		Stored{Data: ConnCur}, Stored{Data: HTTPReqRate, Period: 10 * time.Second})}, t0)
	a := netip.MustParseAddr("127.0.0.1")
	k, _ := tb.KeyAddr(a)
	tb.Track(k, t0).Untrack(t0)
	n := testing.AllocsPerRun(100, func() {
		k, _ := tb.KeyAddr(a)
		e := tb.Track(k, t0)
		e.CountHTTPReq(t0)
		e.Get(HTTPReqRate, t0)
		e.Untrack(t0)
	})
	if n != 0 {
		t.Errorf("%.1f allocations per tracked request", n)
	}
}

// FuzzTableOps runs a sequence of operations drawn from the input on a small table and
// checks its invariants after each: used equals the entries held and never exceeds the
// size, an entry in use is never lost, counts and references add up.
func FuzzTableOps(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	f.Add([]byte{0, 0, 0, 0, 16, 32, 48, 64, 80, 96, 3, 3, 3})
	f.Fuzz(runOps)
}

func runOps(t *testing.T, ops []byte) {
	if len(ops) > 256 {
		ops = ops[:256]
	}
	{
		nopurge := len(ops) > 0 && ops[0]&1 == 1
		tb := New(Def{Type: KeyInteger, Size: 4, NoPurge: nopurge, Expire: 50 * time.Millisecond,
			Store: store(Stored{Data: ConnCur}, Stored{Data: HTTPReqCnt})}, t0)
		held := map[*Entry]int{}
		ms := 0
		for _, op := range ops {
			k, _ := tb.KeyInt(int64(op >> 4))
			now := at(ms)
			switch op & 7 {
			case 0, 1:
				if e := tb.Track(k, now); e != nil {
					held[e]++
				} else if !nopurge && len(held) < tb.Size() {
					t.Fatalf("track refused with %d entries held of %d", len(held), tb.Size())
				}
			case 2:
				for e := range held {
					e.Untrack(now)
					if held[e]--; held[e] == 0 {
						delete(held, e)
					}
					break
				}
			case 3:
				if e := tb.Acquire(k, now); e != nil {
					e.CountHTTPReq(now)
					e.Release(now)
				}
			case 4:
				tb.Purge(now)
			case 5:
				ms += 20
			case 6:
				if e := tb.Lookup(k, now); e != nil {
					tb.Remove(e)
				}
			case 7:
				ms += 1
			}
			entries := tb.Entries(at(ms))
			if tb.Used() > tb.Size() || tb.Used() < len(entries) {
				t.Fatalf("used %d, size %d, %d live entries", tb.Used(), tb.Size(), len(entries))
			}
			for e, n := range held {
				if e.Use() != n || tb.Lookup(e.Key(), at(ms)) != e {
					t.Fatalf("held entry %s: use %d want %d, still in table: %v", tb.FormatKey(e.Key()), e.Use(), n, tb.Lookup(e.Key(), at(ms)) == e)
				}
				if cur, _ := e.Get(ConnCur, at(ms)); int(cur) != n {
					t.Fatalf("conn_cur %d, want %d", cur, n)
				}
			}
		}
	}
}

// BenchmarkTrackRequest is the data path's cost of a tracked request on one hot key
// (every client behind one address): track, count, read the rate, untrack.
func BenchmarkTrackRequest(b *testing.B) {
	tb := New(Def{Type: KeyIP, Size: 1 << 20, Expire: time.Minute, Store: store(
		Stored{Data: ConnCur}, Stored{Data: HTTPReqRate, Period: 10 * time.Second})}, t0)
	a := netip.MustParseAddr("127.0.0.1")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k, _ := tb.KeyAddr(a)
			e := tb.Track(k, t0)
			e.CountHTTPReq(t0)
			e.Get(HTTPReqRate, t0)
			e.Untrack(t0)
		}
	})
}

// TestArrays: gpc(N), gpc_rate(N,P) and gpt(N) hold N elements; the gpc0/gpc1/gpt0
// functions use their first elements when a table stores the arrays, the legacy types
// otherwise (HAProxy 2.6 refuses both in one table, except gpc with gpc0_rate, say).
func TestArrays(t *testing.T) {
	var s StoreSet
	s.AddArray(GPC, 3, 0)
	s.AddArray(GPT, 2, 0)
	s.Add(GPC0Rate, time.Second)
	tb := New(Def{Type: KeyInteger, Size: 10, Store: s}, t0)
	e := tb.Acquire(intKey(t, tb, 1), t0)
	e.IncGPC(0, at(0))
	e.IncGPC(2, at(0))
	if v, ok := e.IncGPC(2, at(1)); !ok || v != 2 {
		t.Errorf("gpc2 = %d %v", v, ok)
	}
	if _, ok := e.IncGPC(3, at(1)); ok {
		t.Error("gpc3 is beyond gpc(3)")
	}
	if v, _ := e.GetGPC(0, at(1)); v != 1 {
		t.Errorf("gpc0 (array element) = %d", v)
	}
	if v, ok := e.GetGPCRate(0, at(1)); !ok || v != 1 {
		t.Errorf("gpc0_rate (legacy, with the array) = %d %v", v, ok)
	}
	if _, ok := e.GetGPCRate(1, at(1)); ok {
		t.Error("gpc1_rate is not stored")
	}
	if !e.SetGPT(1, 9, at(1)) || e.SetGPT(2, 1, at(1)) {
		t.Error("gpt(2) takes indexes 0 and 1")
	}
	if v, _ := e.GetGPT(1, at(1)); v != 9 {
		t.Errorf("gpt1 = %d", v)
	}
	if old, ok := e.ClearGPC(2, at(2)); !ok || old != 2 {
		t.Errorf("clear gpc2: %d %v", old, ok)
	}
	if got := s.String(); got != "gpc0_rate(1000),gpt(2),gpc(3)" {
		t.Errorf("store %q", got)
	}
}
