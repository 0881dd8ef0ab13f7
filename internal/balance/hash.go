package balance

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"tandem/internal/config"
)

// Fixed hash functions: FNV-1a 64 over the key's bytes, then a splitmix64 finalizer so that
// near keys (10.0.0.1, 10.0.0.2) land far apart. No seed: stable across restarts.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// HashString is the hash of a string key.
func HashString(s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return mix64(h)
}

// HashAddr is the hash of a client address; an IPv4-mapped IPv6 address hashes as its IPv4
// form, and the zone is ignored.
func HashAddr(a netip.Addr) uint64 {
	h := uint64(fnvOffset)
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		for _, c := range b {
			h ^= uint64(c)
			h *= fnvPrime
		}
	} else {
		b := a.As16()
		for _, c := range b {
			h ^= uint64(c)
			h *= fnvPrime
		}
	}
	return mix64(h)
}

// mix64 is the splitmix64 finalizer: a bijection with good avalanche.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// keyFunc extracts and hashes a request's key; ok is false when the key is absent.
type keyFunc func(r *Request) (h uint64, ok bool)

func sourceKey(r *Request) (uint64, bool) {
	if r == nil || !r.Client.IsValid() {
		return 0, false
	}
	return HashAddr(r.Client), true
}

// uriKey hashes the path part of the request target: the part before '?', without the
// scheme and authority of an absolute-form target.
func uriKey(r *Request) (uint64, bool) {
	if r == nil || r.URI == "" {
		return 0, false
	}
	return HashString(URIPath(r.URI)), true
}

// URIPath returns the part of a request target that `balance uri` hashes.
func URIPath(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	if i := strings.Index(u, "://"); i >= 0 && strings.IndexByte(u[:i], '/') < 0 {
		rest := u[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			return rest[j:]
		}
		return "/"
	}
	return u
}

// QueryParam returns the value of query parameter name in request target u, or false when
// it is absent or empty (then `url_param` falls back to round robin, as HAProxy does).
func QueryParam(u, name string) (string, bool) {
	i := strings.IndexByte(u, '?')
	if i < 0 || name == "" {
		return "", false
	}
	q := u[i+1:]
	if j := strings.IndexByte(q, '#'); j >= 0 {
		q = q[:j]
	}
	for q != "" {
		var kv string
		if j := strings.IndexByte(q, '&'); j >= 0 {
			kv, q = q[:j], q[j+1:]
		} else {
			kv, q = q, ""
		}
		if len(kv) > len(name) && kv[len(name)] == '=' && kv[:len(name)] == name {
			v := kv[len(name)+1:]
			if v == "" {
				return "", false
			}
			return v, true
		}
	}
	return "", false
}

func urlParamKey(name string) keyFunc {
	return func(r *Request) (uint64, bool) {
		if r == nil {
			return 0, false
		}
		v, ok := QueryParam(r.URI, name)
		if !ok {
			return 0, false
		}
		return HashString(v), true
	}
}

func hdrKey(name string) keyFunc {
	return func(r *Request) (uint64, bool) {
		if r == nil || r.Header == nil {
			return 0, false
		}
		v, ok := r.Header(name)
		if !ok || v == "" {
			return 0, false
		}
		return HashString(v), true
	}
}

// Hash maps a request key to a server: map-based (the hash modulo the total live weight,
// over the servers laid out by weight in configuration order: any change of the set
// remaps most keys) or consistent (a ring with points in proportion to weight: a change
// only moves the keys of the server that changed). When the key is absent it falls back
// to round robin.
type Hash struct {
	key        keyFunc
	consistent bool
	fallback   *RoundRobin
	ring       *ring
}

func newHash(b config.Balance, ht config.HashType, members []Member) *Hash {
	h := &Hash{fallback: NewRoundRobin(len(members)), consistent: ht == config.HashConsistent}
	switch b.Algo {
	case config.AlgoSource:
		h.key = sourceKey
	case config.AlgoURI:
		h.key = uriKey
	case config.AlgoURLParam:
		h.key = urlParamKey(b.Param)
	default:
		h.key = hdrKey(b.Param)
	}
	if h.consistent {
		names := make([]string, len(members))
		total := 0
		for i, m := range members {
			names[i] = m.Name
			total += max(m.Weight, 0)
		}
		// Points per unit of weight: PointsPerWeight, fewer when the configured weights
		// are so large that the ring would pass MaxRingPoints. It depends on the
		// configuration only, so it is the same after a restart.
		per := PointsPerWeight
		if total > 0 && total*per > MaxRingPoints {
			per = max(1, MaxRingPoints/total)
		}
		h.ring = newRing(names, per)
	}
	return h
}

