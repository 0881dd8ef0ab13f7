// Package backend holds server pools: a backend's servers as configured, their live state
// (up/down, admin state, connection counts, counters) that survives reloads, and the
// acquire/release of a connection slot with server maxconn and the backend queue.
//
// The data path takes a slot with Acquire (balanced) or AcquireServer (persistence) and
// gives it back with Release. Without contention both are a few atomic operations and a
// pick by the backend's balance.Selector, with no allocation; the pool's mutex is only
// taken while requests wait in a queue.
//
// A server's maxconn is a hard limit: a slot is taken by compare-and-swap on its
// connection count. With minconn the limit follows the backend's load (dynamic.go).
// When every candidate is full, a balanced request waits in the backend queue; a
// persistent request (AcquireServer), or a hashed one whose server is full, waits in that
// server's queue, unless that queue already holds the server's maxqueue requests: the
// request then fails at once with ErrQueueFull (HAProxy: 503, termination state "SQ"; a
// cookie-persistent request is redispatched instead under option redispatch). Each freed slot goes to the oldest request that can use it, across both
// kinds of queue, and wakes only that request. A wait is bounded by `timeout queue` (else
// `timeout connect`, else DefaultQueueTimeout).
package backend

import (
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"tandem/internal/balance"
	"tandem/internal/config"
)

// Errors returned by Acquire. Data paths answer 503 for all three.
var (
	ErrNoServer     = errors.New("no server available")
	ErrQueueTimeout = errors.New("timed out in queue")
	ErrQueueFull    = errors.New("server queue full (maxqueue)")
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

	owner atomic.Pointer[Pool] // the newest pool built over this state

	// Health checks (issue 3): see health.go.
	check health
	ramp  atomic.Int32 // slowstart: per-mille of the weight in force, 0 when not ramping
	obs   atomic.Pointer[observerBox]
	rtMax atomic.Int64 // maxconn set by an agent, 0: the configured one
}

// changed lets the newest pool over s hand slots to queued requests after a change of
// health, admin state or weight.
func (s *State) changed() {
	if p := s.owner.Load(); p != nil {
		p.Dispatch()
	}
}

// Up reports the server's health.
func (s *State) Up() bool { return s.up.Load() }

// SetUp sets the server's health. Queued requests are dispatched again: to a server that
// came back, or away from one that went down.
func (s *State) SetUp(v bool) {
	s.up.Store(v)
	s.changed()
}

// Admin returns the operator's state.
func (s *State) Admin() AdminState { return AdminState(s.admin.Load()) }

// SetAdmin sets the operator's state, and dispatches queued requests again.
func (s *State) SetAdmin(a AdminState) {
	s.admin.Store(int32(a))
	s.changed()
}

// Cur returns the connections currently held on the server.
func (s *State) Cur() int64 { return s.cur.Load() }

// Max returns the highest number of connections held at once.
func (s *State) Max() int64 { return s.max.Load() }

// Weight returns the weight set at run time (agent-check, runtime API), or -1 when the
// configured weight applies. Server.EffectiveWeight gives the weight in force.
func (s *State) Weight() int { return int(s.weight.Load()) }

// SetWeight sets the run-time weight, clamped to 0..config.MaxWeight; a negative value
// returns to the configured weight. Weight 0 takes the server out of balancing (it still
// takes persistent sessions).
func (s *State) SetWeight(w int) {
	switch {
	case w < 0:
		w = -1
	case w > config.MaxWeight:
		w = config.MaxWeight
	}
	s.weight.Store(int32(w))
	s.changed()
}

// take claims one connection slot unless limit (> 0) is reached. It never lets cur pass
// limit, whatever the concurrency.
func (s *State) take(limit int64) bool {
	if limit <= 0 {
		s.noteMax(s.cur.Add(1))
		return true
	}
	for {
		c := s.cur.Load()
		if c >= limit {
			return false
		}
		if s.cur.CompareAndSwap(c, c+1) {
			s.noteMax(c + 1)
			return true
		}
	}
}

