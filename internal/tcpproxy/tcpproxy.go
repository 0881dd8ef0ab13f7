// Package tcpproxy is tandem's TCP (mode tcp) data path: it connects each client to a
// server chosen by the backend pool and copies bytes both ways, aware of half-close.
package tcpproxy

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"tandem/internal/backend"
	"tandem/internal/balance"
	"tandem/internal/config"
	"tandem/internal/logging"
	"tandem/internal/proxystats"
	"tandem/internal/reactor"
	"tandem/internal/stick"
)

// Route is what a TCP frontend forwards to. A reload swaps in a new one.
type Route struct {
	Frontend *config.Frontend
	Pool     *backend.Pool            // where connections go when no use_backend rule decides
	Backends map[string]*backend.Pool // by name, for use_backend rules (nil: Pool only)
	Stats    *proxystats.Frontend     // the frontend's counters (nil: none)
	Log      *logging.Logger          // tcplog / log-format; nil: off
	Tables   map[string]*stick.Table  // live stick tables by name (track-sc, sc_*, src_*, table_*)

	perConn    bool          // use_backend rules choose the pool of each connection (prepare)
	own        *backend.Pool // a listen section's own backend half (prepare; nil: a frontend)
	rules      bool          // TCP rules may run on a connection (prepare)
	goroutines bool          // sessions run on goroutines, not reactor loops (prepare)
}

// Handler serves the connections of one TCP frontend.
type Handler struct {
	// Reactor, when set (Linux), serves established sessions on its event loops instead
	// of two goroutines each. Set it before the first connection.
	Reactor *reactor.Group

	route atomic.Pointer[Route]
	log   *slog.Logger

	mu       sync.Mutex
	conns    map[*session]struct{}
	draining bool
}

// NewHandler returns a handler forwarding along r.
func NewHandler(r *Route, log *slog.Logger) *Handler {
	h := &Handler{log: log, conns: map[*session]struct{}{}}
	h.Swap(r)
	return h
}

// Swap makes new connections follow r; established ones keep their server.
func (h *Handler) Swap(r *Route) {
	r.prepare()
	h.route.Store(r)
}

// Active returns how many client connections are open.
func (h *Handler) Active() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// Drain lets established sessions finish; TCP sessions have no request boundary, so
// there is nothing to close early.
func (h *Handler) Drain() {
	h.mu.Lock()
	h.draining = true
	h.mu.Unlock()
}

// Close ends every session now.
func (h *Handler) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.conns {
		s.close()
	}
}

type session struct {
	client, server net.Conn
	srvAddr        string // "ip:port" of the server, once connected (reactor sessions)
	kill           func() // ends a session served by a reactor loop; nil: close the conns
}

// close ends s from outside its goroutines or loop. h.mu is held.
func (s *session) close() {
	if s.kill != nil {
		s.kill()
		return
	}
	if s.client != nil {
		s.client.Close()
	}
	if s.server != nil {
		s.server.Close()
	}
}

// Serve serves c without tying the accepting goroutine, and calls done once c is
// closed. With a Reactor, an established session holds no goroutine at all, unless
// the route sends its sessions to goroutines (prepare: ssl or send-proxy servers,
// tcp-response rules).
func (h *Handler) Serve(c net.Conn, done func()) {
	if h.Reactor == nil {
		go func() {
			defer done()
			h.ServeConn(c)
		}()
		return
	}
	go h.serveReactor(c, done)
}

func (h *Handler) track(s *session) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.draining {
		return false
	}
	h.conns[s] = struct{}{}
	return true
}

func (h *Handler) untrack(s *session) {
	h.mu.Lock()
	delete(h.conns, s)
	h.mu.Unlock()
}

func (h *Handler) setServer(s *session, c net.Conn) {
	h.mu.Lock()
	s.server = c
	h.mu.Unlock()
}