// Select implements Selector.
func (h *Hash) Select(s Servers, r *Request) int {
	k, ok := h.key(r)
	if !ok {
		return h.fallback.Select(s, r)
	}
	if h.consistent {
		return h.ring.lookup(s, k)
	}
	return MapBased(s, k)
}

// MapBased returns the server hash k maps to in the weighted table of servers with live
// weight, in configuration order; -1 when none has weight.
func MapBased(s Servers, k uint64) int {
	n := s.Len()
	total := 0
	for i := 0; i < n; i++ {
		if w := s.Weight(i); w > 0 {
			total += w
		}
	}
	if total == 0 {
		return -1
	}
	x := int(k % uint64(total))
	last := -1
	for i := 0; i < n; i++ {
		w := s.Weight(i)
		if w <= 0 {
			continue
		}
		last = i
		if x < w {
			return i
		}
		x -= w
	}
	return last
}

// PointsPerWeight is how many ring points a consistent-hash server gets per unit of weight,
// within MaxRingPoints for the configured weights.
const (
	PointsPerWeight = 40
	MaxRingPoints   = 1 << 18
)

type point struct {
	hash uint64
	idx  int32
}

// ringTable is the ring for one vector of live weights.
type ringTable struct {
	weights []int
	points  []point
}

// ring rebuilds its table (copy on write) when the live weights change; a server's points
// depend only on its name and the point's number, so a change of one server's weight or
// health moves only the keys that land on the points it gains or loses.
type ring struct {
	base []uint64 // hash of each name
	per  int      // points per unit of weight
	mu   sync.Mutex
	cur  atomic.Pointer[ringTable]
}

func newRing(names []string, per int) *ring {
	r := &ring{base: make([]uint64, len(names)), per: per}
	for i, n := range names {
		r.base[i] = HashString(n)
	}
	r.cur.Store(&ringTable{weights: make([]int, len(names))})
	return r
}

// weight is the ring weight of server i: its live weight, 0 for a server the ring was
// not built for.
func (r *ring) weight(s Servers, i int) int {
	if i >= len(r.base) {
		return 0
	}
	return max(s.Weight(i), 0)
}

// matches reports whether t was built for the live weights of s.
func (r *ring) matches(t *ringTable, s Servers) bool {
	n := s.Len()
	if n != len(t.weights) {
		return false
	}
	for i := 0; i < n; i++ {
		if r.weight(s, i) != t.weights[i] {
			return false
		}
	}
	return true
}

func (r *ring) table(s Servers) *ringTable {
	if t := r.cur.Load(); r.matches(t, s) {
		return t
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.cur.Load(); r.matches(t, s) { // another pick rebuilt it meanwhile
		return t
	}
	n := s.Len()
	w := make([]int, n)
	total := 0
	for i := range w {
		w[i] = r.weight(s, i)
		total += w[i]
	}
	nt := &ringTable{weights: w, points: make([]point, 0, total*r.per)}
	for i, wi := range w {
		for j := 0; j < wi*r.per; j++ {
			nt.points = append(nt.points, point{hash: mix64(r.base[i] ^ mix64(uint64(j)+1)), idx: int32(i)})
		}
	}
	slices.SortFunc(nt.points, func(a, b point) int {
		switch {
		case a.hash < b.hash:
			return -1
		case a.hash > b.hash:
			return 1
		}
		return int(a.idx - b.idx)
	})
	r.cur.Store(nt)
	return nt
}

// lookup returns the server owning the first point at or after k on the ring.
func (r *ring) lookup(s Servers, k uint64) int {
	t := r.table(s)
	if len(t.points) == 0 {
		return -1
	}
	i, _ := slices.BinarySearchFunc(t.points, k, func(p point, k uint64) int {
		switch {
		case p.hash < k:
			return -1
		case p.hash > k:
			return 1
		}
		return 0
	})
	if i == len(t.points) {
		i = 0
	}
	return int(t.points[i].idx)
}
