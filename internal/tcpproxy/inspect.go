package tcpproxy

import (
	"net"
	"os"
	"time"

	"tandem/internal/backend"
	"tandem/internal/rawsock"
	"tandem/internal/rules"
	"tandem/internal/stick"
	"tandem/internal/track"
)

// This file carries out the TCP rules of a mode tcp frontend, the same on both paths
// (goroutines and reactor loops): tcp-request connection and session rules when a
// connection is accepted, then tcp-request content rules over the client's first
// bytes. Those wait, as HAProxy 2.6 does, up to tcp-request inspect-delay: a rule
// whose condition may still change with more bytes (req.len, req.payload, wait_end, …)
// is evaluated again as bytes arrive, from that rule on; at the deadline, at the
// client's end of stream or with a full buffer, every condition is final. The bytes
// read are forwarded to the server first. A frontend without TCP rules skips all of it.

// inspectSize bounds the bytes content rules may wait for (HAProxy: the buffer).
const inspectSize = bufSize

// prepare works out once, when r is swapped in, what its connections need: whether
// TCP rules may run on them (the frontend's, or those of a backend they may reach),
// and whether their sessions must run on goroutines: a backend they may reach has
// tcp-response rules, or servers reached over TLS or sent a PROXY header (tls.go),
// which the reactor loops, moving bare bytes, do not do.
func (r *Route) prepare() {
	fe := r.Frontend
	r.perConn = fe != nil && r.Backends != nil && hasRules(fe.UseBackends)
	r.own = nil
	if fe != nil {
		r.own = r.Backends[fe.Name]
		if r.own == nil && r.Pool != nil && r.Pool.Cfg != nil && r.Pool.Cfg.Name == fe.Name {
			r.own = r.Pool
		}
	}
	r.rules = fe != nil && !fe.TCPRules.Empty()
	r.goroutines = false
	r.eachReachable(func(p *backend.Pool) {
		tr := &p.Cfg.TCPRules
		if len(tr.Content) > 0 {
			r.rules = true
		}
		if len(tr.Response) > 0 {
			r.rules, r.goroutines = true, true
		}
		if hasTLSServers(p) {
			r.goroutines = true
		}
	})
}

// eachReachable calls fn with each pool a connection of r may be sent to (some more
// than once): Pool, and when use_backend rules decide per connection (forTxn),
// default_backend's, those the rules name, and for a name built from a sample every
// pool of the frontend's mode.
func (r *Route) eachReachable(fn func(*backend.Pool)) {
	call := func(p *backend.Pool) {
		if p != nil && p.Cfg != nil {
			fn(p)
		}
	}
	call(r.Pool)
	if !r.perConn {
		return
	}
	fe := r.Frontend
	if fe.DefaultBackend != nil {
		call(r.Backends[fe.DefaultBackend.Name])
	}
	for _, ub := range fe.UseBackends {
		switch {
		case ub.Name != nil:
			for _, p := range r.Backends {
				if p.Cfg != nil && p.Cfg.Mode == fe.Mode {
					call(p)
				}
			}
		case ub.Backend != nil:
			call(r.Backends[ub.Backend.Name])
		}
	}
}

// needsRules reports whether connections of r go through admit or inspect.
func (r *Route) needsRules() bool { return r.rules }

// Tracked, Table, Now and Track make connTxn a track.Txn.
func (t *connTxn) Tracked(slot int) *stick.Entry {
	if t.trk != nil {
		return t.trk.Tracked(slot)
	}
	return nil
}

func (t *connTxn) Table(name string) *stick.Table { return t.tables[name] }

func (t *connTxn) Now() time.Time { return time.Now() }

func (t *connTxn) Track(slot int, tab *stick.Table, key stick.Key) *stick.Entry {
	if t.trk == nil {
		t.trk = &track.Session{Tables: t.tables}
	}
	t.trk.AtConnection = t.atConn
	e := t.trk.Track(slot, tab, key)
	t.trk.AtConnection = false
	return e
}

// end stops the connection's trackers, counting its bytes on them.
func (t *connTxn) end(in, out int64) {
	if t == nil || t.trk == nil {
		return
	}
	t.trk.CountBytes(uint64(max(in, 0)), uint64(max(out, 0)))
	t.trk.End()
	t.trk = nil
}