func (s *State) noteMax(c int64) {
	for {
		m := s.max.Load()
		if c <= m || s.max.CompareAndSwap(m, c) {
			return
		}
	}
}

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

	q    waitList     // requests waiting for this server; guarded by the pool's mu
	qlen atomic.Int64 // len(q), readable without the lock
	qmax atomic.Int64

	pool *Pool
}

// FollowsClient reports whether the server's address depends on where the client
// connected: a server written without a port, or with the address 0.0.0.0 or "*".
func (s *Server) FollowsClient() bool {
	a := s.Cfg.Addr
	return a.Port() == 0 || a.Addr().IsUnspecified()
}

// Dst is where a session to the server connects, for a client that connected to
// clientDst. As HAProxy: a server without a port takes the client's port, and a server
// at 0.0.0.0 (or "*") the address the client connected to.
func (s *Server) Dst(clientDst netip.AddrPort) netip.AddrPort {
	a := s.Cfg.Addr
	ip, port := a.Addr(), a.Port()
	if ip.IsUnspecified() {
		ip = clientDst.Addr()
	}
	if port == 0 {
		port = clientDst.Port()
	}
	return netip.AddrPortFrom(ip, port)
}

// SameServer reports whether a connection to conn ("ip:port") goes to the server whose
// address is srv (Server.Addr): the same address, where a server without a port ("ip:0")
// matches any port and a server at 0.0.0.0 any address (FollowsClient).
func SameServer(conn, srv string) bool {
	if conn == srv {
		return true
	}
	c, err1 := netip.ParseAddrPort(conn)
	s, err2 := netip.ParseAddrPort(srv)
	if err1 != nil || err2 != nil {
		return false
	}
	return (s.Addr().IsUnspecified() || s.Addr().Unmap() == c.Addr().Unmap()) && (s.Port() == 0 || s.Port() == c.Port())
}

// Usable reports whether new sessions may go to the server: up, ready, not disabled.
func (s *Server) Usable() bool {
	return s.Up() && s.Admin() == AdminReady && !s.Cfg.Disabled
}

// EffectiveWeight is the weight in force: the run-time one if set, else the configured one.
func (s *Server) EffectiveWeight() int {
	w := s.Cfg.Weight
	if rw := s.weight.Load(); rw >= 0 {
		w = int(rw)
	}
	if r := s.ramp.Load(); r > 0 && w > 0 {
		w = max(1, (w*int(r)+999)/1000)
	}
	return w
}

// Queued returns how many requests wait for this server in particular.
func (s *Server) Queued() int { return int(s.qlen.Load()) }

// MaxQueued returns the longest this server's queue has been in this pool.
func (s *Server) MaxQueued() int { return int(s.qmax.Load()) }

// lbWeight is the weight the balancer sees: 0 unless the server may take new sessions.
func (s *Server) lbWeight() int {
	if !s.Usable() {
		return 0
	}
	return s.EffectiveWeight()
}

// persistOK reports whether a persistent session may reach the server (drain allowed).
func (s *Server) persistOK() bool {
	return s.Up() && s.Admin() != AdminMaint && !s.Cfg.Disabled
}

func (s *Server) limit() int64 {
	m := s.rtMax.Load()
	if m <= 0 {
		m = int64(s.Cfg.MaxConn)
	}
	if s.Cfg.MinConn > 0 { // the limit follows the backend's load (dynamic.go)
		m = s.dynamicLimit(m)
	}
	if r := s.ramp.Load(); r > 0 && m > 0 {
		// slowstart: the limit grows from 1 to the whole (dynamic) limit, as the weight.
		m = (m*int64(r) + 999) / 1000
	}
	return m
}

// queueFull reports whether s's own queue holds its maxqueue requests already (never
// when maxqueue is 0). Caller holds the pool's mu.
func (s *Server) queueFull() bool {
	return s.Cfg.MaxQueue > 0 && s.q.n >= s.Cfg.MaxQueue
}

func (s *Server) hasRoom() bool {
	l := s.limit()
	return l <= 0 || s.cur.Load() < l
}

// view is a set of servers as the balancer sees them.
type view []*Server

func (v *view) Len() int         { return len(*v) }
func (v *view) Weight(i int) int { return (*v)[i].lbWeight() }
func (v *view) Load(i int) (int, bool) {
	s := (*v)[i]
	c := s.cur.Load()
	l := s.limit()
	return int(c), l <= 0 || c < l
}

