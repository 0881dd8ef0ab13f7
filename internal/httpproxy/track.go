package httpproxy

import (
	"net"
	"net/netip"
	"tandem/internal/rawsock"
	"time"

	"tandem/internal/http1"
	"tandem/internal/rules"
	"tandem/internal/sample"
	"tandem/internal/stick"
	"tandem/internal/tlsconf"
	"tandem/internal/track"
)

// This file wires stick counters (package track) and the TCP rules of an HTTP
// frontend: tcp-request connection and session rules run when a connection is
// accepted, tcp-request content rules on each parsed request (HAProxy 2.6 runs them
// per stream, one per request), then http-request rules. A connection keeps its
// trackers in conn.trk, made when a rule first tracks (nil costs nothing); stream
// trackers end with each request, session trackers with the connection.

// session returns the connection's trackers, made on first use.
func (c *conn) session(rs *routeState) *track.Session {
	if c.trk == nil {
		c.trk = &track.Session{Tables: rs.r.Tables}
	}
	return c.trk
}

// Tracked, Table, Now and Track make ruleTxn a track.Txn.
func (t *ruleTxn) Tracked(slot int) *stick.Entry {
	if s := t.cc.trk; s != nil {
		return s.Tracked(slot)
	}
	return nil
}

func (t *ruleTxn) Table(name string) *stick.Table { return t.cc.rs.r.Tables[name] }

func (t *ruleTxn) Now() time.Time { return time.Now() }

func (t *ruleTxn) Track(slot int, tab *stick.Table, key stick.Key) *stick.Entry {
	s := t.cc.session(t.cc.rs)
	s.HTTP = !t.tcp
	e := s.Track(slot, tab, key)
	s.HTTP = false
	return e
}

// acceptRules runs the frontend's tcp-request connection and session rules on a new
// connection nc, before it is a session. It returns what they track; false: a rule
// refused it, and nc is closed (reset as HAProxy does, or silently for silent-drop).
func (h *Handler) acceptRules(rs *routeState, nc net.Conn) (*track.Session, bool) {
	tr := &rs.fe.TCPRules
	if len(tr.Connection) == 0 && len(tr.Session) == 0 {
		return nil, true
	}
	t := &connTxn{h: h, rs: rs, nc: nc}
	t.src, t.dst = addrsOf(nc)
	for _, prog := range [2]rules.Program{tr.Connection, tr.Session} {
		t.atConn = true
		v, _ := rules.RunTCP(prog, 0, t, false)
		if v == rules.Rejected || v == rules.Dropped {
			if t.trk != nil {
				t.trk.End()
			}
			if v == rules.Dropped {
				rawsock.SilentDrop(nc)
			} else {
				rawsock.ResetOnClose(nc) // HAProxy resets a connection it refuses
				nc.Close()
			}
			return nil, false
		}
	}
	if t.trk != nil {
		t.trk.CountSession() // the connection became a session (sess_cnt, sess_rate)
	}
	return t.trk, true
}

// connTxn is the sample.Txn of tcp-request connection and session rules: the
// connection's addresses and nothing of a request.
type connTxn struct {
	h        *Handler
	rs       *routeState
	trk      *track.Session // made when a rule first tracks
	src, dst netip.AddrPort
	st       sample.State
	atConn   bool
	nc       net.Conn // for the TLS fetches (ssl_fc…): the rules run after the handshake
	tls      *sample.TLSFacts
	tlsRead  bool
}

// TLSFacts reads the connection's TLS facts on first use (sample.TLSTxn).
func (t *connTxn) TLSFacts() *sample.TLSFacts {
	if !t.tlsRead {
		t.tls, t.tlsRead = tlsconf.FactsOf(t.nc), true
	}
	return t.tls
}

func (t *connTxn) Addrs() (src, dst netip.AddrPort)    { return t.src, t.dst }
func (t *connTxn) Request() (*http1.Request, []byte)   { return nil, nil }
func (t *connTxn) Response() (*http1.Response, []byte) { return nil, nil }
func (t *connTxn) Payload() []byte                     { return nil }
func (t *connTxn) State() *sample.State                { return &t.st }
func (t *connTxn) Counter(c sample.Counter, proxy, server string) (int64, bool) {
	if c == sample.FeConn && (proxy == "" || proxy == t.rs.fe.Name) {
		return int64(t.h.Active()), true
	}
	return 0, false
}
func (t *connTxn) Tracked(slot int) *stick.Entry {
	if t.trk != nil {
		return t.trk.Tracked(slot)
	}
	return nil
}
func (t *connTxn) Table(name string) *stick.Table { return t.rs.r.Tables[name] }
func (t *connTxn) Now() time.Time                 { return time.Now() }
func (t *connTxn) Track(slot int, tab *stick.Table, key stick.Key) *stick.Entry {
	if t.trk == nil {
		t.trk = &track.Session{Tables: t.rs.r.Tables}
	}
	s := t.trk
	s.AtConnection = true
	e := s.Track(slot, tab, key)
	s.AtConnection = false
	return e
}

// contentRules runs tcp-request content rules (the frontend's, or the chosen
// backend's) on the parsed request; false: a rule rejected it (the connection closes
// without an answer).
func (cc *clientConn) contentRules(prog rules.Program) bool {
	if len(prog) == 0 {
		return true
	}
	t := &cc.ex.txn
	t.tcp = true
	t.st.WaitEnd = true // the request is whole: every condition is final
	v, _ := rules.RunTCP(prog, 0, t, false)
	t.tcp = false
	if v == rules.Dropped {
		rawsock.SilentDrop(cc.nc) // the connection's close then finds it closed
	}
	if v == rules.Rejected || v == rules.Dropped {
		cc.rs.r.Stats.Denied() // HAProxy's denied_req (dreq)
		return false
	}
	return true
}

// startStream counts a new request on what the connection tracks.
func (c *conn) startStream() {
	if c.trk != nil {
		c.trk.CountHTTPReq()
	}
}

// endStream counts the request's outcome (status: the server's, 0 when the proxy
// answered) and stops the request's trackers.
func (c *conn) endStream(status int, in, out int64) {
	s := c.trk
	if s == nil {
		return
	}
	if status > 0 {
		s.CountResponse(status)
	}
	if in > 0 || out > 0 {
		s.CountBytes(uint64(in), uint64(out))
	}
	s.EndStream()
}

// endSession stops every tracker of the connection.
func (c *conn) endSession() {
	if c.trk != nil {
		c.trk.End()
		c.trk = nil
	}
}

// countBadRequest counts, on what the connection tracks, a request that failed before
// its rules: an invalid head, a timeout, or a new connection closed before sending one
// (HAProxy 2.6 counts each as an HTTP request and an HTTP error, without
// http-ignore-probes).
func (c *conn) countBadRequest() {
	if c.trk != nil {
		c.trk.CountHTTPReq()
		c.trk.CountHTTPErr()
	}
}