// ServeConn forwards c to a server until both directions are done. It owns c.
func (h *Handler) ServeConn(c net.Conn) {
	s := &session{client: c}
	if !h.track(s) {
		c.Close()
		return
	}
	defer h.untrack(s)
	defer c.Close()
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("tcp session panicked", "client", c.RemoteAddr().String(), "panic", p)
		}
	}()
	r := h.route.Load()
	var t *connTxn // the rules' view of the connection, when the frontend has TCP rules
	var in, out int64
	if r.needsRules() {
		t = r.newTxn(addrPortOf(c.RemoteAddr()), addrPortOf(c.LocalAddr()), h, c)
		defer func() { t.end(in, out) }()
		if !r.admit(c, t) {
			return // refused before it is a session: not counted
		}
	}
	r.Stats.SessionOpen(time.Now())
	defer r.Stats.SessionClose()
	if t != nil {
		chosen := r.screen(c, t)
		if chosen == nil {
			in = int64(len(t.payload))
			return
		}
		r = chosen
	} else {
		r = r.forConn(addrPortOf(c.RemoteAddr()), addrPortOf(c.LocalAddr()), h, c)
	}
	if r.Pool == nil {
		return
	}
	var sticky *stickState
	if len(r.Pool.Cfg.StickRules) > 0 {
		if t == nil {
			t = r.newTxn(addrPortOf(c.RemoteAddr()), addrPortOf(c.LocalAddr()), h, c)
		}
		sticky = r.stickMatch(t)
	}
	lg := h.startLog(r, c)
	srv, conn, err := h.connect(r, c, sticky)
	if err != nil {
		h.log.Debug("tcp session: no server", "frontend", r.Frontend.Name, "err", err)
		lg.noServer()
		return
	}
	lg.connected(srv, addrPortOf(conn.RemoteAddr()))
	sticky.store(r, srv)
	defer r.Pool.Release(srv)
	h.setServer(s, conn)
	defer conn.Close()
	var early int64
	if t != nil && len(t.payload) > 0 {
		// The bytes the content rules read go first.
		if _, err := conn.Write(t.payload); err != nil {
			lg.done(0, 0)
			return
		}
		early = int64(len(t.payload))
	}
	server := net.Conn(conn)
	if rr := r.Pool.Cfg.TCPRules.Response; len(rr) > 0 {
		if t == nil {
			t = r.newTxn(addrPortOf(c.RemoteAddr()), addrPortOf(c.LocalAddr()), h, c)
		}
		t.pool = r.Pool // the backend's rules
		server = &resInspector{Conn: conn, client: c, t: t, prog: rr, delay: r.Pool.Cfg.TCPRules.ResponseDelay}
	}
	var cause byte
	in, out, cause = Pipe(c, server, timeouts(r))
	in += early
	lg.fail(cause)
	r.account(lg, srv, in, out)
}

// account ends a session that reached srv, the same on both paths: its log line, and
// the bytes it moved on the server's and the frontend's counters.
func (r *Route) account(lg *sessionLog, srv *backend.Server, in, out int64) {
	lg.done(in, out)
	srv.BytesIn.Add(uint64(in))
	srv.BytesOut.Add(uint64(out))
	r.Stats.Bytes(in, out)
}

// connect picks a server and connects to it, retrying as `retries` and `option redispatch` say.
func (h *Handler) connect(r *Route, c net.Conn, st *stickState) (*backend.Server, net.Conn, error) {
	var client netip.Addr
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		client = ap.Addr()
	}
	a, err := firstAttempt(r, client, st)
	if err != nil {
		return nil, nil, err
	}
	for {
		// Go sets TCP_NODELAY on TCP connections already; no keep-alive probes, as
		// HAProxy without option srvtcpka.
		d := net.Dialer{Timeout: a.timeout, KeepAlive: -1}
		addr := a.srv.Addr
		if a.srv.FollowsClient() { // no port, or 0.0.0.0: where the client connected
			addr = a.dst(func() netip.AddrPort { return addrPortOf(c.LocalAddr()) }).String()
		}
		conn, err := d.Dial("tcp", addr)
		if err == nil {
			err = sendProxy(a.srv, conn, c, a.timeout) // tls.go
		}
		if err == nil {
			if conn, err = h.serverTLS(a.srv, conn, a.timeout); err == nil { // tls.go
				return a.srv, conn, nil
			}
		}
		if !a.failed(err) {
			return nil, nil, err
		}
	}
}

