package httpproxy

import (
	"crypto/tls"
	"errors"
	"net/netip"
	"os"
	"time"
	"unsafe"

	"tandem/internal/logging"
)

// This file fills the per-request log record (option httplog, log-format). Every
// hook is a no-op when the frontend logs nothing, so the keep-alive path stays free of
// allocations and clock reads; with logging on, the record lives in the pooled
// exchange and is reused.

// maxLogURI bounds the request line kept for %r (HAProxy's tune.http.logurilen).
const maxLogURI = 1024

// logger returns the route's per-request logger, nil when off (or when it logs
// connections only).
func (cc *clientConn) logger() *logging.Logger {
	if l := cc.rs.r.Log; l != nil && !l.ConnectOnly() {
		return l
	}
	return nil
}

// logRec returns the current exchange's record, nil when logging is off.
func (cc *clientConn) logRec() *logging.Record {
	if cc.ex == nil || cc.logger() == nil {
		return nil
	}
	return cc.ex.rec
}

// logConnect writes HAProxy's default line (no log option) for a new connection.
func (cc *clientConn) logConnect(rs *routeState) {
	l := rs.r.Log
	if !l.ConnectOnly() {
		return
	}
	r := logging.NewRecord(0)
	cc.rs = rs
	cc.fillConn(r)
	cc.rs = nil
	l.Log(r)
}

// logStart opens the record of the request whose head was just parsed. first is
// when its first byte arrived.
func (cc *clientConn) logStart(first time.Time) {
	l := cc.logger()
	if l == nil || cc.ex == nil {
		return
	}
	ex := cc.ex
	if ex.rec == nil {
		ex.rec = logging.NewRecord(maxLogURI)
	}
	r := ex.rec
	r.Reset()
	now := time.Now()
	cc.fillConn(r)
	lt := cc.logTimes()
	if cc.nreq == 0 {
		r.Accept = lt.accepted
		r.Ti = 0
		if d := first.Sub(lt.accepted); d > 0 {
			r.Ti = d.Milliseconds()
		}
	} else {
		r.Accept = first
		r.Ti = 0
		if d := first.Sub(lt.lastEnd); d > 0 {
			r.Ti = d.Milliseconds()
		}
	}
	r.Th = 0
	r.Request = first
	r.TR = now.Sub(first).Milliseconds()
	cc.logFirst, cc.logMark = first, now
	line := ex.in[ex.req.MethodSp.Start:ex.req.Len] // leading empty lines left out
	for i, c := range line {
		if c == '\r' || c == '\n' {
			line = line[:i]
			break
		}
	}
	if ls, ok := cc.nc.(logLiner); ok {
		r.SetReqLine(unsafeBytes(ls.LogRequestLine())) // an HTTP/2 stream (internal/h2)
	} else {
		r.SetReqLine(line)
	}
	for i, c := range l.Captures {
		v, ok := ex.req.Get(ex.in, c.Name)
		r.SetCapture(i, v, ok, c.Len)
	}
}

func (cc *clientConn) fillConn(r *logging.Record) {
	r.Client, r.Frontend = cc.src, cc.dst
	if fe := cc.rs.fe; fe != nil {
		r.FrontendName = fe.Name
	}
	if tc, ok := cc.nc.(tlsStater); ok {
		if cs := tc.ConnectionState(); cs.HandshakeComplete { // not an h2c stream
			logging.FillTLS(r, cs) // tlsdial.go
		}
	}
	n := cc.h.active.Load()
	r.ActConn, r.FeConn = int(n), int(n)
}

// logStep stores the milliseconds since the previous step in *dst.
func (cc *clientConn) logStep(dst func(r *logging.Record) *int64) {
	r := cc.logRec()
	if r == nil {
		return
	}
	now := time.Now()
	*dst(r) = now.Sub(cc.logMark).Milliseconds()
	cc.logMark = now
}

// logResponse records the server's response time and the captured response headers,
// while the response head is in the buffer.
func (cc *clientConn) logResponse() {
	r := cc.logRec()
	if r == nil {
		return
	}
	cc.logStep(trOf)
	ex := cc.ex
	for i, c := range cc.logger().ResCaptures {
		v, ok := ex.resp.Get(ex.sin, c.Name)
		r.SetResCapture(i, v, ok, c.Len)
	}
}

func twOf(r *logging.Record) *int64 { return &r.Tw }
func tcOf(r *logging.Record) *int64 { return &r.Tc }
func trOf(r *logging.Record) *int64 { return &r.Tr }

// logStatus records a status the proxy answered itself and the bytes it sent.
func (cc *clientConn) logStatus(code, n int) {
	if r := cc.logRec(); r != nil {
		r.Status = code
		r.BytesOut += int64(n)
	}
}

