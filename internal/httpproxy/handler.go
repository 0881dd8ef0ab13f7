// Package httpproxy is tandem's HTTP/1.x data path over net.Conn: it reads requests,
// picks a backend and a server (cookie persistence, then the balancer), rewrites the
// head once, streams bodies both ways, reuses server connections and answers errors as
// HAProxy does. It does not use net/http.
//
// One goroutine serves one client connection; per-request work allocates nothing on the
// keep-alive path. Buffers come from a pool when bytes arrive and go back when the
// connection is idle; with Handler.Idle, a connection idle for parkAfter also gives up its
// goroutine, its request loop state and its Go socket object (park.go), keeping ~250 B.
package httpproxy

import (
	"tandem/internal/stick"
	"tandem/internal/track"

	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"tandem/internal/idlewait"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/logging"
	"tandem/internal/proxystats"
)

// Route is what a frontend serves: its config, the pools it may send to, and globals.
type Route struct {
	Frontend *config.Frontend
	Backends map[string]*backend.Pool // by backend name
	Default  *backend.Pool            // used when no rule or default_backend names a pool
	Global   *config.Global
	Stats    *proxystats.Frontend    // the frontend's counters (nil: none)
	Service  Service                 // answers the stats page and metrics requests (nil: none)
	Log      *logging.Logger         // traffic log (option httplog, log-format); nil: off
	Tables   map[string]*stick.Table // live stick tables by name (track-sc, sc_*, src_*, table_*)

	// BackendServices answer the stats page of backends with stats lines (by backend
	// name), for the requests that reach them; nil: none.
	BackendServices map[string]Service
}

// routeState is a Route with what the data path derives from it, computed once per Swap.
type routeState struct {
	r       *Route
	pool    *backend.Pool // the backend every request goes to; nil when rules choose
	rules   []routeRule   // use_backend rules evaluated per request (rules.go)
	defPool *backend.Pool // where requests no rule picks go (default_backend)
	// feWork: the frontend has request-time work (monitor-uri, http-request or redirect
	// rules); feTxn: some frontend rule reads the request (those, use_backend rules,
	// tcp-request content, http-after-response), so every request starts the sample.Txn
	feWork, feTxn bool
	fe            *config.Frontend
	exPool        *sync.Pool // *exchange sized for this route's bufsize
	bufSize       int
	headLimit     int // a request head must fit in bufsize - maxrewrite, as in HAProxy
	tHTTPReq      time.Duration
	tKeepAlive    time.Duration
	tClient       time.Duration
	feMode        config.HTTPConnMode
	laxReq        bool // option accept-invalid-http-request
}

func newRouteState(r *Route, pools map[int]*sync.Pool) *routeState {
	rs := &routeState{r: r, fe: r.Frontend}
	if r.Frontend != nil {
		fe := r.Frontend
		rs.compileRules(r)
		rs.feWork = fe.MonitorURI != "" || len(fe.Rules.Request) > 0 || len(fe.Rules.Redirect) > 0
		rs.feTxn = rs.feWork || rs.rules != nil || len(fe.TCPRules.Content) > 0 || len(fe.Rules.AfterResponse) > 0
		t := fe.Timeouts
		rs.tClient = t.Client
		rs.tHTTPReq = t.HTTPRequest
		if rs.tHTTPReq == 0 {
			rs.tHTTPReq = t.Client
		}
		rs.tKeepAlive = t.HTTPKeepAlive
		if rs.tKeepAlive == 0 {
			rs.tKeepAlive = rs.tHTTPReq
		}
		rs.feMode = fe.ConnMode
		rs.laxReq = fe.AcceptInvalidRequest
	}
	if rs.pool == nil && rs.rules == nil {
		rs.pool = r.Default
	}
	rs.bufSize, rs.headLimit = config.DefaultBufSize, config.DefaultBufSize-config.DefaultMaxRewrite
	if g := r.Global; g != nil && g.BufSize > 0 {
		rs.bufSize = g.BufSize
		mr := g.MaxRewrite
		if mr <= 0 || mr >= g.BufSize {
			mr = g.BufSize / 2
		}
		rs.headLimit = g.BufSize - mr
	}
	if rs.bufSize < 1024 {
		rs.bufSize, rs.headLimit = 1024, 512
	}
	p := pools[rs.bufSize]
	if p == nil {
		size := rs.bufSize
		p = &sync.Pool{}
		p.New = func() any { return newExchange(size, p) }
		pools[size] = p
	}
	rs.exPool = p
	return rs
}

