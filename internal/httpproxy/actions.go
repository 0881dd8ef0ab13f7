package httpproxy

import (
	"bytes"
	"time"

	"tandem/internal/config"
	"tandem/internal/http1"
	"tandem/internal/logging"
	"tandem/internal/rawsock"
	"tandem/internal/rules"
)

// This file runs the HTTP actions (package rules) on the exchange: monitor-uri, the
// http-request and redirect rules of the frontend and then of the chosen backend,
// the http-response rules of the backend and then of the frontend, and
// http-after-response on server responses. A request that no rule touches costs a
// length check per list; an edited head is rebuilt by rules.Msg and copied back into
// the exchange's buffer (in for requests, sin for responses) before the body bytes,
// so that the forwarding code and the logs read one buffer as before.

// ownBackend reports whether be is the backend half of the frontend's own listen
// section, whose rules already ran as the frontend's.
func (rs *routeState) ownBackend(be *config.Backend) bool {
	return be.Listen && rs.fe != nil && rs.fe.Listen && be.Name == rs.fe.Name
}

// monitor answers monitor-uri: 200, or 503 when a monitor fail condition matches.
func (cc *clientConn) monitor() (done, keep bool) {
	ex, fe := cc.ex, cc.rs.fe
	if string(ex.req.Target.Of(ex.in)) != fe.MonitorURI {
		return false, false
	}
	code := 200
	t := &ex.txn
	for _, c := range fe.MonitorFail {
		if c.Match(t) {
			code = 503
			break
		}
	}
	return true, cc.replyError(code, nil, cc.replyKeep(), ex.req.Len)
}

// replyKeep says whether the client connection may stay open after an answer the
// proxy makes itself: the request was read whole and both sides want keep-alive.
func (cc *clientConn) replyKeep() bool {
	req := &cc.ex.req
	return req.KeepAlive() && cc.rs.feMode != config.HTTPClose && req.Framing == http1.FrameNone
}

// requestRules runs one proxy's http-request and then redirect rules. done is true
// when a rule answered the request (keep: whether the connection stays open).
func (cc *clientConn) requestRules(pr *config.ProxyRules, be *config.Backend, tarpit time.Duration) (done, keep bool) {
	ex := cc.ex
	t := &ex.txn
	m := &ex.msg
	for _, prog := range [2]rules.Program{pr.Request, pr.Redirect} {
		if len(prog) == 0 {
			continue
		}
		m.Buf, m.Edited = ex.in, false
		old := ex.req.Len
		out := rules.Run(prog, t, m)
		if m.NCaptured > 0 || m.LogLevelSet {
			cc.logCaptures(m)
		}
		if m.NoL7Retry {
			ex.x.noL7Retry = true
		}
		if m.Edited && !cc.commitRequest(old) {
			return true, cc.replyError(500, be, false, 0)
		}
		if out.Rule == nil {
			continue
		}
		if out.Fail {
			return true, cc.replyError(500, be, false, 0)
		}
		if out.Rule.Action == rules.Allow {
			continue // allow ends this list only
		}
		if a := out.Rule.Action; cc.trk != nil && (a == rules.Deny || a == rules.Tarpit || a == rules.Auth) {
			cc.trk.CountHTTPErr() // HAProxy counts denied, tarpitted and refused requests as errors
		}
		return true, cc.answer(out.Rule, be, tarpit, m)
	}
	return false, false
}

// logCaptures hands the values of http-request capture rules to the log record (%hr),
// and the level set-log-level chose.
func (cc *clientConn) logCaptures(m *rules.Msg) {
	r := cc.logRec()
	if r == nil {
		return
	}
	if m.LogLevelSet {
		r.Level = int8(m.LogLevel + 1)
		if m.LogLevel < 0 { // silent
			r.Level = logging.LevelSilent
		}
	}
	for id, set := range m.CaptureSet {
		if set {
			r.SetCapture(id, m.Captures[id], true, len(m.Captures[id]))
		}
	}
}

// commitRequest copies the rebuilt request head over the one read (old bytes long),
// moving the body bytes that follow it; false when it does not fit in the buffer.
func (cc *clientConn) commitRequest(old int) bool {
	ex := cc.ex
	m := &ex.msg
	n := len(m.Buf)
	tail := ex.inLen - old
	if n+tail > len(ex.in) {
		return false
	}
	copy(ex.in[n:], ex.in[old:ex.inLen])
	copy(ex.in, m.Buf)
	ex.inLen = n + tail
	m.Buf, m.Edited = ex.in, false // the spans of ex.req index the same offsets
	return true
}

