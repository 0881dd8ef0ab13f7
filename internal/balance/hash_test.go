package balance

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"tandem/internal/config"
)

func ipN(k int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(k >> 16), byte(k >> 8), byte(k)})
}

func hdrReq(v string) *Request {
	return &Request{Header: func(name string) (string, bool) {
		if name == "X-User" && v != "" {
			return v, true
		}
		return "", false
	}}
}

// keyed returns a request carrying key k for algorithm a.
func keyed(a config.Algo, k int) *Request {
	switch a {
	case config.AlgoSource:
		return &Request{Client: ipN(k)}
	case config.AlgoURI:
		return &Request{URI: fmt.Sprintf("/item/%d?t=%d", k, k*7)}
	case config.AlgoURLParam:
		return &Request{URI: fmt.Sprintf("/q?a=1&user=u%d&b=2", k)}
	}
	return hdrReq(fmt.Sprintf("user-%d", k))
}

var hashAlgos = []config.Balance{
	{Algo: config.AlgoSource},
	{Algo: config.AlgoURI},
	{Algo: config.AlgoURLParam, Param: "user"},
	{Algo: config.AlgoHdr, Param: "X-User"},
}

var hashTypes = []config.HashType{config.HashMapBased, config.HashConsistent}

func TestHashGolden(t *testing.T) {
	// Fixed values: changing the hash function would move every client to another
	// server on upgrade. Change these only on purpose.
	tests := []struct {
		got, want uint64
	}{
		{HashString(""), 0xf52a15e9a9b5e89b},
		{HashString("tandem"), 0x5b7726c5c911f5c5},
		{HashAddr(netip.MustParseAddr("192.0.2.1")), 0x1e00e9a12f8249cb},
		{HashAddr(netip.MustParseAddr("::ffff:192.0.2.1")), 0x1e00e9a12f8249cb},
		{HashAddr(netip.MustParseAddr("2001:db8::1")), 0x216dba65aa6c0c57},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("case %d: hash = %#x, want %#x", i, tt.got, tt.want)
		}
	}
}

func TestHashStableAcrossRestarts(t *testing.T) {
	for _, b := range hashAlgos {
		for _, ht := range hashTypes {
			t.Run(fmt.Sprintf("%v/%d", b.Algo, ht), func(t *testing.T) {
				f := newFake(1, 2, 1, 1)
				first := New(b, ht, members(1, 2, 1, 1))
				var before []int
				for k := 0; k < 300; k++ {
					before = append(before, first.Select(f, keyed(b.Algo, k)))
				}
				for k := 0; k < 300; k++ { // same selector, asked again
					if i := first.Select(f, keyed(b.Algo, k)); i != before[k] {
						t.Fatalf("key %d: second pick %d, first %d", k, i, before[k])
					}
				}
				restarted := New(b, ht, members(1, 2, 1, 1))
				for k := 0; k < 300; k++ {
					if i := restarted.Select(f, keyed(b.Algo, k)); i != before[k] {
						t.Fatalf("key %d: after restart %d, before %d", k, i, before[k])
					}
				}
			})
		}
	}
}

func TestSourceGoldenMapping(t *testing.T) {
	// The same client reaches the same server on every version: pinned picks.
	f := newFake(1, 1, 1)
	for _, ht := range hashTypes {
		sel := New(config.Balance{Algo: config.AlgoSource}, ht, members(1, 1, 1))
		var got []int
		for k := 1; k <= 8; k++ {
			got = append(got, sel.Select(f, &Request{Client: netip.AddrFrom4([4]byte{192, 0, 2, byte(k)})}))
		}
		want := map[config.HashType]string{
			config.HashMapBased:   "[1 1 1 1 2 0 2 2]",
			config.HashConsistent: "[0 0 2 1 1 1 0 0]",
		}[ht]
		if fmt.Sprint(got) != want {
			t.Errorf("hash-type %d: picks %v, want %s", ht, got, want)
		}
	}
}

func TestHashDistributionFollowsWeights(t *testing.T) {
	for _, b := range hashAlgos {
		for _, ht := range hashTypes {
			t.Run(fmt.Sprintf("%v/%d", b.Algo, ht), func(t *testing.T) {
				f := newFake(1, 1, 2)
				sel := New(b, ht, members(1, 1, 2))
				c := make([]int, 3)
				const n = 8000
				for k := 0; k < n; k++ {
					c[sel.Select(f, keyed(b.Algo, k))]++
				}
				want := []float64{0.25, 0.25, 0.5}
				for i := range c {
					if got := float64(c[i]) / n; got < want[i]-0.07 || got > want[i]+0.07 {
						t.Fatalf("shares %v of %d, want ~%v", c, n, want)
					}
				}
			})
		}
	}
}

func picks(sel Selector, f *fake, a config.Algo, n int) []int {
	out := make([]int, n)
	for k := range out {
		out[k] = sel.Select(f, keyed(a, k))
	}
	return out
}