// Handler serves HTTP client connections for one frontend.
type Handler struct {
	log   *slog.Logger
	route atomic.Pointer[routeState]
	ctx   context.Context
	stop  context.CancelFunc

	mu       sync.Mutex
	conns    map[*conn]func()   // open connections, each with what to call once it is closed (Serve)
	pools    map[int]*sync.Pool // exchange pools by buffer size, shared across swaps
	active   atomic.Int64
	draining atomic.Bool
	closed   atomic.Bool

	idle      idlePools    // keep-alive server connections
	ccPool    sync.Pool    // *clientConn: request loop states
	ccOut     atomic.Int64 // request loop states taken from ccPool (tests)
	parkAfter time.Duration

	// Clock is read for cookie dates (maxidle/maxlife); nil: time.Now. Tests set it
	// before serving.
	Clock func() time.Time
	// Idle, when set (before serving), takes keep-alive connections that idle longer than
	// parkAfter (defaultParkAfter) off their goroutines: see Serve.
	Idle *idlewait.Waiter
}

// defaultParkAfter is how long a keep-alive connection waits for its next request in its
// own goroutine before it is parked with Idle. Busy connections never reach it. It trades
// CPU for memory: a park and wake costs tens of µs of CPU (BenchmarkParkedRequest), a
// goroutine waiting costs its stack (4–8 KiB), so a burst of new connections that then
// idle holds rate × parkAfter stacks at its peak, which the heap keeps afterwards
// (TestIdleMemoryReport, before parked connections gave up their sockets: 5,000
// connections opened in 0.8 s cost 3.6 KB each in RSS with 200ms, 2.7 KB with 50ms,
// 2.4 KB with 20ms).
const defaultParkAfter = 50 * time.Millisecond

func (h *Handler) now() time.Time {
	if h.Clock != nil {
		return h.Clock()
	}
	return time.Now()
}

// NewHandler returns a handler serving r. log receives connection-level errors.
func NewHandler(r *Route, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, stop := context.WithCancel(context.Background())
	h := &Handler{log: log, ctx: ctx, stop: stop, conns: map[*conn]func(){}, pools: map[int]*sync.Pool{}}
	h.idle.init()
	h.ccPool.New = newPooledClientConn
	h.parkAfter = defaultParkAfter
	h.route.Store(newRouteState(r, h.pools))
	return h
}

// Swap installs a new route (reload): new connections and new requests on existing
// connections use it; requests in flight finish on the old one.
func (h *Handler) Swap(r *Route) {
	h.mu.Lock()
	rs := newRouteState(r, h.pools)
	h.mu.Unlock()
	h.route.Store(rs)
}

// multiplexed is a stream of a multiplexed connection (internal/h2's stream adapter):
// the engine serves its exchange; the session is its connection's.
type multiplexed interface{ Multiplexed() }

// ServeConn serves the client connection c until it is done, then closes it.
func (h *Handler) ServeConn(c net.Conn) {
	done := make(chan struct{})
	h.Serve(c, func() { close(done) })
	<-done
}

// Serve serves the client connection c in goroutines of its own and calls done once the
// connection is closed. With h.Idle set, a keep-alive connection idle for longer than
// parkAfter gives up its goroutine until its next request arrives. A panic of the
// connection's code is recovered and logged.
func (h *Handler) Serve(c net.Conn, done func()) {
	var trk *track.Session
	if _, stream := c.(multiplexed); !stream {
		if rs := h.route.Load(); rs.fe != nil {
			var ok bool
			if trk, ok = h.acceptRules(rs, c); !ok {
				done() // refused by a tcp-request connection or session rule: never a session
				return
			}
		}
	}
	h.serve(c, trk, done)
}