// attempts is the server choice for one session's connection attempts.
type attempts struct {
	pool    *backend.Pool
	req     balance.Request
	srv     *backend.Server // holds a slot
	n       int             // attempts made
	timeout time.Duration   // timeout connect
	local   netip.AddrPort  // where the client connected, once a server that follows it needed it
}

// dst is where a connection to the current server goes; local returns the client
// connection's local address, read once and only for a server without a port or at
// 0.0.0.0 (backend.Server.FollowsClient).
func (a *attempts) dst(local func() netip.AddrPort) netip.AddrPort {
	if !a.srv.FollowsClient() {
		return a.srv.Cfg.Addr
	}
	if !a.local.IsValid() {
		a.local = local()
	}
	return a.srv.Dst(a.local)
}

// firstAttempt picks the first server for a client (which may wait in the queue):
// the one a stick table names when it can take the session, else the balancer's.
func firstAttempt(r *Route, client netip.Addr, st *stickState) (*attempts, error) {
	a := &attempts{pool: r.Pool, timeout: r.Pool.Cfg.Timeouts.Connect}
	if a.timeout == 0 {
		a.timeout = 5 * time.Second
	}
	if st != nil && st.srv != nil {
		switch err := r.Pool.AcquireServer(context.Background(), st.srv); {
		case err == nil:
			a.srv = st.srv
			return a, nil
		case !errors.Is(err, backend.ErrNoServer):
			return nil, err
		}
	}
	if c, _, _ := r.Pool.Needs(); c {
		a.req.Client = client.Unmap()
	}
	srv, err := r.Pool.Acquire(context.Background(), &a.req)
	if err != nil {
		return nil, err
	}
	a.srv = srv
	return a, nil
}

// failed counts a failed attempt on a.srv and prepares the next one, on another server
// when `option redispatch` says so. It reports false, with the slot released, when the
// `retries` are used up.
func (a *attempts) failed(err error) bool {
	a.srv.ConnErr.Add(1)
	a.srv.ObserveConnError()
	a.n++
	if a.n > a.pool.Cfg.Retries {
		a.pool.Release(a.srv)
		return false
	}
	a.srv.Retries.Add(1)
	if a.pool.Cfg.RedispatchOn(a.n) {
		// Let the balancer pick again, as HAProxy's redispatch does.
		if next, err := a.pool.AcquireOther(context.Background(), &a.req, a.srv); err == nil { // another server than the failed one
			a.pool.Release(a.srv)
			a.srv = next
			a.srv.Redisp.Add(1)
		}
	}
	return true
}

// Limits are the inactivity timeouts of a session; zero means none.
type Limits struct {
	Client, Server       time.Duration // no bytes either way for this long
	ClientFin, ServerFin time.Duration // the same once the other side has half-closed
}

// TunnelLimits applies HAProxy's rule: timeout tunnel, when set, supersedes timeout
// client and server once both sides talk.
func TunnelLimits(fe, be config.Timeouts) Limits {
	l := Limits{Client: fe.Client, Server: be.Server, ClientFin: fe.ClientFin, ServerFin: be.ServerFin}
	if be.Tunnel != 0 {
		l.Client, l.Server = be.Tunnel, be.Tunnel
	}
	return l
}

func timeouts(r *Route) Limits { return TunnelLimits(r.Frontend.Timeouts, r.Pool.Cfg.Timeouts) }

var errIdle = errors.New("idle timeout")

func addrPortOf(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	return netip.AddrPort{}
}
