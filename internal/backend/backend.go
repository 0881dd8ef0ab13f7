// Package backend holds server pools: a backend's servers as configured, their live state
// (up/down, admin state, connection counts, counters) that survives reloads, and the
// acquire/release of a connection slot with server maxconn and the backend queue.
package backend

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"tandem/internal/balance"
	"tandem/internal/config"
)

// Errors returned by Acquire. Data paths answer 503 for both.
var (
	ErrNoServer     = errors.New("no server available")
	ErrQueueTimeout = errors.New("timed out in queue")
)

// AdminState is the operator's say on a server (runtime API, agent-check).
type AdminState int32

const (
	AdminReady AdminState = iota
	AdminDrain            // no new sessions, but persistent (cookie) clients still reach it
	AdminMaint            // no traffic at all
)

// State is a server's live state. It outlives a Pool: States keeps it across reloads,
// keyed by backend and server name.
type State struct {
	up        atomic.Bool // health: true unless checks say otherwise
	admin     atomic.Int32
	weight    atomic.Int32 // effective weight (agent or runtime may change it); -1: use config
	cur       atomic.Int64 // current connections (slots held)
	max       atomic.Int64 // highest cur seen
	Total     atomic.Uint64
	BytesIn   atomic.Uint64 // bytes from client to server
	BytesOut  atomic.Uint64 // bytes from server to client
	ConnErr   atomic.Uint64
	RespErr   atomic.Uint64
	Retries   atomic.Uint64
	Redisp    atomic.Uint64
	LBTotal   atomic.Uint64 // times chosen by the balancer
	Responses [6]atomic.Uint64
}

// Up reports the server's health.
func (s *State) Up() bool { return s.up.Load() }

// SetUp sets the server's health.
func (s *State) SetUp(v bool) { s.up.Store(v) }

// Admin returns the operator's state.
func (s *State) Admin() AdminState { return AdminState(s.admin.Load()) }

// SetAdmin sets the operator's state.
func (s *State) SetAdmin(a AdminState) { s.admin.Store(int32(a)) }

// Cur returns the connections currently held on the server.
func (s *State) Cur() int64 { return s.cur.Load() }

// States keeps every server's State for the life of the process.
type States struct {
	mu sync.Mutex
	m  map[string]*State
}

// NewStates returns an empty registry.
func NewStates() *States { return &States{m: map[string]*State{}} }

// Get returns the state of backend/server, creating it (up, ready) when new.
func (r *States) Get(backend, server string) *State {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := backend + "/" + server
	st := r.m[k]
	if st == nil {
		st = &State{}
		st.up.Store(true)
		st.weight.Store(-1)
		r.m[k] = st
	}
	return st
}

// Server is one configured server with its live state.
type Server struct {
	Cfg  *config.Server
	Addr string // dial address, "ip:port"
	*State
}

// Usable reports whether new sessions may go to the server: up, ready, not disabled.
func (s *Server) Usable() bool {
	return s.Up() && s.Admin() == AdminReady && !s.Cfg.Disabled
}

// Pool is a backend's servers and its balancer. Build a new one on each reload.
type Pool struct {
	Cfg     *config.Backend
	Servers []*Server
	rr      atomic.Uint64
}

// New builds the pool of cfg, taking each server's live state from states.
func New(cfg *config.Backend, states *States) *Pool {
	p := &Pool{Cfg: cfg}
	for _, sc := range cfg.Servers {
		p.Servers = append(p.Servers, &Server{Cfg: sc, Addr: sc.Addr.String(), State: states.Get(cfg.Name, sc.Name)})
	}
	return p
}

// Needs reports what the balancer reads from a request: the client address, the URI, a header.
func (p *Pool) Needs() (client, uri bool, header string) {
	switch p.Cfg.Balance.Algo {
	case config.AlgoSource:
		return true, false, ""
	case config.AlgoURI, config.AlgoURLParam:
		return false, true, ""
	case config.AlgoHdr:
		return false, false, p.Cfg.Balance.Param
	}
	return false, false, ""
}

// Acquire chooses a server for r and takes a connection slot on it, waiting in the
// backend's queue (bounded by timeout queue) when every candidate is at its maxconn.
// The caller must Release the server when the session ends.
// SKELETON: round robin over usable active servers, no maxconn, no queue.
func (p *Pool) Acquire(ctx context.Context, r *balance.Request) (*Server, error) {
	n := len(p.Servers)
	for i := 0; i < n; i++ {
		s := p.Servers[int(p.rr.Add(1)-1)%n]
		if s.Usable() && !s.Cfg.Backup {
			s.cur.Add(1)
			s.Total.Add(1)
			return s, nil
		}
	}
	return nil, ErrNoServer
}

// AcquireServer takes a slot on s itself (cookie persistence), queueing as Acquire does.
// It returns ErrNoServer when s cannot take the session (down or in maintenance);
// a server in drain still accepts persistent sessions.
func (p *Pool) AcquireServer(ctx context.Context, s *Server) error {
	if !s.Up() || s.Admin() == AdminMaint || s.Cfg.Disabled {
		return ErrNoServer
	}
	s.cur.Add(1)
	s.Total.Add(1)
	return nil
}

// Release gives back the slot taken by Acquire or AcquireServer.
func (p *Pool) Release(s *Server) {
	s.cur.Add(-1)
}

// ByCookie returns the server whose `cookie` value is v, or nil.
func (p *Pool) ByCookie(v string) *Server {
	for _, s := range p.Servers {
		if s.Cfg.Cookie != "" && s.Cfg.Cookie == v {
			return s
		}
	}
	return nil
}
