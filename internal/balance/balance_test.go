package balance

import (
	"fmt"
	"math"
	"net/netip"
	"testing"

	"tandem/internal/config"
)

// fake is a Servers view with plain slices.
type fake struct {
	w, cur, max []int
}

func newFake(weights ...int) *fake {
	return &fake{w: weights, cur: make([]int, len(weights)), max: make([]int, len(weights))}
}

func (f *fake) Len() int         { return len(f.w) }
func (f *fake) Weight(i int) int { return f.w[i] }
func (f *fake) Load(i int) (int, bool) {
	return f.cur[i], f.max[i] == 0 || f.cur[i] < f.max[i]
}

func members(weights ...int) []Member {
	m := make([]Member, len(weights))
	for i, w := range weights {
		m[i] = Member{Name: fmt.Sprintf("s%d", i+1), Weight: w}
	}
	return m
}

func counts(t *testing.T, sel Selector, f *fake, r *Request, n int) ([]int, []int) {
	t.Helper()
	c := make([]int, f.Len())
	seq := make([]int, 0, n)
	for k := 0; k < n; k++ {
		i := sel.Select(f, r)
		if i < 0 {
			t.Fatalf("pick %d: no server", k)
		}
		c[i]++
		seq = append(seq, i)
	}
	return c, seq
}

// maxRun is the longest run of the same server in seq.
func maxRun(seq []int) int {
	best, run := 0, 0
	for k := range seq {
		if k > 0 && seq[k] == seq[k-1] {
			run++
		} else {
			run = 1
		}
		best = max(best, run)
	}
	return best
}

func TestWeightedRoundRobins(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
		want    []int // over 400 picks
		maxRun  int
	}{
		{"equal alternate", []int{1, 1}, []int{200, 200}, 1},
		{"3:1 interleaved", []int{3, 1}, []int{300, 100}, 3},
		{"weight 0 gets nothing", []int{1, 0, 1}, []int{200, 0, 200}, 1},
		{"2:1:1", []int{2, 1, 1}, []int{200, 100, 100}, 2},
		{"1:3", []int{1, 3}, []int{100, 300}, 3},
	}
	algos := []struct {
		name string
		mk   func(w []int) Selector
	}{
		{"roundrobin", func(w []int) Selector { return New(config.Balance{Algo: config.AlgoRoundRobin}, 0, members(w...)) }},
		{"static-rr", func(w []int) Selector { return New(config.Balance{Algo: config.AlgoStaticRR}, 0, members(w...)) }},
	}
	for _, a := range algos {
		for _, tt := range tests {
			t.Run(a.name+"/"+tt.name, func(t *testing.T) {
				f := newFake(tt.weights...)
				c, seq := counts(t, a.mk(tt.weights), f, nil, 400)
				for i := range c {
					if c[i] != tt.want[i] {
						t.Fatalf("counts = %v, want %v", c, tt.want)
					}
				}
				if r := maxRun(seq); r > tt.maxRun {
					t.Fatalf("longest run of one server = %d, want <= %d (not smooth): %v", r, tt.maxRun, seq[:12])
				}
			})
		}
	}
}

func TestRoundRobinIsDynamic(t *testing.T) {
	f := newFake(1, 1)
	rr := NewRoundRobin(2)
	counts(t, rr, f, nil, 10)
	f.w[0] = 3 // runtime `set weight`
	c, _ := counts(t, rr, f, nil, 400)
	if math.Abs(float64(c[0])-300) > 2 || math.Abs(float64(c[1])-100) > 2 {
		t.Fatalf("after weight change counts = %v, want ~[300 100]", c)
	}
}

func TestStaticRRIgnoresLiveWeightButHonoursZero(t *testing.T) {
	f := newFake(3, 1)
	st := New(config.Balance{Algo: config.AlgoStaticRR}, 0, members(3, 1))
	f.w[0] = 1 // live change: static-rr keeps the configured 3:1
	c, _ := counts(t, st, f, nil, 400)
	if c[0] != 300 || c[1] != 100 {
		t.Fatalf("counts = %v, want [300 100]", c)
	}
	f.w[0] = 0
	c, _ = counts(t, st, f, nil, 40)
	if c[0] != 0 || c[1] != 40 {
		t.Fatalf("with live weight 0, counts = %v, want [0 40]", c)
	}
}

func TestNonHashingSkipFullAndZero(t *testing.T) {
	algos := map[string]config.Algo{
		"roundrobin": config.AlgoRoundRobin, "static-rr": config.AlgoStaticRR, "leastconn": config.AlgoLeastConn,
		"first": config.AlgoFirst, "random": config.AlgoRandom,
	}
	for name, algo := range algos {
		t.Run(name, func(t *testing.T) {
			f := newFake(1, 1, 0, 1)
			f.cur[0], f.max[0] = 5, 5 // full
			f.cur[1], f.max[1] = 2, 3 // room
			f.max[3], f.cur[3] = 1, 1 // full
			sel := New(config.Balance{Algo: algo}, 0, members(1, 1, 0, 1))
			for k := 0; k < 50; k++ {
				if i := sel.Select(f, nil); i != 1 {
					t.Fatalf("pick %d = %d, want 1 (the only one with room and weight)", k, i)
				}
			}
			f.cur[1] = 3
			if i := sel.Select(f, nil); i != -1 {
				t.Fatalf("all full: pick = %d, want -1", i)
			}
		})
	}
}

