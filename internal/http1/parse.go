package http1

import "bytes"

// errSet is the family of errors a parse returns (requests answer 400, responses 502)
// and the checks that differ between the kinds of head.
type errSet struct {
	name, value, bareLF, fold, tooMany, cl, te *Error

	request bool // a request: no transfer coding may follow chunked
	client  bool // a request as a client wrote it: Host is checked (missing, repeated, not the authority)
}

var (
	reqErrs = errSet{ErrHeaderName, ErrHeaderValue, ErrBareLF, ErrObsFold, ErrTooManyHeaders, ErrContentLength, ErrTransferEnc, true, true}
	// rewrittenErrs parses a request head the proxy rebuilt (ParseRewritten): the
	// errors of a request, without the checks of what a client wrote about Host.
	rewrittenErrs = errSet{ErrHeaderName, ErrHeaderValue, ErrBareLF, ErrObsFold, ErrTooManyHeaders, ErrContentLength, ErrTransferEnc, true, false}
	respErrs      = errSet{ErrRespHeaderName, ErrRespHeaderValue, ErrRespBareLF, ErrRespObsFold, ErrRespTooMany, ErrRespCL, ErrRespTE, false, false}
)

// Parse parses the request head at the start of b. It returns ErrNeedMore when b does
// not hold the whole head, or an *Error. On success r.Len is the head's length.
func (r *Request) Parse(b []byte) error { return r.parse(b, false) }

// ParseLax parses as Parse, relaxed as HAProxy 2.6's option
// accept-invalid-http-request: header names may hold any byte but ':', CR and LF; the
// target may hold bytes above 0x7e and a fragment ('#'); the version may be another
// protocol's name or have several digits (the request is then read as HTTP/1.0 and its
// request line forwarded as is), or be missing (HTTP/0.9: a request line alone, read
// as HTTP/1.0 without headers; FNoVersion is set and r.Len ends after that line).
func (r *Request) ParseLax(b []byte) error { return r.parse(b, true) }

// ParseRewritten parses a request head the proxy rebuilt after HTTP actions edited it
// (package rules): as Parse, but what a client wrote about Host is not checked
// (missing, repeated, or not the absolute-form authority), since HAProxy lets rules
// change it freely.
func (r *Request) ParseRewritten(b []byte) error {
	return r.parseAs(b, false, &rewrittenErrs)
}

func (r *Request) parse(b []byte, lax bool) error { return r.parseAs(b, lax, &reqErrs) }