// answer sends the response of a rule that ends the request: deny, tarpit, return,
// redirect, auth. It reports whether the connection stays open.
func (cc *clientConn) answer(r *rules.Rule, be *config.Backend, tarpit time.Duration, m *rules.Msg) bool {
	ex := cc.ex
	keep := cc.replyKeep() && !cc.h.draining.Load()
	switch r.Action {
	case rules.Tarpit:
		if tarpit > 0 {
			tm := time.NewTimer(tarpit)
			select {
			case <-tm.C:
			case <-cc.h.ctx.Done():
				tm.Stop()
				return false
			}
		}
		fallthrough
	case rules.Deny, rules.Return:
		return cc.sendReply(r.Reply, be, keep)
	case rules.Redirect:
		head := rules.AppendRedirect(ex.out[:0], r, &ex.txn, m)
		return cc.sendAnswer(r.Redirect.Code, head, nil, keep, be)
	case rules.Auth:
		realm := r.Realm
		if realm == "" {
			realm = cc.rs.fe.Name
			if be != nil {
				realm = be.Name
			}
		}
		if b, ok := errorFile(401, cc.rs.fe, be); ok {
			return cc.sendRaw(401, b, keep, be)
		}
		head := append(ex.out[:0], authHead...)
		head = append(head, "www-authenticate: Basic realm=\""...)
		head = append(head, realm...)
		head = append(head, "\"\r\n"...)
		return cc.sendAnswer(401, head, authBody, keep, be)
	case rules.UseService:
		return cc.handOffMetrics(be)
	case rules.Reject:
		return false // closed without an answer
	case rules.SilentDrop:
		rawsock.SilentDrop(cc.nc) // closed without the client knowing
		return false
	}
	return cc.replyError(500, be, false, 0)
}

// authHead and authBody are the built-in 401 page (errorPages) split where auth adds
// its www-authenticate header: the head without its empty line, and the body.
var authHead, authBody = func() ([]byte, []byte) {
	p := errorPages[401].keep
	i := bytes.Index(p, []byte("\r\n\r\n"))
	return p[:i+2], p[i+4:]
}()

// afterRules applies the http-after-response rules of the backend (be, nil when none
// was chosen yet) and of the frontend to b, a whole response the proxy made itself,
// as HAProxy does for its own answers; it returns what to send.
func (cc *clientConn) afterRules(b []byte, be *config.Backend) []byte {
	rs, ex := cc.rs, cc.ex
	if ex == nil || rs.fe == nil {
		return b
	}
	var lists [2]rules.Program
	if be != nil && !rs.ownBackend(be) {
		lists[0] = be.Rules.AfterResponse
	}
	lists[1] = rs.fe.Rules.AfterResponse
	if len(lists[0])+len(lists[1]) == 0 {
		return b
	}
	t := &ex.txn
	if t.cc != cc {
		return b // not within a request's transaction
	}
	resp := &ex.resp
	if resp.Parse(b) != nil {
		return b
	}
	hl := resp.Len
	t.resp = true
	m := &ex.msg
	m.Response(resp, b)
	for _, prog := range lists {
		if out := rules.Run(prog, t, m); out.Fail || out.Rule != nil && out.Rule.Action == rules.Allow {
			break
		}
	}
	t.resp = false
	if !m.Edited {
		return b
	}
	ex.gen = append(append(ex.gen[:0], m.Buf[:resp.Len]...), b[hl:]...)
	m.Edited = false
	return ex.gen
}

// headOnly drops the body of a response the proxy makes to a HEAD request.
func (cc *clientConn) headOnly(b []byte) []byte {
	if ex := cc.ex; ex != nil && ex.req.Method == http1.MethodHEAD {
		if n := http1.EndOfHead(b); n > 0 {
			return b[:n]
		}
	}
	return b
}

// sendReply sends the reply of a deny, tarpit or return rule: the error page of its
// status, a file (errorfile, errorfiles), or the status, headers and body it builds.
func (cc *clientConn) sendReply(rp *rules.Reply, be *config.Backend, keep bool) bool {
	ex := cc.ex
	switch rp.Kind {
	case rules.ReplyDefault:
		return cc.replyError(rp.Status, be, keep, ex.req.Len)
	case rules.ReplyRaw:
		return cc.sendRaw(rp.Status, rp.Raw, keep, be)
	}
	// In a response phase (http-response), the server's response is dropped before
	// the reply is made, as in HAProxy; in a request phase there is none anyway.
	ex.txn.bare = true
	head, body := rules.AppendReply(ex.out[:0], ex.nameBuf[:0], rp, &ex.txn)
	ex.txn.bare = false
	ex.nameBuf = body
	return cc.sendAnswer(rp.Status, head, body, keep, be)
}

