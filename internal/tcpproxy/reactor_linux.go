package tcpproxy

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"tandem/internal/backend"
	"tandem/internal/rawsock"
)

// TakesFD reports whether ServeFD is the way to hand over connections: the handler has
// reactor loops, its sessions run on them (not so for those prepare sends to
// goroutines), and no rule reads the socket first (rules read through Go's poller: a
// connection accepted there is detached once, after them, not made a net.Conn first).
func (h *Handler) TakesFD() bool {
	r := h.route.Load()
	return h.Reactor != nil && !r.goroutines && !r.needsRules()
}

// serveReactor takes c's socket out of Go's poller and serves it as ServeFD does, or
// on this goroutine when the route's sessions run on goroutines (prepare).
func (h *Handler) serveReactor(c net.Conn, done func()) {
	r := h.route.Load()
	if r.goroutines {
		defer done()
		h.ServeConn(c)
		return
	}
	peer := addrPortOf(c.RemoteAddr())
	var t *connTxn
	var chosen *Route
	var s *session
	if r.needsRules() {
		// The rules run here, on the connection's goroutine, before the loop has it;
		// the connection is a session of the handler meanwhile, as on the goroutine
		// path (fe_conn, shutdown), and of the frontend once admitted (scur).
		s = &session{client: c}
		if !h.track(s) {
			c.Close()
			done()
			return
		}
		t = r.newTxn(peer, addrPortOf(c.LocalAddr()), h, c)
		if !r.admit(c, t) {
			t.end(0, 0) // refused before it is a session: not counted
			h.untrack(s)
			done()
			return
		}
		r.Stats.SessionOpen(time.Now())
		if chosen = r.screen(c, t); chosen == nil {
			r.Stats.SessionClose()
			t.end(int64(len(t.payload)), 0)
			h.untrack(s)
			done()
			return
		}
	}
	fd, err := detach(c)
	if err != nil {
		h.log.Warn("tcp session: cannot take the client socket", "err", err)
		t.end(0, 0)
		if s != nil {
			r.Stats.SessionClose()
			h.untrack(s)
		}
		done()
		return
	}
	h.serveFD(fd, peer, done, t, chosen, s)
}

// ServeFD serves the client socket fd (non-blocking, close-on-exec, accepted from peer
// without Go's poller) on a reactor loop, and calls done once it is closed. It returns
// at once: choosing a server may wait in the backend's queue, on a goroutine of its own.
func (h *Handler) ServeFD(fd int, peer netip.AddrPort, done func()) {
	if r := h.route.Load(); r.needsRules() || r.goroutines {
		// Rules read the socket before a server is chosen, and some sessions run on
		// goroutines: through Go's poller (TakesFD says no for them; a reload may have
		// come between).
		go func() {
			c, err := fdConn(fd)
			unix.Close(fd)
			if err != nil {
				h.log.Warn("tcp session: cannot take the client socket", "err", err)
				done()
				return
			}
			h.serveReactor(c, done)
		}()
		return
	}
	go h.serveFD(fd, peer, done, nil, nil, nil)
}

// serveFD picks a server, starts a non-blocking connect to it and gives the session to a
// loop, which finishes the connect and then moves the bytes. From there the session
// costs two descriptors and a small struct, and a buffer only while bytes wait for a
// full socket. t, chosen and s come from serveReactor when rules ran there: s is then
// tracked and its session open already.
func (h *Handler) serveFD(fd int, peer netip.AddrPort, done func(), t *connTxn, chosen *Route, s *session) {
	r := h.route.Load()
	if s == nil {
		s = &session{}
		if !h.track(s) {
			t.end(0, 0)
			unix.Close(fd)
			done()
			return
		}
		r.Stats.SessionOpen(time.Now())
	}
	var in, out int64
	end := func() {
		t.end(in, out)
		r.Stats.SessionClose()
		h.untrack(s)
		done()
	}
	var local netip.AddrPort // where the client connected: a system call, made once when needed
	at := func() netip.AddrPort {
		if !local.IsValid() {
			local = localAddr(fd)
		}
		return local
	}
	if chosen != nil {
		r = chosen // the rules chose it (serveReactor)
	} else if r.perConn {
		r = r.forConn(peer, at(), h, nil)
	}
	if r.Pool == nil {
		unix.Close(fd)
		end()
		return
	}
	var lg *sessionLog
	if r.Log != nil {
		lg = h.startLogAt(r, peer, at())
	}
	var sticky *stickState
	if len(r.Pool.Cfg.StickRules) > 0 {
		if t == nil {
			t = r.newTxn(peer, at(), h, nil)
		}
		sticky = r.stickMatch(t)
	}
	a, err := firstAttempt(r, peer.Addr(), sticky)
	if err != nil {
		h.log.Debug("tcp session: no server", "frontend", r.Frontend.Name, "err", err)
		lg.noServer()
		unix.Close(fd)
		end()
		return
	}
	rs := &rsession{loop: h.Reactor.Pick(), h: h, sess: s, att: a, lg: lg, dialing: true}
	if sticky != nil {
		rs.stored = func(srv *backend.Server) { sticky.store(r, srv) }
	}
	rs.init(fd, timeouts(r))
	if t != nil && len(t.payload) > 0 {
		// The bytes the content rules read go first, once the server is connected.
		rs.up.pend, rs.up.n = t.payload, int64(len(t.payload))
	}
	rs.giveUp = func() {
		lg.noServer()
		unix.Close(fd)
		end()
	}
	rs.finished = func(bin, bout int64) {
		in, out = bin, bout
		srv := rs.att.srv
		r.account(lg, srv, in, out)
		r.Pool.Release(srv)
		end()
	}
	h.mu.Lock()
	s.kill = func() { rs.loop.Submit(rs.abort) }
	h.mu.Unlock()
	rs.dial()
}