func (r *Request) parseAs(b []byte, lax bool, errs *errSet) error {
	r.Flags, r.NHeaders, r.ContentLength, r.Framing = 0, 0, 0, FrameNone
	i := 0
	for i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n' {
		i += 2
	}
	// method SP target SP HTTP/1.x CRLF
	ms := i
	for i < len(b) && tchar[b[i]] {
		i++
	}
	if i == len(b) {
		return ErrNeedMore
	}
	if i == ms || b[i] != ' ' {
		if b[i] == '\n' || b[i] == '\r' || b[i] == ' ' {
			return ErrRequestLine
		}
		return ErrMethod
	}
	r.MethodSp = Span{int32(ms), int32(i)}
	r.Method = methodOf(b[ms:i])
	i++
	ts := i
	if lax {
		for i < len(b) && b[i] > 0x20 && b[i] != 0x7f {
			i++
		}
	} else {
		for i < len(b) && b[i] > 0x20 && b[i] < 0x7f && b[i] != '#' {
			i++
		}
	}
	if i == len(b) {
		return ErrNeedMore
	}
	if lax && i > ts && b[i] == '\r' {
		return r.simpleRequest(b, ts, i)
	}
	if i == ts || b[i] != ' ' {
		if b[i] == '\r' || b[i] == '\n' || b[i] == ' ' {
			return ErrRequestLine
		}
		return ErrTarget
	}
	r.Target = Span{int32(ts), int32(i)}
	if !validTarget(r.Method, b[ts:i]) {
		return ErrTarget
	}
	i++
	le := bytes.IndexByte(b[i:], '\n')
	if le < 0 {
		return ErrNeedMore
	}
	if le == 0 || b[i+le-1] != '\r' {
		if le >= 8 && string(b[i:i+5]) == "HTTP/" {
			return ErrBareLF
		}
		return ErrRequestLine
	}
	v := b[i : i+le-1]
	switch {
	case len(v) == 8 && string(v[:7]) == "HTTP/1." && v[7] >= '0' && v[7] <= '9':
		// a higher minor version is processed as HTTP/1.1 (RFC 9110 §2.5)
		r.Minor = min(v[7]-'0', 1)
	case lax && laxVersion(v, true):
		r.Minor = 0 // as HAProxy: another protocol, or an odd version, is read as HTTP/1.0
	case len(v) == 8 && string(v[:5]) == "HTTP/" && isDigit(v[5]) && v[6] == '.' && isDigit(v[7]):
		return ErrVersion
	default:
		return ErrRequestLine
	}
	i += le + 1
	r.StartLineEnd = int32(i)
	if err := r.parseHeaders(b, i, errs, lax); err != nil {
		return err
	}
	if r.Method == MethodCONNECT {
		return ErrMethod // tunnelling CONNECT through an HTTP proxy is not supported
	}
	// What the client wrote about Host was checked when the request was read: a
	// rewritten head is not checked again.
	client := errs.client
	if client && r.Flags&FHasHost == 0 {
		if r.Minor > 0 {
			return ErrNoHost // RFC 9112 §3.2 (HAProxy forwards it: DIFFERENCES.md)
		}
	} else if t := r.Target.Of(b); client && t[0] != '/' && t[0] != '*' && !r.authorityIsHost(b, t) {
		return ErrHostMismatch // as HAProxy
	}
	// Request framing, RFC 9112 §6.3.
	switch {
	case r.Flags&FHasTE != 0:
		if r.Minor == 0 {
			return ErrTEWithHTTP10
		}
		if r.Flags&FTEChunkedLast == 0 {
			return ErrTransferEnc
		}
		if r.Flags&fTEOther != 0 {
			return ErrTECoding
		}
		r.Framing = FrameChunked
		if r.Flags&FHasCL != 0 {
			r.Flags |= FCLAndTE
		}
	case r.Flags&FHasCL != 0 && r.ContentLength > 0:
		r.Framing = FrameLength
	}
	return nil
}

// Parse parses the response head at the start of b. It returns ErrNeedMore when b does
// not hold the whole head, or an *Error (Status 502).
func (r *Response) Parse(b []byte) error { return r.parse(b, false) }

// ParseLax parses as Parse, relaxed as HAProxy 2.6's option
// accept-invalid-http-response: header names may hold any byte but ':', CR and LF, and
// the version may have several digits ("HTTP/1.10", "HTTP/11.1", "HTTP/1"; read as
// HTTP/1.0, the status line forwarded as is).
func (r *Response) ParseLax(b []byte) error { return r.parse(b, true) }

func (r *Response) parse(b []byte, lax bool) error {
	r.Flags, r.NHeaders, r.ContentLength, r.Framing = 0, 0, 0, FrameClose
	v := 8 // end of the version
	if lax {
		sp := bytes.IndexByte(b, ' ')
		if sp < 0 {
			if bytes.IndexByte(b, '\n') >= 0 {
				return ErrRespStatusLine
			}
			return ErrNeedMore
		}
		if sp != 8 || string(b[:7]) != "HTTP/1." {
			if !laxVersion(b[:sp], false) {
				return ErrRespStatusLine
			}
			v = sp
		}
	}
	if len(b) < v+6 {
		if bytes.IndexByte(b, '\n') >= 0 {
			return ErrRespStatusLine
		}
		return ErrNeedMore
	}
	if v == 8 {
		if string(b[:7]) != "HTTP/1." || b[7] < '0' || b[7] > '9' || b[8] != ' ' {
			return ErrRespStatusLine
		}
		r.Minor = min(b[7]-'0', 1)
	} else {
		r.Minor = 0
	}
	d0, d1, d2 := b[v+1]-'0', b[v+2]-'0', b[v+3]-'0'
	if d0 < 1 || d0 > 5 || d1 > 9 || d2 > 9 {
		return ErrRespStatusLine
	}
	r.Status = int(d0)*100 + int(d1)*10 + int(d2)
	i := v + 4
	switch b[i] {
	case ' ':
		i++
	case '\r':
	default:
		return ErrRespStatusLine
	}
	rs := i
	for i < len(b) && vchar[b[i]] {
		i++
	}
	if i+1 >= len(b) {
		return ErrNeedMore
	}
	if b[i] != '\r' || b[i+1] != '\n' {
		if b[i] == '\n' {
			return ErrRespBareLF
		}
		return ErrRespStatusLine
	}
	r.Reason = Span{int32(rs), int32(i)}
	i += 2
	r.StartLineEnd = int32(i)
	if err := r.parseHeaders(b, i, &respErrs, lax); err != nil {
		return err
	}
	switch {
	case r.Flags&FHasTE != 0:
		if r.Flags&FTEChunkedLast != 0 {
			r.Framing = FrameChunked
		} else {
			r.Framing = FrameClose
		}
		if r.Flags&FHasCL != 0 {
			r.Flags |= FCLAndTE
		}
	case r.Flags&FHasCL != 0:
		if r.ContentLength == 0 {
			r.Framing = FrameNone
		} else {
			r.Framing = FrameLength
		}
	}
	return nil
}