// sendAnswer writes head (status line and headers, no empty line), then body.
func (cc *clientConn) sendAnswer(code int, head, body []byte, keep bool, be *config.Backend) bool {
	if !keep {
		head = append(head, "connection: close\r\n"...)
	}
	head = append(head, "\r\n"...)
	head = append(head, body...)
	cc.ex.out = head[:0]
	return cc.writeAnswer(code, be, head, keep, cc.ex.req.Len)
}

// sendRaw writes a whole HTTP response from a file (errorfile, errorfiles); the
// connection stays open after it when the file's framing allows, as in HAProxy.
func (cc *clientConn) sendRaw(code int, b []byte, keep bool, be *config.Backend) bool {
	return cc.writeAnswer(code, be, b, keep && reusableAfter(b), cc.ex.req.Len)
}

// responseRules runs the http-response rules of the backend and then of the
// frontend, then their http-after-response rules, over the server's response in sin.
// done is true when a rule answered instead (keep: whether the client connection
// stays open); the server connection is then not reused.
func (cc *clientConn) responseRules(x *xfer) (done, keep bool) {
	ex, rs := cc.ex, cc.rs
	t := &ex.txn
	t.resp = true
	defer func() { t.resp = false }()
	m := &ex.msg
	m.Response(&ex.resp, ex.sin)
	var lists [4]rules.Program
	be := x.be
	own := rs.ownBackend(be)
	if !own {
		lists[0], lists[2] = be.Rules.Response, be.Rules.AfterResponse
	}
	if fe := rs.fe; fe != nil {
		lists[1], lists[3] = fe.Rules.Response, fe.Rules.AfterResponse
	}
	stopped := false
	for i, prog := range lists {
		if len(prog) == 0 || stopped && i < 2 {
			continue
		}
		m.Buf, m.Edited = ex.sin, false
		old := ex.resp.Len
		out := rules.Run(prog, t, m)
		if m.LogLevelSet {
			cc.logCaptures(m)
		}
		if m.Edited && !cc.commitResponse(old) {
			out.Fail = true
		}
		if out.Fail {
			cc.closeServerOf(x)
			return true, cc.replyError(500, be, false, 0)
		}
		if out.Rule == nil {
			continue
		}
		switch out.Rule.Action {
		case rules.Allow:
			if i < 2 {
				stopped = true // allow ends the http-response lists, not http-after-response
			}
			continue
		case rules.Deny, rules.Return:
			cc.closeServerOf(x)
			return true, cc.sendReply(out.Rule.Reply, be, false)
		case rules.Redirect:
			cc.closeServerOf(x)
			head := rules.AppendRedirect(ex.out[:0], out.Rule, t, m)
			return true, cc.sendAnswer(out.Rule.Redirect.Code, head, nil, false, be)
		}
	}
	return false, false
}

// commitResponse copies the rebuilt response head over the one read (old bytes long)
// in sin, moving the body bytes after it; false when it does not fit.
func (cc *clientConn) commitResponse(old int) bool {
	ex := cc.ex
	m := &ex.msg
	n := len(m.Buf)
	tail := ex.sinLen - old
	if n+tail > len(ex.sin) {
		return false
	}
	copy(ex.sin[n:], ex.sin[old:ex.sinLen])
	copy(ex.sin, m.Buf)
	ex.sinLen = n + tail
	m.Buf, m.Edited = ex.sin, false
	return true
}

// hasResponseRules reports whether a response of be through this frontend has rules.
func (rs *routeState) hasResponseRules(be *config.Backend) bool {
	if fe := rs.fe; fe != nil && len(fe.Rules.Response)+len(fe.Rules.AfterResponse) > 0 {
		return true
	}
	return len(be.Rules.Response)+len(be.Rules.AfterResponse) > 0 && !rs.ownBackend(be)
}

// tarpitOf is how long a tarpit of the proxy with timeouts t holds the request.
func tarpitOf(t *config.Timeouts) time.Duration {
	if t.Tarpit > 0 {
		return t.Tarpit
	}
	return t.Connect
}
