package balance

import (
	"sync"
	"sync/atomic"
)

// RoundRobin is HAProxy's `roundrobin`: weighted, dynamic (it reads the live weights on
// every pick) and smooth: weights 3:1 give a a b a, not a a a b. Each server gathers its
// weight per pick; the one with the most credit wins and pays the round's total.
type RoundRobin struct {
	mu     sync.Mutex
	credit []int
}

// NewRoundRobin returns a round robin over n servers.
func NewRoundRobin(n int) *RoundRobin { return &RoundRobin{credit: make([]int, n)} }

// Select implements Selector.
func (rr *RoundRobin) Select(s Servers, _ *Request) int {
	n := s.Len()
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if len(rr.credit) < n {
		rr.credit = append(rr.credit, make([]int, n-len(rr.credit))...)
	}
	best, total := -1, 0
	for i := 0; i < n; i++ {
		w := s.Weight(i)
		if w <= 0 {
			rr.credit[i] = 0
			continue
		}
		if _, free := s.Load(i); !free {
			continue
		}
		rr.credit[i] += w
		total += w
		if best < 0 || rr.credit[i] > rr.credit[best] {
			best = i
		}
	}
	if best >= 0 {
		rr.credit[best] -= total
	}
	return best
}

// staticRR is HAProxy's `static-rr`: the configured weights, laid out once as a smooth
// sequence of server indexes that a lock-free counter walks. Live weight changes do not
// reshape it; a server whose live weight is 0 (or that is down or full) is skipped.
type staticRR struct {
	seq  []int
	next atomic.Uint64
}

func newStaticRR(members []Member) *staticRR {
	total := 0
	for _, m := range members {
		if m.Weight > 0 {
			total += m.Weight
		}
	}
	seq := make([]int, 0, total)
	credit := make([]int, len(members))
	for k := 0; k < total; k++ {
		best := -1
		for i, m := range members {
			if m.Weight <= 0 {
				continue
			}
			credit[i] += m.Weight
			if best < 0 || credit[i] > credit[best] {
				best = i
			}
		}
		credit[best] -= total
		seq = append(seq, best)
	}
	return &staticRR{seq: seq}
}

// Select implements Selector.
func (st *staticRR) Select(s Servers, _ *Request) int {
	l := uint64(len(st.seq))
	if l == 0 {
		return -1
	}
	start := st.next.Add(1) - 1
	n := s.Len()
	for k := uint64(0); k < l; k++ {
		i := st.seq[(start+k)%l]
		if i >= n || s.Weight(i) <= 0 {
			continue
		}
		if _, free := s.Load(i); free {
			if k > 0 {
				// Skipped entries: move the counter past them so the next pick
				// does not land on the same server again.
				st.next.Add(k)
			}
			return i
		}
	}
	return -1
}