// parseHeaders parses header lines from b[i:] through the empty line. lax accepts any
// byte but ':', CR and LF in names.
func (h *Head) parseHeaders(b []byte, i int, e *errSet, lax bool) error {
	var chunkedSeen bool
	for {
		if i >= len(b) {
			return ErrNeedMore
		}
		switch b[i] {
		case '\r':
			if i+1 >= len(b) {
				return ErrNeedMore
			}
			if b[i+1] != '\n' {
				return e.value
			}
			h.Len = i + 2
			return nil
		case '\n':
			return e.bareLF
		case ' ', '\t':
			return e.fold
		}
		if h.NHeaders == MaxHeaders {
			return e.tooMany
		}
		ls := i
		if lax {
			for i < len(b) && b[i] != ':' && b[i] != '\r' && b[i] != '\n' {
				i++
			}
		} else {
			for i < len(b) && tchar[b[i]] {
				i++
			}
		}
		if i == len(b) {
			return ErrNeedMore
		}
		if i == ls || b[i] != ':' {
			return e.name
		}
		ne := i
		i++
		for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		vs := i
		for i < len(b) && vchar[b[i]] {
			i++
		}
		if i+1 >= len(b) {
			return ErrNeedMore
		}
		if b[i] != '\r' {
			if b[i] == '\n' {
				return e.bareLF
			}
			return e.value
		}
		if b[i+1] != '\n' {
			return e.value
		}
		ve := i
		for ve > vs && (b[ve-1] == ' ' || b[ve-1] == '\t') {
			ve--
		}
		i += 2
		hd := &h.Headers[h.NHeaders]
		h.NHeaders++
		hd.Name = Span{int32(ls), int32(ne)}
		hd.Value = Span{int32(vs), int32(ve)}
		hd.LineStart, hd.LineEnd = int32(ls), int32(i)
		hd.Kind = kindOf(b[ls:ne])
		v := b[vs:ve]
		switch hd.Kind {
		case KContentLength:
			if err := h.contentLength(v, e); err != nil {
				return err
			}
		case KTransferEncoding:
			if err := h.transferEncoding(v, &chunkedSeen, e); err != nil {
				return err
			}
		case KConnection:
			h.connection(v)
		case KUpgrade:
			h.Flags |= FUpgrade
		case KExpect:
			if EqualFold(v, "100-continue") {
				h.Flags |= FExpect100
			}
		case KHost:
			if h.Flags&FHasHost != 0 && e.client {
				return ErrHost
			}
			h.Flags |= FHasHost
		case KCookie:
			h.Flags |= FCookie
		case KSetCookie:
			h.Flags |= FSetCookie
		case KCacheControl:
			h.Flags |= FCacheCtl
		}
	}
}

// contentLength merges one Content-Length field value (possibly a list of identical
// values) into h: every value must be digits only, fit in an int64 and agree.
func (h *Head) contentLength(v []byte, e *errSet) error {
	if len(v) == 0 {
		return e.cl
	}
	for rest := v; ; {
		var tok []byte
		tok, rest = NextToken(rest)
		if len(tok) == 0 || len(tok) > 18 {
			return e.cl
		}
		var n int64
		for _, c := range tok {
			if c < '0' || c > '9' {
				return e.cl
			}
			n = n*10 + int64(c-'0')
		}
		if h.Flags&FHasCL != 0 {
			if n != h.ContentLength {
				return e.cl
			}
			h.Flags |= FCLMulti
		}
		h.Flags |= FHasCL
		h.ContentLength = n
		if rest == nil {
			return nil
		}
	}
}