func TestLeastConn(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
		cur     []int
		want    int
	}{
		{"prefers idle", []int{1, 1, 1}, []int{4, 0, 2}, 1},
		{"relative to weight", []int{1, 4}, []int{1, 8}, 0}, // 2/1 vs 9/4
		{"heavier wins at equal load", []int{1, 4}, []int{2, 2}, 1},
		{"skips weight 0", []int{0, 1}, []int{0, 9}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(tt.weights...)
			copy(f.cur, tt.cur)
			lc := &LeastConn{}
			for k := 0; k < 10; k++ {
				if i := lc.Select(f, nil); i != tt.want {
					t.Fatalf("pick = %d, want %d", i, tt.want)
				}
			}
		})
	}
	t.Run("ties round robin", func(t *testing.T) {
		f := newFake(1, 1, 1)
		c, seq := counts(t, &LeastConn{}, f, nil, 300)
		if c[0] != 100 || c[1] != 100 || c[2] != 100 || maxRun(seq) != 1 {
			t.Fatalf("counts = %v, run %d; want 100 each, alternating", c, maxRun(seq))
		}
	})
	t.Run("balances held sessions", func(t *testing.T) {
		f := newFake(1, 1)
		lc := &LeastConn{}
		for k := 0; k < 10; k++ {
			f.cur[lc.Select(f, nil)]++ // sessions that stay open
		}
		if f.cur[0] != 5 || f.cur[1] != 5 {
			t.Fatalf("held = %v, want [5 5]", f.cur)
		}
	})
}

func TestFirst(t *testing.T) {
	f := newFake(1, 1, 1)
	f.max = []int{2, 2, 0}
	sel := First{}
	var got []int
	for k := 0; k < 6; k++ {
		i := sel.Select(f, nil)
		f.cur[i]++
		got = append(got, i)
	}
	want := []int{0, 0, 1, 1, 2, 2}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("picks = %v, want %v", got, want)
	}
	f.cur[0] = 1 // a slot frees on the first server: it gets the next session
	if i := sel.Select(f, nil); i != 0 {
		t.Fatalf("pick = %d, want 0", i)
	}
}

func TestRandomWeighted(t *testing.T) {
	f := newFake(3, 1)
	c, _ := counts(t, NewRandom(1), f, nil, 4000)
	// Two draws then the first wins a tie: with equal loads the split stays weighted.
	if share := float64(c[0]) / 4000; share < 0.70 || share > 0.80 {
		t.Fatalf("share of weight-3 server = %.3f (counts %v), want ~0.75", share, c)
	}
}

func TestRandomPowerOfTwoPrefersLessLoaded(t *testing.T) {
	f := newFake(1, 1, 1, 1)
	f.cur = []int{10, 0, 10, 10}
	c, _ := counts(t, NewRandom(7), f, nil, 4000)
	// Server 1 wins whenever it is one of the two draws: 1-(3/4)^2 = 7/16 of picks.
	if share := float64(c[1]) / 4000; share < 0.40 || share > 0.48 {
		t.Fatalf("share of idle server = %.3f (counts %v), want ~0.44", share, c)
	}
}

func TestRandomSameSeedSameSequence(t *testing.T) {
	f := newFake(1, 2, 3)
	_, a := counts(t, NewRandom(42), f, nil, 50)
	_, b := counts(t, NewRandom(42), f, nil, 50)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatal("same seed gave different sequences")
	}
}

func TestEmptyAndAllZero(t *testing.T) {
	for _, algo := range []config.Algo{config.AlgoRoundRobin, config.AlgoStaticRR, config.AlgoLeastConn,
		config.AlgoFirst, config.AlgoRandom, config.AlgoSource, config.AlgoURI} {
		for _, ht := range []config.HashType{config.HashMapBased, config.HashConsistent} {
			r := &Request{Client: netip.MustParseAddr("10.0.0.1"), URI: "/a"}
			if i := New(config.Balance{Algo: algo}, ht, nil).Select(newFake(), r); i != -1 {
				t.Fatalf("%v/%v on no servers = %d", algo, ht, i)
			}
			if i := New(config.Balance{Algo: algo}, ht, members(0, 0)).Select(newFake(0, 0), r); i != -1 {
				t.Fatalf("%v/%v on weight-0 servers = %d", algo, ht, i)
			}
		}
	}
}
