// Package balance holds tandem's load-balancing algorithms. It is pure: it picks among
// candidates it is handed and does no I/O.
package balance

import "net/netip"

// Request is what a hashing algorithm may look at. Data paths fill only what the
// backend's algorithm needs (see backend.Pool.Needs), so the common case allocates nothing.
type Request struct {
	Client netip.Addr                       // source algorithm
	URI    string                           // request target as received (uri, url_param)
	Header func(name string) (string, bool) // hdr(NAME); nil when not needed
}