// transferEncoding checks one Transfer-Encoding field value. Codings are tokens;
// "chunked" may appear once. For requests it must be the final coding (checked after
// all headers through FTEChunkedLast); a coding after chunked is an error for requests.
func (h *Head) transferEncoding(v []byte, seen *bool, e *errSet) error {
	if len(v) == 0 {
		return e.te
	}
	for rest := v; ; {
		var tok []byte
		tok, rest = NextToken(rest)
		if !IsToken(tok) {
			return e.te
		}
		chunked := EqualFold(tok, "chunked")
		if chunked && *seen {
			return e.te // chunked applied twice
		}
		if !chunked && h.Flags&FTEChunkedLast != 0 && e.request {
			return e.te // a coding after chunked in a request
		}
		if chunked {
			*seen = true
			h.Flags |= FTEChunkedLast
		} else {
			h.Flags &^= FTEChunkedLast
			h.Flags |= fTEOther
		}
		h.Flags |= FHasTE
		if rest == nil {
			return nil
		}
	}
}

// connection records the Connection tokens close, keep-alive and upgrade, and whether
// the field names other (hop-by-hop) headers.
func (h *Head) connection(v []byte) {
	for rest := v; ; {
		var tok []byte
		tok, rest = NextToken(rest)
		switch {
		case EqualFold(tok, "close"):
			h.Flags |= FConnClose
		case EqualFold(tok, "keep-alive"):
			h.Flags |= FConnKeepAlive
		case EqualFold(tok, "upgrade"):
			h.Flags |= FConnUpgrade
		case len(tok) > 0:
			h.Flags |= FConnOther
		}
		if rest == nil {
			return
		}
	}
}

// ConnectionNames reports whether the header name n is listed in one of h's Connection fields.
func (h *Head) ConnectionNames(buf []byte, n []byte) bool {
	for i := 0; i < h.NHeaders; i++ {
		hd := &h.Headers[i]
		if hd.Kind != KConnection {
			continue
		}
		for rest := hd.Value.Of(buf); ; {
			var tok []byte
			tok, rest = NextToken(rest)
			if len(tok) == len(n) && foldEq(tok, n) {
				return true
			}
			if rest == nil {
				break
			}
		}
	}
	return false
}

