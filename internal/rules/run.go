package rules

import (
	"bytes"
	"regexp"

	"tandem/internal/http1"
	"tandem/internal/sample"
)

// Msg is the message head a phase's rules read and edit. The data path keeps one per
// connection (its buffers are reused) and points it at each head with Request or
// Response; its sample.Txn must return Msg's head and Buf, so that fetches of later
// rules see the edits of earlier ones.
type Msg struct {
	Req  *http1.Request  // the request phase's head
	Resp *http1.Response // the response phases' head
	// Buf holds the bytes the head's spans index: the data path's own buffer until a
	// rule edits the head, then a rebuilt head (Buf[:head.Len]) owned by Msg.
	Buf []byte
	// Edited is true once a rule changed the head: the data path must then forward
	// Buf[:Len] in place of the head it read (and the body after the original head).
	Edited bool
	// NoL7Retry is set by disable-l7-retry: only connection failures may be retried.
	NoL7Retry bool
	// LogLevel is set-log-level's severity when LogLevelSet.
	LogLevel    int
	LogLevelSet bool
	// Captures holds the values of http-request capture rules by their slot
	// (Rule.CaptureID); CaptureSet says which were set by this request. NCaptured
	// counts capture rules that ran.
	Captures   [][]byte
	CaptureSet []bool
	NCaptured  int

	bufs [2][]byte // rebuilt heads: Buf is one of them once Edited
	cur  int
	val  []byte // an evaluated value
	rep  []byte // a replacement
	tmp  []byte
	reqT *http1.Request
	resT *http1.Response
}

// Request points m at a request head parsed from buf (a new transaction).
func (m *Msg) Request(r *http1.Request, buf []byte) {
	m.Req, m.Resp, m.Buf, m.Edited = r, nil, buf, false
	m.LogLevelSet, m.NoL7Retry = false, false
	if m.NCaptured > 0 {
		m.NCaptured = 0
		clear(m.CaptureSet)
	}
}

// Response points m at a response head parsed from buf.
func (m *Msg) Response(r *http1.Response, buf []byte) {
	m.Req, m.Resp, m.Buf, m.Edited = nil, r, buf, false
}

func (m *Msg) head() *http1.Head {
	if m.Req != nil {
		return &m.Req.Head
	}
	return &m.Resp.Head
}

// Outcome is how a phase's list ended.
type Outcome struct {
	// Rule is the rule that ended the list (allow, deny, tarpit, redirect, return,
	// auth, use-service), nil when every rule ran.
	Rule *Rule
	// Fail is set when a rewrite produced a head that does not parse: HAProxy answers
	// 500 in its default strict mode. Rule is the failing rule.
	Fail bool
}

// Run evaluates prog in order over t, editing m. A list whose conditions all fail
// costs one condition evaluation per rule and allocates nothing.
func Run(prog Program, t sample.Txn, m *Msg) Outcome {
	for _, r := range prog {
		if r.Cond != nil && !r.Cond.Match(t) {
			continue
		}
		switch r.Action {
		case Allow, Deny, Tarpit, Return, Auth, UseService, Reject, SilentDrop:
			return Outcome{Rule: r}
		case DisableL7Retry:
			m.NoL7Retry = true
		case Redirect:
			if r.Redirect.IgnoreEmpty && r.Redirect.Value != nil {
				m.val = r.Redirect.Value.Append(m.val[:0], t)
				if len(m.val) == 0 {
					continue
				}
			}
			return Outcome{Rule: r}
		case SetVar:
			if v, ok := r.Expr.Eval(t); ok {
				t.State().SetVar(r.VarScope, r.VarName, v)
			}
		case SetVarFmt:
			m.val = r.Fmt.Append(m.val[:0], t)
			t.State().SetVar(r.VarScope, r.VarName, sample.Str(m.val))
		case UnsetVar:
			t.State().UnsetVar(r.VarScope, r.VarName)
		case SetLogLevel:
			m.LogLevel, m.LogLevelSet = r.LogLevel, true
		case Capture:
			m.capture(r, t)
		case TrackSC, SCIncGPC, SCSetGPT:
			runStick(r, t)
		default:
			if !m.edit(r, t) {
				return Outcome{Rule: r, Fail: true}
			}
		}
	}
	return Outcome{}
}