func TestConsistentAddServerMovesAboutOneNth(t *testing.T) {
	const n = 10000
	for _, b := range hashAlgos {
		t.Run(b.Algo.String(), func(t *testing.T) {
			before := picks(New(b, config.HashConsistent, members(1, 1, 1, 1)), newFake(1, 1, 1, 1), b.Algo, n)
			after := picks(New(b, config.HashConsistent, members(1, 1, 1, 1, 1)), newFake(1, 1, 1, 1, 1), b.Algo, n)
			moved := 0
			for k := range before {
				if before[k] != after[k] {
					moved++
					if after[k] != 4 {
						t.Fatalf("key %d moved from %d to %d, not to the new server", k, before[k], after[k])
					}
				}
			}
			if share := float64(moved) / n; share < 0.12 || share > 0.28 {
				t.Fatalf("moved %.3f of keys, want ~0.2", share)
			}
		})
	}
}

func TestConsistentServerDownMovesOnlyItsKeys(t *testing.T) {
	const n = 10000
	b := config.Balance{Algo: config.AlgoSource}
	f := newFake(1, 1, 1, 1)
	sel := New(b, config.HashConsistent, members(1, 1, 1, 1))
	before := picks(sel, f, b.Algo, n)
	f.w[2] = 0 // down
	after := picks(sel, f, b.Algo, n)
	for k := range before {
		if before[k] != 2 && after[k] != before[k] {
			t.Fatalf("key %d moved from %d to %d though its server stayed", k, before[k], after[k])
		}
		if after[k] == 2 {
			t.Fatalf("key %d still on the down server", k)
		}
	}
	f.w[2] = 1 // back up: the same mapping as before
	again := picks(sel, f, b.Algo, n)
	if fmt.Sprint(again) != fmt.Sprint(before) {
		t.Fatal("mapping differs after the server came back")
	}
}

func TestMapBasedRemapsOnChange(t *testing.T) {
	const n = 10000
	b := config.Balance{Algo: config.AlgoSource}
	before := picks(New(b, config.HashMapBased, members(1, 1, 1, 1)), newFake(1, 1, 1, 1), b.Algo, n)
	after := picks(New(b, config.HashMapBased, members(1, 1, 1, 1, 1)), newFake(1, 1, 1, 1, 1), b.Algo, n)
	moved := 0
	for k := range before {
		if before[k] != after[k] {
			moved++
		}
	}
	// hash mod 4 vs hash mod 5: about 4/5 of keys change server.
	if share := float64(moved) / n; share < 0.6 {
		t.Fatalf("map-based moved only %.3f of keys on a change, want most", share)
	}
}

func TestHashReturnsFullServer(t *testing.T) {
	for _, ht := range hashTypes {
		f := newFake(1, 1)
		sel := New(config.Balance{Algo: config.AlgoSource}, ht, members(1, 1))
		r := &Request{Client: netip.MustParseAddr("192.0.2.77")}
		i := sel.Select(f, r)
		f.max[i], f.cur[i] = 1, 1
		if j := sel.Select(f, r); j != i {
			t.Fatalf("hash-type %d: full server %d gave way to %d; the pool should queue on it", ht, i, j)
		}
	}
}

func TestHashKeyAbsentFallsBackToRoundRobin(t *testing.T) {
	tests := []struct {
		name string
		b    config.Balance
		r    *Request
	}{
		{"url_param absent", config.Balance{Algo: config.AlgoURLParam, Param: "user"}, &Request{URI: "/q?other=1"}},
		{"url_param empty", config.Balance{Algo: config.AlgoURLParam, Param: "user"}, &Request{URI: "/q?user="}},
		{"url_param no query", config.Balance{Algo: config.AlgoURLParam, Param: "user"}, &Request{URI: "/q"}},
		{"hdr absent", config.Balance{Algo: config.AlgoHdr, Param: "X-User"}, hdrReq("")},
		{"hdr no func", config.Balance{Algo: config.AlgoHdr, Param: "X-User"}, &Request{}},
		{"source no addr", config.Balance{Algo: config.AlgoSource}, &Request{}},
		{"nil request", config.Balance{Algo: config.AlgoURI}, nil},
	}
	for _, tt := range tests {
		for _, ht := range hashTypes {
			t.Run(fmt.Sprintf("%s/%d", tt.name, ht), func(t *testing.T) {
				f := newFake(1, 1, 1)
				c, seq := counts(t, New(tt.b, ht, members(1, 1, 1)), f, tt.r, 30)
				if c[0] != 10 || c[1] != 10 || c[2] != 10 || maxRun(seq) != 1 {
					t.Fatalf("counts %v run %d, want round robin", c, maxRun(seq))
				}
			})
		}
	}
}

func TestURIHashesPathOnly(t *testing.T) {
	sel := New(config.Balance{Algo: config.AlgoURI}, config.HashMapBased, members(1, 1, 1, 1, 1, 1, 1, 1))
	f := newFake(1, 1, 1, 1, 1, 1, 1, 1)
	for k := 0; k < 50; k++ {
		p := fmt.Sprintf("/static/%d.css", k)
		a := sel.Select(f, &Request{URI: p})
		for _, u := range []string{p + "?v=1", p + "?v=2&x=y", "http://example.com" + p + "?z"} {
			if b := sel.Select(f, &Request{URI: u}); b != a {
				t.Fatalf("%q -> %d but %q -> %d", p, a, u, b)
			}
		}
	}
}

