package balance

import "sync/atomic"

// LeastConn is HAProxy's `leastconn`: the server with the fewest sessions relative to its
// weight ((cur+1)/weight) wins; among equals, a rotating start gives round robin.
type LeastConn struct {
	next atomic.Uint64
}

// Select implements Selector.
func (lc *LeastConn) Select(s Servers, _ *Request) int {
	n := s.Len()
	if n == 0 {
		return -1
	}
	start := int((lc.next.Add(1) - 1) % uint64(n))
	best, bestCur, bestW := -1, 0, 0
	for k := 0; k < n; k++ {
		i := start + k
		if i >= n {
			i -= n
		}
		w := s.Weight(i)
		if w <= 0 {
			continue
		}
		cur, free := s.Load(i)
		if !free {
			continue
		}
		// (cur+1)/w < (bestCur+1)/bestW, in integers.
		if best < 0 || (cur+1)*bestW < (bestCur+1)*w {
			best, bestCur, bestW = i, cur, w
		}
	}
	return best
}

// First is HAProxy's `first`: the first server in configuration order that has room
// under its maxconn takes the session, so the others can be stopped when idle.
type First struct{}

// Select implements Selector.
func (First) Select(s Servers, _ *Request) int {
	for i, n := 0, s.Len(); i < n; i++ {
		if s.Weight(i) <= 0 {
			continue
		}
		if _, free := s.Load(i); free {
			return i
		}
	}
	return -1
}

// Random is HAProxy's `random` (random(2)): two servers drawn at random in proportion to
// their weights; the less loaded one, relative to its weight, wins. Its generator is a
// lock-free splitmix64 sequence.
type Random struct {
	state atomic.Uint64
}

func (r *Random) next() uint64 {
	return mix64(r.state.Add(0x9e3779b97f4a7c15))
}

// Select implements Selector.
func (r *Random) Select(s Servers, _ *Request) int {
	n := s.Len()
	total := 0
	for i := 0; i < n; i++ {
		if w := s.Weight(i); w > 0 {
			if _, free := s.Load(i); free {
				total += w
			}
		}
	}
	if total == 0 {
		return -1
	}
	a, b := r.draw(s, total), r.draw(s, total)
	if a < 0 {
		return b
	}
	if b < 0 || a == b {
		return a
	}
	ca, _ := s.Load(a)
	cb, _ := s.Load(b)
	// Load relative to weight; on a tie the first draw wins, so idle servers share in
	// proportion to their weights.
	if cb*s.Weight(a) < ca*s.Weight(b) {
		return b
	}
	return a
}

// draw returns a server with room, chosen with probability weight/total.
func (r *Random) draw(s Servers, total int) int {
	x := int(r.next() % uint64(total))
	last := -1
	for i, n := 0, s.Len(); i < n; i++ {
		w := s.Weight(i)
		if w <= 0 {
			continue
		}
		if _, free := s.Load(i); !free {
			continue
		}
		last = i
		if x < w {
			return i
		}
		x -= w
	}
	// Weights moved between the two passes: take the last server seen.
	return last
}