func (m *Msg) capture(r *Rule, t sample.Txn) {
	id := r.CaptureID
	for len(m.Captures) <= id {
		m.Captures = append(m.Captures, nil)
		m.CaptureSet = append(m.CaptureSet, false)
	}
	c := m.Captures[id][:0]
	v, ok := r.Expr.Eval(t)
	if ok {
		c = v.AppendText(c)
		if len(c) > r.CaptureLen {
			c = c[:r.CaptureLen]
		}
	}
	m.Captures[id], m.CaptureSet[id] = c, ok
	m.NCaptured++
}

// edit carries out a head-editing action; false when the result does not parse.
func (m *Msg) edit(r *Rule, t sample.Txn) bool {
	h := m.head()
	buf := m.Buf
	m.val = m.val[:0]
	if r.Fmt != nil {
		m.val = r.Fmt.Append(m.val, t)
	}
	out := m.spare()
	switch r.Action {
	case SetHeader, AddHeader, DelHeader:
		out = appendStartLine(out, buf, h)
		for i := 0; i < h.NHeaders; i++ {
			hd := &h.Headers[i]
			if r.Action != AddHeader && m.nameMatches(r, hd.Name.Of(buf)) {
				continue
			}
			out = append(out, buf[hd.LineStart:hd.LineEnd]...)
		}
		if r.Action != DelHeader {
			out = appendHeader(out, r.Name, m.val)
		}
	case ReplaceHeader, ReplaceValue:
		changed := false
		out = appendStartLine(out, buf, h)
		for i := 0; i < h.NHeaders; i++ {
			hd := &h.Headers[i]
			if !http1.EqualFold(hd.Name.Of(buf), r.Name) {
				out = append(out, buf[hd.LineStart:hd.LineEnd]...)
				continue
			}
			var ok bool
			if r.Action == ReplaceHeader {
				m.rep, ok = replace(m.rep[:0], r.Re, hd.Value.Of(buf), m.val)
			} else {
				m.rep, ok = m.replaceValues(r, hd.Value.Of(buf))
			}
			if !ok {
				out = append(out, buf[hd.LineStart:hd.LineEnd]...)
				continue
			}
			changed = true
			out = appendHeader(out, hd.Name.Of(buf), m.rep)
		}
		if !changed {
			return true
		}
	case SetStatus:
		out = append(out, "HTTP/1."...)
		out = append(out, '0'+h.Minor, ' ')
		out = appendStatus(out, r.Status)
		out = append(out, ' ')
		if r.Reason != "" {
			out = append(out, r.Reason...)
		} else {
			out = append(out, Reason(r.Status)...)
		}
		out = append(out, "\r\n"...)
		out = appendHeaders(out, buf, h)
	default: // request line edits
		q := m.Req
		target := q.Target.Of(buf)
		method := q.MethodSp.Of(buf)
		pre, path, query := splitTarget(target)
		m.rep = m.rep[:0]
		switch r.Action {
		case SetMethod:
			method = m.val
			m.rep = append(m.rep, target...)
		case SetURI:
			m.rep = append(m.rep, m.val...)
		case SetPath:
			m.rep = append(append(append(m.rep, pre...), m.val...), query...)
		case SetPathQ:
			m.rep = append(append(m.rep, pre...), m.val...)
		case SetQuery:
			m.rep = append(append(m.rep, pre...), path...)
			if len(query) > 0 || len(m.val) > 0 {
				m.rep = append(append(m.rep, '?'), m.val...)
			}
		case ReplacePath, ReplacePathQ, ReplaceURI:
			var subject []byte
			switch r.Action {
			case ReplacePath:
				subject = path
			case ReplacePathQ:
				subject = target[len(pre):]
			default:
				subject = target
			}
			var ok bool
			m.tmp, ok = replace(m.tmp[:0], r.Re, subject, m.val)
			if !ok {
				return true
			}
			rep := m.tmp
			switch r.Action {
			case ReplacePath:
				m.rep = append(append(append(m.rep, pre...), rep...), query...)
			case ReplacePathQ:
				m.rep = append(append(m.rep, pre...), rep...)
			default:
				m.rep = append(m.rep, rep...)
			}
		}
		if len(m.rep) == 0 {
			return false // an empty target does not parse
		}
		out = append(out, method...)
		out = append(out, ' ')
		out = append(out, m.rep...)
		out = append(out, " HTTP/1."...)
		out = append(out, '0'+h.Minor)
		out = append(out, "\r\n"...)
		out = appendHeaders(out, buf, h)
	}
	out = append(out, "\r\n"...)
	if !m.commit(out) {
		return false
	}
	switch r.Action {
	case SetHeader, AddHeader, ReplaceHeader, ReplaceValue:
		if m.Req != nil && http1.EqualFold([]byte(r.Name), "host") {
			return m.syncAuthority()
		}
	}
	return true
}