// DefaultQueueTimeout bounds a wait in the queue when neither `timeout queue` nor
// `timeout connect` is set.
const DefaultQueueTimeout = 5 * time.Second

// Pool is a backend's servers and its balancer. Build a new one on each reload.
type Pool struct {
	Cfg     *config.Backend
	Servers []*Server

	actives, backups     view
	activeSel, backupSel balance.Selector
	hashed               bool
	allBackups           atomic.Bool
	queueTimeout         time.Duration
	timer                func(time.Duration) (<-chan time.Time, func() bool)

	waiting atomic.Int64 // requests in any queue of the pool, plus those about to be
	dyn     dynamic      // dynamic maxconn (server minconn): the backend's load
	qlen    atomic.Int64 // backend queue length, readable without the lock
	qmax    atomic.Int64

	mu        sync.Mutex
	q         waitList // the backend queue: balanced requests waiting for any server
	srvQueued int      // waiters in server queues
	seq       uint64
}

// New builds the pool of cfg, taking each server's live state from states.
func New(cfg *config.Backend, states *States) *Pool {
	p := &Pool{Cfg: cfg, hashed: cfg.Balance.Algo.Hashed(), timer: realTimer}
	var am, bm []balance.Member
	for _, sc := range cfg.Servers {
		s := &Server{Cfg: sc, Addr: sc.Addr.String(), State: states.Get(cfg.Name, sc.Name), pool: p}
		p.dyn.on = p.dyn.on || sc.MinConn > 0
		p.Servers = append(p.Servers, s)
		s.owner.Store(p)
		m := balance.Member{Name: sc.Name, Weight: sc.Weight}
		if sc.Backup {
			p.backups = append(p.backups, s)
			bm = append(bm, m)
		} else {
			p.actives = append(p.actives, s)
			am = append(am, m)
		}
	}
	p.allBackups.Store(cfg.AllBackups)
	p.activeSel = balance.New(cfg.Balance, cfg.HashType, am)
	p.backupSel = balance.New(cfg.Balance, cfg.HashType, bm)
	p.queueTimeout = cfg.Timeouts.Queue
	if p.queueTimeout <= 0 {
		p.queueTimeout = cfg.Timeouts.Connect
	}
	if p.queueTimeout <= 0 {
		p.queueTimeout = DefaultQueueTimeout
	}
	return p
}

func realTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// SetAllBackups is `option allbackups`: when no active server is usable, balance over all
// usable backups instead of sending everything to the first one.
func (p *Pool) SetAllBackups(v bool) { p.allBackups.Store(v) }

// AllBackups reports whether `option allbackups` is in force.
func (p *Pool) AllBackups() bool { return p.allBackups.Load() }

// QueueTimeout is how long a request may wait for a slot: `timeout queue`, else `timeout
// connect`, else DefaultQueueTimeout.
func (p *Pool) QueueTimeout() time.Duration { return p.queueTimeout }

// Queued returns how many requests wait in the backend queue (for any server).
func (p *Pool) Queued() int { return int(p.qlen.Load()) }

// MaxQueued returns the longest the backend queue has been.
func (p *Pool) MaxQueued() int { return int(p.qmax.Load()) }

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

// ByCookie returns the server whose `cookie` value is v, or nil.
func (p *Pool) ByCookie(v string) *Server {
	for _, s := range p.Servers {
		if s.Cfg.Cookie != "" && s.Cfg.Cookie == v {
			return s
		}
	}
	return nil
}

// CountUsable returns how many active and backup servers may take new sessions now
// (HAProxy's "N active and M backup servers left").
func (p *Pool) CountUsable() (active, backup int) {
	for _, s := range p.actives {
		if s.lbWeight() > 0 {
			active++
		}
	}
	for _, s := range p.backups {
		if s.lbWeight() > 0 {
			backup++
		}
	}
	return active, backup
}

// Conns returns the connections held on the pool's servers now (the log's %bc).
func (p *Pool) Conns() int {
	n := int64(0)
	for _, s := range p.Servers {
		n += s.Cur()
	}
	return int(n)
}
