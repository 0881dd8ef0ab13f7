// Package persist carries out HAProxy 2.6's stick-table persistence (configuration.txt
// §4.2 stick match, stick on, stick store-request, stick store-response): a request
// whose key a table knows goes to the server stored for it, and the server a request
// went to (or a response came from) is stored under the request's (or response's)
// key. Both data paths call it: Match before the balancer, Store once the server is
// known.
//
// The package does no I/O: it reads the rules of the configuration, live stick tables
// and the pool's servers.
package persist

import (
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/sample"
	"tandem/internal/stick"
	"tandem/internal/track"
)

// maxStores is how many store rules one request keeps (HAProxy's limit).
const maxStores = 8

// Pending is the keys a request stores once its server is known. The zero value is
// empty; the data path keeps one per exchange.
type Pending struct {
	n   int
	tab [maxStores]*stick.Table
	key [maxStores]stick.Key
}

func (p *Pending) has(t *stick.Table) bool {
	for i := 0; i < p.n; i++ {
		if p.tab[i] == t {
			return true
		}
	}
	return false
}

func (p *Pending) add(t *stick.Table, k stick.Key) {
	if p.n < maxStores {
		p.tab[p.n], p.key[p.n] = t, k
		p.n++
	}
}

// Reset empties p.
func (p *Pending) Reset() { p.n = 0 }

// Match runs the request-time rules (match, on, store-request) in order over t. It
// returns the server the first matching entry names (the caller takes it with
// backend.Pool.AcquireServer, which refuses a server down or in maintenance, as
// HAProxy without option persist), else nil; every entry found is touched. The keys of store rules go to p: only the first store rule
// of each table counts, and a rule whose table already has one is skipped whole.
func Match(rules []config.StickRule, tables map[string]*stick.Table, pool *backend.Pool, t sample.Txn, p *Pending, now time.Time) *backend.Server {
	p.Reset()
	var srv *backend.Server
	for i := range rules {
		r := &rules[i]
		if r.Kind == config.StickStoreResponse {
			continue
		}
		tab := tables[r.Table]
		if tab == nil || r.Stores() && p.has(tab) {
			continue
		}
		if r.Cond != nil && !r.Cond.Match(t) {
			continue
		}
		v, ok := r.Expr.Eval(t)
		if !ok {
			continue
		}
		k, ok := track.Key(tab, v, r.Stores())
		if !ok {
			continue
		}
		if r.Matches() {
			if e := tab.Lookup(k, now); e != nil {
				if srv == nil {
					srv = serverOf(tab, e, pool, now)
				}
				e.Touch(now)
			}
		}
		if r.Stores() {
			p.add(tab, k)
		}
	}
	return srv
}

// Store remembers srv under the keys of p, then, when t is in a response phase, runs
// the store-response rules (a table that already has a key of the request is
// skipped). It empties p.
func Store(rules []config.StickRule, tables map[string]*stick.Table, pool *backend.Pool, srv *backend.Server, t sample.Txn, p *Pending, response bool, now time.Time) {
	if srv == nil {
		p.Reset()
		return
	}
	id := int32(0)
	for i, s := range pool.Servers {
		if s == srv {
			id = int32(i + 1)
		}
	}
	for i := 0; i < p.n; i++ {
		put(p.tab[i], p.key[i], srv, id, now)
	}
	if response {
		for i := range rules {
			r := &rules[i]
			if r.Kind != config.StickStoreResponse {
				continue
			}
			tab := tables[r.Table]
			if tab == nil || p.has(tab) {
				continue
			}
			if r.Cond != nil && !r.Cond.Match(t) {
				continue
			}
			v, ok := r.Expr.Eval(t)
			if !ok {
				continue
			}
			if k, ok := track.Key(tab, v, true); ok {
				p.add(tab, k)
				put(tab, k, srv, id, now)
			}
		}
	}
	p.Reset()
}

func put(tab *stick.Table, k stick.Key, srv *backend.Server, id int32, now time.Time) {
	e := tab.Acquire(k, now)
	if e == nil {
		return // full, nopurge
	}
	key := srv.Cfg.Name
	if tab.Def().SrvKey == "addr" {
		key = srv.Addr
	}
	e.SetServer(id, key, now)
	e.Release(now)
}

// serverOf is the server an entry names: by server_key when the table stores it
// (the server's name or address, as srvkey says), else by server_id (its position in
// the backend, from 1, as HAProxy numbers servers without an "id").
func serverOf(tab *stick.Table, e *stick.Entry, pool *backend.Pool, now time.Time) *backend.Server {
	if key := e.ServerKey(); key != "" {
		for _, s := range pool.Servers {
			if tab.Def().SrvKey == "addr" && s.Addr == key || tab.Def().SrvKey != "addr" && s.Cfg.Name == key {
				return s
			}
		}
	}
	id, ok := e.Get(stick.ServerID, now)
	if !ok || id == 0 || int(id) > len(pool.Servers) {
		return nil
	}
	return pool.Servers[id-1]
}