// dial starts connecting to the current attempt's server and hands the session to its
// loop; a connect that fails at once moves to the next attempt. It runs on a goroutine
// (the session's first, or one the loop starts for a retry), never on the loop.
func (rs *rsession) dial() {
	for {
		fd, err := rawsock.Connect(rs.att.dst(func() netip.AddrPort { return localAddr(rs.cli.fd) }))
		if err == nil {
			rs.srv.fd = fd
			if rs.loop.Submit(rs.startConnect) != nil { // the loop is closing: so is the process
				unix.Close(fd)
				rs.att.pool.Release(rs.att.srv)
				rs.giveUp()
			}
			return
		}
		rs.h.log.Debug("tcp session: connect failed", "server", rs.att.srv.Cfg.Name, "err", err)
		if !rs.att.failed(err) {
			rs.giveUp()
			return
		}
	}
}

// startConnect registers the connecting server socket and bounds the connect with
// timeout connect. On the loop.
func (rs *rsession) startConnect() {
	rs.dialing = false
	if rs.abortPending {
		rs.finish()
		return
	}
	t, err := rs.loop.Add(rs.srv.fd, &rs.srv)
	if err != nil {
		rs.connectFailed(err)
		return
	}
	rs.srv.tok, rs.srv.added = t, true
	rs.connecting = true
	rs.loop.Schedule(&rs.timer, rs.loop.Now()+int64(rs.att.timeout))
}

// connectEvent finishes the connect once the server socket is writable (or failed).
func (rs *rsession) connectEvent(ev uint32) {
	if ev&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
		return
	}
	if err := rawsock.ConnectError(rs.srv.fd); err != nil {
		rs.connectFailed(err)
	} else {
		rs.connected()
		if !rs.closed {
			rs.event(&rs.srv, ev) // a server that speaks first may have spoken already
		}
	}
}

// connected registers the client socket: the session is established.
func (rs *rsession) connected() {
	rs.connecting = false
	srv := rs.att.srv
	rs.lg.connected(srv, rs.att.dst(func() netip.AddrPort { return localAddr(rs.cli.fd) }))
	if rs.stored != nil {
		rs.stored(srv) // the stick store rules remember the server connected
	}
	rs.h.mu.Lock()
	rs.sess.srvAddr = srv.Addr
	rs.h.mu.Unlock()
	t, err := rs.loop.Add(rs.cli.fd, &rs.cli)
	if err != nil {
		rs.finish()
		return
	}
	rs.cli.tok, rs.cli.added = t, true
	rs.last = rs.loop.Now()
	rs.loop.Cancel(&rs.timer)
	rs.arm()
}

// connectFailed closes the server socket and tries the next attempt, on a goroutine:
// another server may have to be chosen, which may wait.
func (rs *rsession) connectFailed(err error) {
	rs.connecting = false
	rs.loop.Cancel(&rs.timer)
	if rs.srv.added {
		rs.loop.Forget(rs.srv.tok) // closed just below
		rs.srv.added = false
	}
	unix.Close(rs.srv.fd)
	rs.srv.fd = -1
	if !rs.att.failed(err) {
		rs.closed = true
		rs.giveUp()
		return
	}
	rs.dialing = true
	go rs.dial()
}

// localAddr is the address a client socket was accepted on (for the log).
func localAddr(fd int) netip.AddrPort {
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}
	}
	return rawsock.AddrPort(sa)
}

// detach takes c's socket out of Go's poller: it keeps a duplicate of the descriptor
// (non-blocking, like the original) and closes c.
func detach(c net.Conn) (int, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		c.Close()
		return -1, errors.New("not a socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		c.Close()
		return -1, err
	}
	fd, err := rawsock.Dup(rc)
	c.Close()
	return fd, err
}