// logFinish completes and emits the record once the exchange ended.
func (cc *clientConn) logFinish(keep bool) {
	r := cc.logRec()
	if r == nil {
		return
	}
	now := time.Now()
	cc.logTimes().lastEnd = now
	ex := cc.ex
	x := &ex.x
	r.Ta = now.Sub(cc.logFirst).Milliseconds()
	r.Tt = r.Ta + max(r.Ti, 0)
	if x.be != nil {
		r.BackendName = x.be.Name
	}
	if x.srv != nil {
		r.ServerName = x.srv.Cfg.Name
		r.Server = x.srv.Cfg.Addr
		if x.dst.IsValid() {
			r.Server = x.dst // a server without a port logs the port it was connected to
		}
		// The others' connections at log time: the request has given its slot back, as
		// in HAProxy (a lone request logs 1/1/0/0/0).
		r.SrvConn = int(x.srv.Cur())
		if x.pool != nil {
			r.BeConn = x.pool.Conns()
		}
	}
	if r.Tr >= 0 && x.srv != nil && !x.own {
		r.Status = ex.resp.Status
		r.BytesOut = x.bytesOut
	}
	r.BytesIn = x.bytesIn
	r.Retries, r.Redispatch = x.retries, x.redisp
	if x.badReq {
		// refused as it was parsed, as HAProxy's <BADREQ>: no backend, no server, no
		// request line, and the error page is not counted
		r.BackendName, r.ServerName, r.Server = "", "", netip.AddrPort{}
		r.HasReq, r.TR, r.Tw, r.Tc, r.Tr = false, -1, -1, -1, -1
		r.BytesOut, r.SrvConn, r.BeConn = 0, 0, 0
		r.SetTerm(logging.TermProxy, logging.StateRequest)
	} else if x.term[0] != 0 {
		r.SetTerm(x.term[0], x.term[1])
	} else {
		cc.logTerm(r)
	}
	if be := x.be; be != nil && be.Cookie != nil && (r.Tr >= 0 || ex.ckDirect) {
		req, resp := byte('N'), byte('N')
		switch {
		case ex.ckDirect:
			req = 'V'
		case ex.ckDown:
			req = 'D'
		case ex.ckFound:
			req = 'I'
		}
		if ex.ckInserted && !ex.ckDirect || ex.ckRespHit && be.Cookie.Mode == 0 && (!ex.ckDirect || ex.ckRefresh) {
			resp = 'I' // inserted (HAProxy: also when it overwrote the server's own)
		}
		r.SetCookieFlags(req, resp)
	}
	cc.logger().Log(r)
}

// fail records how the exchange failed, as HAProxy's termination state (cause and
// state, configuration.txt §8.5), where the failure is seen.
func (x *xfer) fail(cause, state byte) { x.term = [2]byte{cause, state} }

// clientWriteFail records a failed write to the client: timeout client (c) or the client
// gone (C).
func (x *xfer) clientWriteFail(err error, state byte) {
	cause := byte(logging.TermClientAbort)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		cause = logging.TermClientTimeout
	}
	x.fail(cause, state)
}

// bodyFail records how the transfer of the request body failed: the client gone (C) or
// silent past timeout client (c), an invalid chunk (P), or, after the response came,
// the server no longer taking the body: closed (S) or not reading past timeout server
// (s, srvTimeout), while data flows (D). A failure recorded before stays.
func (x *xfer) bodyFail(err error, srvTimeout bool) {
	if x.term[0] != 0 {
		return
	}
	switch err {
	case errClientGone:
		x.fail(logging.TermClientAbort, logging.StateData)
	case errClientTimeout:
		x.fail(logging.TermClientTimeout, logging.StateData)
	case errBadChunk:
		x.fail(logging.TermProxy, logging.StateData)
	case errServerWrite:
		if srvTimeout {
			x.fail(logging.TermServerTimeout, logging.StateData)
		} else {
			x.fail(logging.TermServerAbort, logging.StateData)
		}
	}
}

// logTerm derives HAProxy's termination state from the status when no failure was
// recorded on the way (xfer.fail).
func (cc *clientConn) logTerm(r *logging.Record) {
	switch {
	case r.Tr >= 0: // a response came: a failure after it was recorded where seen
	case r.Status == 503: // no server could take it, or none answered the connect
		r.SetTerm(logging.TermServerAbort, logging.StateConnect)
	case r.Status == 504:
		r.SetTerm(logging.TermServerTimeout, logging.StateHeaders)
	case r.Status == 502:
		r.SetTerm(logging.TermServerAbort, logging.StateHeaders)
	case r.Status == 408:
		r.SetTerm(logging.TermClientTimeout, logging.StateRequest)
	case r.Status == 400:
		r.SetTerm(logging.TermProxy, logging.StateRequest)
	case r.Status == 0:
		r.SetTerm(logging.TermClientAbort, logging.StateHeaders)
	}
}

// logBadRequest logs a request that failed before it was parsed (400, 408), or a
// connection the client closed before a whole request (aborted). With option
// dontlognull, a connection that sent nothing is not logged.
func (cc *clientConn) logBadRequest(status int, gotBytes, aborted bool) {
	l := cc.logger()
	if l == nil || (!gotBytes && l.DontLogNull()) {
		return
	}
	if cc.ex == nil {
		cc.getEx()
	}
	ex := cc.ex
	if ex.rec == nil {
		ex.rec = logging.NewRecord(maxLogURI)
	}
	r := ex.rec
	r.Reset()
	cc.fillConn(r)
	now := time.Now()
	lt := cc.logTimes()
	r.Accept, r.Request = lt.accepted, lt.accepted
	if cc.nreq > 0 {
		r.Accept, r.Request = lt.lastEnd, lt.lastEnd
	}
	// As HAProxy: no request, so no request time; the error page is not counted.
	r.Th, r.Ti, r.TR = 0, 0, -1
	r.Ta = now.Sub(r.Request).Milliseconds()
	r.Tt = r.Ta
	r.Status = status
	cc.logTerm(r)
	if aborted {
		r.SetTerm(logging.TermClientAbort, logging.StateRequest)
	}
	l.Log(r)
}

// logLiner is a connection whose request line the log shows otherwise than it reached
// the engine: an HTTP/2 stream (internal/h2's stream adapter) logs "GET
// https://host/path HTTP/2.0", as HAProxy does.
type logLiner interface{ LogRequestLine() string }

// tlsStater is a TLS connection, or an HTTP/2 stream on one.
type tlsStater interface {
	ConnectionState() tls.ConnectionState
}

// unsafeBytes views s as bytes, for a copy that must not allocate.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
