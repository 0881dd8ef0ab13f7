// Package balance holds tandem's load-balancing algorithms. It is pure: it picks among
// candidates it is handed and does no I/O.
//
// A Selector is built once per pool (on start and on each reload) from the backend's
// `balance` and `hash-type` settings and the servers' names and configured weights. Each
// pick reads the servers' live state through the small Servers view, so a Selector never
// holds a copy of state that another goroutine changes.
//
// Hashes are computed with a fixed function of the key and of the servers' names, with no
// random seed: the same request goes to the same server after a restart.
package balance

import (
	"net/netip"

	"tandem/internal/config"
)

// Request is what a hashing algorithm may look at. Data paths fill only what the
// backend's algorithm needs (see backend.Pool.Needs), so the common case allocates nothing.
type Request struct {
	Client netip.Addr                       // source algorithm
	URI    string                           // request target as received (uri, url_param)
	Header func(name string) (string, bool) // hdr(NAME); nil when not needed
}

// Servers is the live view a Selector picks from: servers 0..Len()-1 in configuration order.
type Servers interface {
	Len() int
	// Weight is server i's effective weight; 0 when it must get no balanced traffic
	// (down, draining, in maintenance, disabled, or weight 0).
	Weight(i int) int
	// Load is the number of sessions server i holds and whether it has room for one more
	// under its maxconn.
	Load(i int) (cur int, free bool)
}

// Selector picks the index of a server for r, or -1 when no server fits.
//
// Every algorithm only returns servers of non-zero weight. Non-hashing algorithms (and
// the hashing ones when they fall back to round robin because the key is absent) only
// return servers with room; hashing algorithms return the server the key maps to even when
// it is full, so that the caller queues the request on that server and keeps the mapping.
type Selector interface {
	Select(s Servers, r *Request) int
}

// Member is what a Selector is told of a server when it is built.
type Member struct {
	Name   string // stable identity: places the server's points on the consistent-hash ring
	Weight int    // configured weight (static-rr uses it; the others read live weights)
}

// New builds the Selector for algorithm b and hash type ht over members, which must be in
// the order of the Servers view later passed to Select.
func New(b config.Balance, ht config.HashType, members []Member) Selector {
	n := len(members)
	switch b.Algo {
	case config.AlgoStaticRR:
		return newStaticRR(members)
	case config.AlgoLeastConn:
		return &LeastConn{}
	case config.AlgoFirst:
		return First{}
	case config.AlgoRandom:
		return NewRandom(0)
	case config.AlgoSource, config.AlgoURI, config.AlgoURLParam, config.AlgoHdr:
		return newHash(b, ht, members)
	}
	return NewRoundRobin(n)
}

// NewRandom returns the `random` algorithm (two weighted random draws, the less loaded
// wins) with a generator started at seed, so tests can replay it.
func NewRandom(seed uint64) *Random {
	r := &Random{}
	r.state.Store(seed)
	return r
}