func foldEq(a, b []byte) bool {
	for i := range a {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func methodOf(m []byte) Method {
	switch string(m) {
	case "GET":
		return MethodGET
	case "HEAD":
		return MethodHEAD
	case "POST":
		return MethodPOST
	case "CONNECT":
		return MethodCONNECT
	case "OPTIONS":
		return MethodOPTIONS
	}
	return MethodOther
}

// validTarget accepts origin-form (/...), absolute-form (scheme://...) and, for
// OPTIONS, asterisk-form. Characters were checked by the caller.
func validTarget(m Method, t []byte) bool {
	switch {
	case t[0] == '/':
		return true
	case len(t) == 1 && t[0] == '*':
		return m == MethodOPTIONS
	case m == MethodCONNECT:
		return true
	}
	// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) "://"
	i := 0
	for i < len(t) {
		c := t[i]
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || (i > 0 && (('0' <= c && c <= '9') || c == '+' || c == '-' || c == '.')) {
			i++
			continue
		}
		break
	}
	return i > 0 && len(t) > i+3 && string(t[i:i+3]) == "://"
}

// authorityIsHost reports whether the authority of the absolute-form target t is the
// request's Host, compared as HAProxy does: ASCII case-insensitively, without the
// authority's userinfo, and without an empty port or the scheme's default port (80
// for http, 443 for https) on either side.
func (r *Request) authorityIsHost(b, t []byte) bool {
	scheme, as, ae := authority(t)
	if as < 0 {
		return false
	}
	auth := t[as:ae]
	if j := bytes.LastIndexByte(auth, '@'); j >= 0 {
		auth = auth[j+1:]
	}
	var host []byte
	for k := 0; k < r.NHeaders; k++ {
		if hd := &r.Headers[k]; hd.Kind == KHost {
			host = hd.Value.Of(b)
			break
		}
	}
	auth, host = withoutDefaultPort(scheme, auth), withoutDefaultPort(scheme, host)
	return len(auth) == len(host) && foldEq(auth, host)
}

// authority returns the scheme of the absolute-form target t and where its authority
// is: t[start:end] (start < 0: none).
func authority(t []byte) (scheme []byte, start, end int) {
	i := bytes.Index(t, []byte("://"))
	if i < 0 {
		return nil, -1, -1
	}
	start, end = i+3, len(t)
	if j := bytes.IndexByte(t[start:], '/'); j >= 0 {
		end = start + j
	}
	return t[:i], start, end
}

// DefaultPortSpan returns the bytes t[i:j] of the absolute-form target t that HAProxy
// drops when it forwards the request: an empty port, or the default port of the scheme
// (":80" for http, ":443" for https). i == j when there are none.
func DefaultPortSpan(t []byte) (i, j int) {
	scheme, as, ae := authority(t)
	if as < 0 {
		return 0, 0
	}
	auth := t[as:ae]
	if k := bytes.LastIndexByte(auth, '@'); k >= 0 {
		as += k + 1
		auth = t[as:ae]
	}
	return as + len(withoutDefaultPort(scheme, auth)), ae
}

// withoutDefaultPort returns hostport without an empty port or the default port of
// scheme (http: 80, https: 443).
func withoutDefaultPort(scheme, hostport []byte) []byte {
	i := bytes.LastIndexByte(hostport, ':')
	if i < 0 || bytes.IndexByte(hostport[i:], ']') >= 0 { // no port (an IPv6 literal's colons)
		return hostport
	}
	switch port := hostport[i+1:]; {
	case len(port) == 0,
		string(port) == "80" && EqualFold(scheme, "http"),
		string(port) == "443" && EqualFold(scheme, "https"):
		return hostport[:i]
	}
	return hostport
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// laxVersion reports whether v is a version HAProxy's accept-invalid-http-* options let
// through: NAME/MAJOR[.MINOR], digits of any count; NAME is HTTP, or with anyName any
// upper-case name (RTSP).
func laxVersion(v []byte, anyName bool) bool {
	i := 0
	for i < len(v) && v[i] >= 'A' && v[i] <= 'Z' {
		i++
	}
	if i == 0 || i == len(v) || v[i] != '/' || !anyName && string(v[:i]) != "HTTP" {
		return false
	}
	if string(v[:i]) == "HTTP" && len(v) == 8 && v[6] == '.' {
		return false // HTTP/d.d: a version of its own (1.x, or refused), not an odd one
	}
	i++
	d := i
	for i < len(v) && isDigit(v[i]) {
		i++
	}
	if i == d {
		return false
	}
	if i == len(v) {
		return true
	}
	if v[i] != '.' {
		return false
	}
	i++
	d = i
	for i < len(v) && isDigit(v[i]) {
		i++
	}
	return i > d && i == len(v)
}

// simpleRequest ends the parse of an HTTP/0.9 request line (method, target, CRLF; the
// target is b[ts:te]) under ParseLax: read as HTTP/1.0 without headers.
func (r *Request) simpleRequest(b []byte, ts, te int) error {
	if te+1 >= len(b) {
		return ErrNeedMore
	}
	if b[te+1] != '\n' {
		return ErrRequestLine
	}
	r.Target = Span{int32(ts), int32(te)}
	if !validTarget(r.Method, b[ts:te]) {
		return ErrTarget
	}
	if r.Method == MethodCONNECT {
		return ErrMethod
	}
	r.Minor = 0
	r.Flags = FNoVersion
	r.StartLineEnd = int32(te + 2)
	r.Len = te + 2
	return nil
}

// EndOfSimpleRequest returns the length of the HTTP/0.9 request line at the start of b
// (see ParseLax; leading empty lines included), or -1 when b does not start with one.
func EndOfSimpleRequest(b []byte) int {
	i := 0
	for i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n' {
		i += 2
	}
	le := bytes.IndexByte(b[i:], '\n')
	if le < 1 || b[i+le-1] != '\r' {
		return -1
	}
	line := b[i : i+le-1]
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || sp == len(line)-1 || bytes.IndexByte(line[sp+1:], ' ') >= 0 {
		return -1
	}
	return i + le + 1
}