// syncAuthority makes an absolute-form target name the host of the Host header after
// a rule changed the header, as HAProxy 2.6 keeps the two consistent.
func (m *Msg) syncAuthority() bool {
	q, buf := m.Req, m.Buf
	target := q.Target.Of(buf)
	pre, _, _ := splitTarget(target)
	i := bytes.Index(pre, []byte("://"))
	if i < 0 {
		return true
	}
	host, ok := q.Get(buf, "host")
	if !ok || string(host) == string(pre[i+3:]) {
		return true
	}
	out := m.spare()
	out = append(out, q.MethodSp.Of(buf)...)
	out = append(out, ' ')
	out = append(out, pre[:i+3]...)
	out = append(out, host...)
	out = append(out, target[len(pre):]...)
	out = append(out, " HTTP/1."...)
	out = append(out, '0'+q.Minor)
	out = append(out, "\r\n"...)
	out = appendHeaders(out, buf, &q.Head)
	out = append(out, "\r\n"...)
	return m.commit(out)
}

func (m *Msg) nameMatches(r *Rule, n []byte) bool {
	switch r.Match {
	case MatchBeg:
		return len(n) >= len(r.Name) && http1.EqualFold(n[:len(r.Name)], r.Name)
	case MatchEnd:
		return len(n) >= len(r.Name) && http1.EqualFold(n[len(n)-len(r.Name):], r.Name)
	case MatchSub:
		for i := 0; i+len(r.Name) <= len(n); i++ {
			if http1.EqualFold(n[i:i+len(r.Name)], r.Name) {
				return true
			}
		}
		return false
	case MatchReg:
		// HAProxy matches the lower-case name (it keeps names lower case).
		m.tmp = m.tmp[:0]
		for _, c := range n {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			m.tmp = append(m.tmp, c)
		}
		return r.NameRe.Match(m.tmp)
	}
	return http1.EqualFold(n, r.Name)
}

// replaceValues applies replace-value to each comma-separated value of v: a
// replaced value loses the blanks before it, others keep them (as HAProxy 2.6).
func (m *Msg) replaceValues(r *Rule, v []byte) ([]byte, bool) {
	out := m.rep[:0]
	changed := false
	for {
		i := bytes.IndexByte(v, ',')
		elem := v
		if i >= 0 {
			elem = v[:i]
		}
		lead, end := 0, len(elem)
		for lead < end && (elem[lead] == ' ' || elem[lead] == '\t') {
			lead++
		}
		for end > lead && (elem[end-1] == ' ' || elem[end-1] == '\t') {
			end--
		}
		if n, ok := replace(out, r.Re, elem[lead:end], m.val); ok {
			out, changed = append(n, elem[end:]...), true
		} else {
			out = append(out, elem...)
		}
		if i < 0 {
			return out, changed
		}
		out = append(out, ',')
		v = v[i+1:]
	}
}