// admit runs the tcp-request connection and session rules; false: a rule rejected the
// connection, and c is closed (refuse: before it is a session, with a reset).
func (r *Route) admit(c net.Conn, t *connTxn) bool {
	tr := &r.Frontend.TCPRules
	for _, prog := range [2]rules.Program{tr.Connection, tr.Session} {
		if len(prog) == 0 {
			continue
		}
		t.atConn = true
		v, _ := rules.RunTCP(prog, 0, t, false)
		t.atConn = false
		if v == rules.Rejected || v == rules.Dropped {
			t.drop = v == rules.Dropped
			refuse(c, t, true)
			return false
		}
	}
	if t.trk != nil {
		t.trk.CountSession() // the connection became a session (sess_cnt, sess_rate)
	}
	return true
}

// screen runs the content rules over c's first bytes, the same on both paths: the
// frontend's tcp-request content rules, its use_backend rules, then the chosen
// backend's content rules. It returns the route chosen, or nil when a rule refused
// c: the refusal is counted (HAProxy's denied_req, dreq) and c closed.
func (r *Route) screen(c net.Conn, t *connTxn) *Route {
	chosen := r
	ok := r.inspect(c, t)
	if ok {
		chosen = r.forTxn(t)
		ok = chosen.inspectBackend(c, t)
	}
	if ok {
		return chosen
	}
	r.Stats.Denied()
	refuse(c, t, false)
	return nil
}

// inspect runs the tcp-request content rules over c's first bytes (kept in
// t.payload, where use_backend rules read them next); false: a rule rejected the
// connection. Without content rules nothing is read (as HAProxy, which inspects only
// for them).
func (r *Route) inspect(c net.Conn, t *connTxn) bool {
	fe := r.Frontend
	return inspectWith(c, t, fe.TCPRules.Content, fe.TCPRules.InspectDelay)
}

// inspectBackend runs the tcp-request content rules of the backend r chose (after
// the frontend's and use_backend, as HAProxy), waiting up to the backend's
// inspect-delay; false: a rule rejected the connection.
func (r *Route) inspectBackend(c net.Conn, t *connTxn) bool {
	if r.Pool == nil {
		return true
	}
	b := r.Pool.Cfg
	if len(b.TCPRules.Content) == 0 {
		return true
	}
	t.pool = r.Pool // the backend's rules: its figures without a name
	return inspectWith(c, t, b.TCPRules.Content, b.TCPRules.InspectDelay)
}

// inspectWith runs prog over c's first bytes (those read before stay in t.payload),
// waiting up to delay for conditions that may change.
func inspectWith(c net.Conn, t *connTxn, prog rules.Program, delay time.Duration) bool {
	if len(prog) == 0 {
		return true
	}
	final := delay <= 0
	deadline := time.Now().Add(delay)
	buf := t.payload
	if cap(buf) < inspectSize {
		buf = append(make([]byte, 0, inspectSize), buf...)
	}
	next := 0
	for reads := 0; reads <= inspectSize; reads++ { // a read adds a byte at least, or ends
		t.st.WaitEnd = final
		var v rules.Verdict
		v, next = rules.RunTCP(prog, next, t, true)
		switch v {
		case rules.Rejected, rules.Dropped:
			t.drop = v == rules.Dropped
			return false
		case rules.Wait:
			if !final {
				break
			}
			fallthrough
		default:
			c.SetReadDeadline(time.Time{})
			t.st.WaitEnd = true
			return true
		}
		c.SetReadDeadline(deadline)
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		t.payload = buf
		if err != nil || len(buf) == cap(buf) {
			final = true // the delay is over, the client's stream ended, or the buffer is full
		}
	}
	c.SetReadDeadline(time.Time{})
	return true
}

// fdConn makes a net.Conn of a socket accepted without Go's poller, for a frontend
// whose rules read before a server is chosen (it is detached again afterwards).
func fdConn(fd int) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "client")
	c, err := net.FileConn(f) // a duplicate
	f.Close()
	return c, err
}

// refuse closes c after a rule refused it: silently for silent-drop, with a reset for
// tcp-request connection and session rules (as HAProxy), else with an end of stream.
func refuse(c net.Conn, t *connTxn, reset bool) {
	if t.drop {
		rawsock.SilentDrop(c)
		return
	}
	if reset {
		rawsock.ResetOnClose(c)
	}
	c.Close()
}