// ServeMultiplexed admits a connection whose requests arrive as streams (HTTP/2): the
// frontend's tcp-request connection and session rules run once, for the connection, as
// HAProxy runs them. ok is false when they refused it (c is closed). serve serves one of
// its streams, whose rules see what the connection tracks; end stops that tracking once
// the connection is over.
func (h *Handler) ServeMultiplexed(c net.Conn) (serve func(stream net.Conn, done func()), end func(), ok bool) {
	var trk *track.Session
	if rs := h.route.Load(); rs.fe != nil {
		if trk, ok = h.acceptRules(rs, c); !ok {
			return nil, nil, false
		}
	}
	if trk == nil {
		return h.Serve, func() {}, true
	}
	serve = func(s net.Conn, done func()) { h.serve(s, trk.ForStream(), done) }
	return serve, trk.End, true
}

// serve serves c, whose connection rules already ran (trk: what they track).
func (h *Handler) serve(c net.Conn, trk *track.Session, done func()) {
	cn := newConn(h, c)
	cn.trk = trk
	h.mu.Lock()
	if h.closed.Load() {
		h.mu.Unlock()
		c.Close()
		done()
		return
	}
	h.conns[cn] = done
	h.mu.Unlock()
	h.active.Add(1)
	rs := h.route.Load()
	if _, stream := c.(multiplexed); !stream {
		cn.fs = rs.r.Stats // an HTTP/2 stream is a request, not a session: its connection counts
	}
	now := time.Now()
	cn.fs.SessionOpen(now)
	go cn.run(0, deadline(now, rs.tHTTPReq)) // the first request's first byte is due then
}

// run serves c until it ends or parks; woke says why a park ended (0: none) and until
// when that idle wait lasts (for a new connection: when its first byte is due).
func (c *conn) run(woke idlewait.Reason, until time.Time) {
	h := c.h
	cc := c.clientConn()
	cc.woke, cc.until = woke, until
	parked := false
	defer func() {
		if v := recover(); v != nil {
			var client net.Addr
			if nc := c.nc; nc != nil {
				client = nc.RemoteAddr()
			}
			h.log.Error("http connection panic", "client", client, "panic", v)
			parked = false
		}
		if parked {
			cc.release() // a wake from h.Idle runs it again, with another one
			return
		}
		cc.finish()
		cc.release()
		c.end()
	}()
	parked = cc.serve()
}

// end forgets the connection, which is closed.
func (c *conn) end() {
	h := c.h
	c.endSession()
	c.fs.SessionClose()
	h.mu.Lock()
	done := h.conns[c]
	delete(h.conns, c)
	h.mu.Unlock()
	h.active.Add(-1)
	if done != nil {
		done()
	}
}

// Drain starts a graceful stop: idle keep-alive connections close now; busy ones
// answer their current request with Connection: close, then close.
func (h *Handler) Drain() {
	h.draining.Store(true)
	h.mu.Lock()
	for cc := range h.conns {
		if cc.idle.Load() && cc.nc != nil {
			cc.nc.SetReadDeadline(aLongTimeAgo)
		}
		if w := cc.parked.Load(); w != nil {
			w.Cancel() // its goroutine comes back, sees draining and closes
		}
	}
	h.mu.Unlock()
	h.idle.closeAll()
}

// Close stops hard: every client and idle server connection is closed now.
func (h *Handler) Close() {
	h.closed.Store(true)
	h.draining.Store(true)
	h.stop()
	h.mu.Lock()
	for cc := range h.conns {
		if w := cc.parked.Load(); w != nil {
			w.Cancel()
		}
		if cc.nc != nil { // nil while parked: the wake (Cancel) closes it
			cc.nc.Close()
		}
		cc.closeServer()
	}
	h.mu.Unlock()
	h.idle.closeAll()
}

// Active returns the number of client connections open.
func (h *Handler) Active() int { return int(h.active.Load()) }

var aLongTimeAgo = time.Unix(1, 0)

// deadline returns now+d, or the zero time (no deadline) when d is 0.
func deadline(now time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return now.Add(d)
}