// replace appends tmpl to dst with \N replaced by the Nth group of re's first
// match in subject (\\ is a backslash); false when re does not match. As in
// HAProxy, the whole subject is replaced, not only the matched part.
func replace(dst []byte, re *regexp.Regexp, subject, tmpl []byte) ([]byte, bool) {
	loc := re.FindSubmatchIndex(subject)
	if loc == nil {
		return dst, false
	}
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c == '\\' && i+1 < len(tmpl) {
			if d := tmpl[i+1]; d >= '0' && d <= '9' {
				n := int(d - '0')
				if 2*n+1 < len(loc) && loc[2*n] >= 0 {
					dst = append(dst, subject[loc[2*n]:loc[2*n+1]]...)
				}
				i++
				continue
			} else if d == '\\' {
				dst = append(dst, '\\')
				i++
				continue
			}
		}
		dst = append(dst, c)
	}
	return dst, true
}

// spare returns the rebuild buffer Buf is not.
func (m *Msg) spare() []byte {
	i := 0
	if m.Edited {
		i = 1 - m.cur
	}
	return m.bufs[i][:0]
}

// commit parses the rebuilt head out and makes it the message's head.
func (m *Msg) commit(out []byte) bool {
	i := 0
	if m.Edited {
		i = 1 - m.cur
	}
	m.bufs[i] = out
	if m.Req != nil {
		if m.reqT == nil {
			m.reqT = new(http1.Request)
		}
		if m.reqT.ParseRewritten(out) != nil || m.reqT.Len != len(out) {
			return false
		}
		*m.Req = *m.reqT
	} else {
		if m.resT == nil {
			m.resT = new(http1.Response)
		}
		if m.resT.Parse(out) != nil || m.resT.Len != len(out) {
			return false
		}
		*m.Resp = *m.resT
	}
	m.Buf, m.cur, m.Edited = out, i, true
	return true
}

// appendStartLine appends the head's start line (without leading empty lines).
func appendStartLine(out, buf []byte, h *http1.Head) []byte {
	return append(out, buf[startOf(buf, h):h.StartLineEnd]...)
}

func startOf(buf []byte, h *http1.Head) int32 {
	i := int32(0)
	for i+1 < h.StartLineEnd && buf[i] == '\r' && buf[i+1] == '\n' {
		i += 2
	}
	return i
}

// appendHeaders appends every header line of h as read.
func appendHeaders(out, buf []byte, h *http1.Head) []byte {
	if h.NHeaders == 0 {
		return out
	}
	return append(out, buf[h.Headers[0].LineStart:h.Headers[h.NHeaders-1].LineEnd]...)
}

func appendHeader[S string | []byte](out []byte, name S, v []byte) []byte {
	out = append(out, name...)
	out = append(out, ": "...)
	out = append(out, v...)
	return append(out, "\r\n"...)
}

func appendStatus(out []byte, code int) []byte {
	return append(out, byte('0'+code/100%10), byte('0'+code/10%10), byte('0'+code%10))
}

// splitTarget splits a request target into what precedes the path (scheme and
// authority of the absolute form), the path and the query (with its '?').
func splitTarget(t []byte) (pre, path, query []byte) {
	p := 0
	if len(t) > 0 && t[0] != '/' {
		if i := bytes.Index(t, []byte("://")); i >= 0 {
			p = i + 3
			for p < len(t) && t[p] != '/' && t[p] != '?' {
				p++
			}
		} else {
			return nil, t, nil // "*" (or a CONNECT authority): the whole target is the path
		}
	}
	q := p
	for q < len(t) && t[q] != '?' {
		q++
	}
	return t[:p], t[p:q], t[q:]
}