func TestURLParamValue(t *testing.T) {
	sel := New(config.Balance{Algo: config.AlgoURLParam, Param: "user"}, config.HashConsistent, members(1, 1, 1, 1))
	f := newFake(1, 1, 1, 1)
	a := sel.Select(f, &Request{URI: "/a?user=bob"})
	for _, u := range []string{"/b?x=1&user=bob", "/c?user=bob&user=eve", "/?user=bob#frag"} {
		if b := sel.Select(f, &Request{URI: u}); b != a {
			t.Fatalf("%q -> %d, want %d (same user)", u, b, a)
		}
	}
}

func TestQueryParam(t *testing.T) {
	tests := []struct {
		uri, name, want string
		ok              bool
	}{
		{"/p?user=bob", "user", "bob", true},
		{"/p?a=1&user=bob&c=3", "user", "bob", true},
		{"/p?username=x&user=y", "user", "y", true},
		{"/p?user=", "user", "", false},
		{"/p?user", "user", "", false},
		{"/p", "user", "", false},
		{"/p?", "user", "", false},
		{"/p?user=a#x", "user", "a", true},
		{"/p?a=1", "", "", false},
		{"/user=bob", "user", "", false},
	}
	for _, tt := range tests {
		v, ok := QueryParam(tt.uri, tt.name)
		if v != tt.want || ok != tt.ok {
			t.Errorf("QueryParam(%q, %q) = %q, %v; want %q, %v", tt.uri, tt.name, v, ok, tt.want, tt.ok)
		}
	}
}

func TestURIPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/a/b?c=d", "/a/b"},
		{"/a/b", "/a/b"},
		{"*", "*"},
		{"http://h.example/x/y?z", "/x/y"},
		{"http://h.example", "/"},
		{"/redirect?to=http://x/y", "/redirect"},
		{"/a://b", "/a://b"},
	}
	for _, tt := range tests {
		if got := URIPath(tt.in); got != tt.want {
			t.Errorf("URIPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzQueryParam(f *testing.F) {
	for _, s := range []string{"/p?user=bob", "/p?a&user=&user=x#", "?=", "/p?user"} {
		f.Add(s, "user")
	}
	f.Fuzz(func(t *testing.T, uri, name string) {
		v, ok := QueryParam(uri, name)
		if ok && (v == "" || !strings.Contains(uri, name+"="+v)) {
			t.Fatalf("QueryParam(%q, %q) = %q: not a value of that parameter", uri, name, v)
		}
		if !ok && v != "" {
			t.Fatalf("value %q returned with ok=false", v)
		}
	})
}

func FuzzURIPath(f *testing.F) {
	for _, s := range []string{"/a?b", "http://h/x?y", "https://", "://", "*", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		p := URIPath(uri)
		if strings.Contains(p, "?") {
			t.Fatalf("URIPath(%q) = %q keeps the query", uri, p)
		}
		if p != "/" && !strings.Contains(uri, p) {
			t.Fatalf("URIPath(%q) = %q is not part of it", uri, p)
		}
	})
}

func TestConsistentRingSizeBounded(t *testing.T) {
	w := make([]int, 100)
	for i := range w {
		w[i] = config.MaxWeight
	}
	h := New(config.Balance{Algo: config.AlgoSource}, config.HashConsistent, members(w...)).(*Hash)
	f := newFake(w...)
	h.Select(f, keyed(config.AlgoSource, 1))
	if n := len(h.ring.cur.Load().points); n > MaxRingPoints || n < MaxRingPoints/2 {
		t.Fatalf("ring has %d points, want at most %d and not far below", n, MaxRingPoints)
	}
}

func TestConsistentWeightChangeMovesOnlyToThatServer(t *testing.T) {
	const n = 10000
	b := config.Balance{Algo: config.AlgoSource}
	f := newFake(1, 1, 1, 1)
	sel := New(b, config.HashConsistent, members(1, 1, 1, 1))
	before := picks(sel, f, b.Algo, n)
	f.w[1] = 2
	after := picks(sel, f, b.Algo, n)
	moved := 0
	for k := range before {
		if before[k] != after[k] {
			moved++
			if after[k] != 1 {
				t.Fatalf("key %d moved from %d to %d; only the reweighted server may gain keys", k, before[k], after[k])
			}
		}
	}
	if share := float64(moved) / n; share < 0.1 || share > 0.3 {
		t.Fatalf("moved %.3f of keys, want ~0.2 (1/4 -> 2/5)", share)
	}
}

func TestConsistentConcurrentRebuild(t *testing.T) {
	sel := New(config.Balance{Algo: config.AlgoSource}, config.HashConsistent, members(1, 1, 1))
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 200; k++ {
				f := newFake(1, 1+(k+g)%3, 1) // each goroutine sees weights change
				if i := sel.Select(f, keyed(config.AlgoSource, k)); i < 0 || i > 2 {
					t.Errorf("pick %d", i)
					return
				}
			}
		}()
	}
	wg.Wait()
}
