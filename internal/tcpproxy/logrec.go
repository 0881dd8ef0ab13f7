package tcpproxy

import (
	"crypto/tls"
	"net"
	"net/netip"
	"time"

	"tandem/internal/backend"
	"tandem/internal/logging"
)

// sessionLog fills one session's tcplog record. A nil *sessionLog (logging off)
// does nothing.
type sessionLog struct {
	l       *logging.Logger
	r       logging.Record
	h       *Handler
	start   time.Time
	connect time.Time
	pool    *backend.Pool   // for %bc
	srv     *backend.Server // for %sc, once connected
}

func (h *Handler) startLog(r *Route, c net.Conn) *sessionLog {
	if r.Log == nil {
		return nil
	}
	var client, local netip.AddrPort
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		client = ta.AddrPort()
	}
	if ta, ok := c.LocalAddr().(*net.TCPAddr); ok {
		local = ta.AddrPort()
	}
	s := h.startLogAt(r, client, local)
	if tc, ok := c.(*tls.Conn); ok && s != nil {
		logging.FillTLS(&s.r, tc.ConnectionState())
	}
	return s
}

// startLogAt is startLog for a client at client, accepted on local.
func (h *Handler) startLogAt(r *Route, client, local netip.AddrPort) *sessionLog {
	s := &sessionLog{l: r.Log, h: h, start: time.Now(), pool: r.Pool}
	s.r.Reset()
	s.r.Accept = s.start
	s.r.Client, s.r.Frontend = client, local
	if r.Frontend != nil {
		s.r.FrontendName = r.Frontend.Name
	}
	if s.l.ConnectOnly() { // HAProxy's default line: once, at accept
		s.l.Log(&s.r)
		return nil
	}
	if r.Pool != nil {
		s.r.BackendName = r.Pool.Cfg.Name
	}
	return s
}

// noServer logs a session that found no server or could not connect.
func (s *sessionLog) noServer() {
	if s == nil {
		return
	}
	s.r.Tw, s.r.Tc = 0, -1
	s.r.SetTerm(logging.TermServerAbort, logging.StateConnect)
	s.finish(0, 0)
}

// fail records how the session failed once data flowed (cause: C or S, a side that
// closed or reset, c or s, a side silent past its timeout), as HAProxy's termination
// state; the first failure is the one logged.
func (s *sessionLog) fail(cause byte) {
	if s == nil || cause == 0 || s.r.Term[0] != logging.TermNone {
		return
	}
	s.r.SetTerm(cause, logging.StateData)
}

// connected notes the server the session reached, at dst (the server's address, or
// with the client's port for a server without a port).
func (s *sessionLog) connected(srv *backend.Server, dst netip.AddrPort) {
	if s == nil {
		return
	}
	s.connect = time.Now()
	s.r.Tw = 0
	s.r.Tc = s.connect.Sub(s.start).Milliseconds()
	s.r.ServerName = srv.Cfg.Name
	s.r.Server = srv.Cfg.Addr
	if dst.IsValid() {
		s.r.Server = dst
	}
	s.srv = srv
}

// done logs the end of the session: in bytes came from the client, out went to it.
func (s *sessionLog) done(in, out int64) {
	if s == nil {
		return
	}
	if in == 0 && s.l.DontLogNull() {
		return
	}
	s.finish(in, out)
}

func (s *sessionLog) finish(in, out int64) {
	s.r.Tt = time.Since(s.start).Milliseconds()
	s.r.BytesIn, s.r.BytesOut = in, out
	if in == 0 && out == 0 && s.r.Term[0] == logging.TermNone {
		// The client left before anything flowed: HAProxy sees it while connecting.
		s.r.SetTerm(logging.TermClientAbort, logging.StateConnect)
	}
	n := s.h.Active()
	s.r.ActConn, s.r.FeConn = n, n
	if s.srv != nil { // the others' connections: this session still holds its slot
		s.r.SrvConn = max(int(s.srv.Cur())-1, 0)
		if s.pool != nil {
			s.r.BeConn = max(s.pool.Conns()-1, 0)
		}
	}
	s.l.Log(&s.r)
}
