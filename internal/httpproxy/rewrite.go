package httpproxy

import (
	"bytes"
	"strconv"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/http1"
)

// copier appends unchanged lines of a head in runs, so that a head with nothing to
// change is copied with one append.
type copier struct {
	src        []byte
	start, end int
}

func (c *copier) keep(out []byte, hd *http1.Header) []byte {
	if int(hd.LineStart) != c.end {
		out = append(out, c.src[c.start:c.end]...)
		c.start = int(hd.LineStart)
	}
	c.end = int(hd.LineEnd)
	return out
}

func (c *copier) skip(out []byte, hd *http1.Header) []byte {
	out = append(out, c.src[c.start:c.end]...)
	c.start, c.end = int(hd.LineEnd), int(hd.LineEnd)
	return out
}

func (c *copier) flush(out []byte) []byte { return append(out, c.src[c.start:c.end]...) }

// hopByHop reports whether a header of kind k named n must not cross the proxy.
func hopByHop(h *http1.Head, buf []byte, hd *http1.Header) bool {
	switch hd.Kind {
	case http1.KConnection, http1.KKeepAlive, http1.KProxyConnection:
		return true
	case http1.KTE:
		return !http1.EqualFold(hd.Value.Of(buf), "trailers")
	case http1.KContentLength:
		return h.Flags&(http1.FCLAndTE|http1.FCLMulti) != 0
	case http1.KOther:
		return h.Flags&http1.FConnOther != 0 && h.ConnectionNames(buf, hd.Name.Of(buf))
	}
	return false
}

// singleCL writes back the one Content-Length of a head whose identical repeated values
// were dropped, so that the next hop cannot read them differently.
func singleCL(out []byte, h *http1.Head) []byte {
	if h.Flags&(http1.FCLMulti|http1.FCLAndTE) != http1.FCLMulti {
		return out
	}
	out = append(out, "Content-Length: "...)
	out = strconv.AppendInt(out, h.ContentLength, 10)
	return append(out, "\r\n"...)
}

// rewriteRequest appends the head to send to the server.
func (cc *clientConn) rewriteRequest(out []byte, x *xfer) []byte {
	ex := cc.ex
	req, in := &ex.req, ex.in
	c := copier{src: in, start: int(req.MethodSp.Start), end: int(req.StartLineEnd)}
	ts, te := int(req.Target.Start), int(req.Target.End)
	if in[ts] != '/' && in[ts] != '*' { // absolute-form: without a default port, as HAProxy
		if i, j := http1.DefaultPortSpan(in[ts:te]); i < j {
			out = append(out, in[c.start:ts+i]...)
			c.start = ts + j
		}
	}
	if req.Has(http1.FNoVersion) { // HTTP/0.9 (accept-invalid-http-request): as HTTP/1.0, as HAProxy
		out = append(out, in[c.start:te]...)
		out = append(out, " HTTP/1.0\r\n"...)
		c.start = int(req.StartLineEnd)
	}
	ck := x.be.Cookie
	for i := 0; i < req.NHeaders; i++ {
		hd := &req.Headers[i]
		switch {
		case hd.Kind == http1.KUpgrade:
			if x.tunnelReq {
				out = c.keep(out, hd)
			} else {
				out = c.skip(out, hd)
			}
		case hopByHop(&req.Head, in, hd):
			out = c.skip(out, hd)
		case hd.Kind == http1.KCookie && ex.ckStrip:
			out = c.skip(out, hd)
			out = rewriteCookieHeader(out, in, hd, ck)
		default:
			out = c.keep(out, hd)
		}
	}
	out = c.flush(out)
	out = singleCL(out, &req.Head)
	ff := x.be.ForwardFor
	if ff == nil && cc.rs.fe != nil {
		ff = cc.rs.fe.ForwardFor
	}
	if ff != nil && cc.client.IsValid() && !(ff.Except.IsValid() && ff.Except.Contains(cc.client)) {
		name := ff.Header
		if name == "" {
			name = "X-Forwarded-For"
		}
		add := true
		if ff.IfNone { // if-none: a request that has the header keeps it alone
			_, has := req.Get(in, name)
			add = !has
		}
		if add {
			out = append(out, name...)
			out = append(out, ": "...)
			out = cc.client.AppendTo(out)
			out = append(out, "\r\n"...)
		}
	}
	switch {
	case x.tunnelReq:
		out = append(out, "Connection: upgrade\r\n"...)
	case x.mode != config.HTTPKeepAlive:
		out = append(out, "Connection: close\r\n"...)
	case req.Minor == 0:
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	return append(out, "\r\n"...)
}

// cookiePairs iterates the name=value pairs of a Cookie header value.
func nextCookie(v []byte) (name, val, rest []byte) {
	i := bytes.IndexByte(v, ';')
	pair := v
	if i >= 0 {
		pair, rest = v[:i], v[i+1:]
	}
	pair = bytes.TrimLeft(pair, " \t")
	pair = bytes.TrimRight(pair, " \t")
	if j := bytes.IndexByte(pair, '='); j >= 0 {
		return bytes.TrimRight(pair[:j], " \t"), bytes.TrimLeft(pair[j+1:], " \t"), rest
	}
	return pair, nil, rest
}

// analyzeCookies finds the persistence cookie in the request's Cookie headers: the
// server it names, and whether the headers must be rewritten before the server sees them
// (insert+indirect removes it, prefix strips "SERVER~").
func (cc *clientConn) analyzeCookies(ck *config.Cookie) {
	ex := cc.ex
	req, in := &ex.req, ex.in
	for i := 0; i < req.NHeaders; i++ {
		hd := &req.Headers[i]
		if hd.Kind != http1.KCookie {
			continue
		}
		for rest := hd.Value.Of(in); rest != nil; {
			var name, val []byte
			name, val, rest = nextCookie(rest)
			if string(name) != ck.Name {
				continue
			}
			switch ck.Mode {
			case config.CookiePrefix:
				if j := bytes.IndexByte(val, '~'); j >= 0 {
					ex.ckStrip = true
					if !ex.ckFound {
						ex.ckFound = true
						ex.ckSrvVal = spanOf(in, val[:j])
					}
				}
			default:
				if !ex.ckFound {
					srv := val
					if j := bytes.IndexByte(val, '|'); j >= 0 {
						srv = val[:j] // maxidle/maxlife dates follow a '|'
					}
					if ck.Mode == config.CookieInsert && (ck.MaxIdle > 0 || ck.MaxLife > 0) {
						ok, first, refresh := cookieDates(val[len(srv):], ck, cc.h.now())
						if !ok {
							break // expired or from the future: ignored, the request is balanced
						}
						ex.ckFirst, ex.ckRefresh = first, refresh
					}
					ex.ckFound = true
					ex.ckSrvVal = spanOf(in, srv)
				}
				if ck.Mode == config.CookieInsert && ck.Indirect {
					ex.ckStrip = true
				}
			}
		}
	}
}

// cookieDates checks the dates of an insert-mode cookie with maxidle/maxlife: dates is
// what follows the server id, "|LAST|FIRST" (Unix seconds; tandem's own format). A cookie
// without dates is accepted and gets them in the response, as HAProxy does; one idle
// longer than maxidle, older than maxlife, or dated more than 24h ahead is ignored. A
// valid cookie is refreshed once a quarter of maxidle has passed since it was last set.
func cookieDates(dates []byte, ck *config.Cookie, now time.Time) (ok bool, first int64, refresh bool) {
	if len(dates) == 0 || dates[0] != '|' {
		return true, 0, true
	}
	last, rest := leadingInt(dates[1:])
	if len(rest) > 0 && rest[0] == '|' {
		first, _ = leadingInt(rest[1:])
	}
	if last <= 0 {
		return true, 0, true // not a date of ours (another proxy's format): treat as undated
	}
	if first <= 0 {
		first = last
	}
	t := now.Unix()
	const skew = 24 * 60 * 60
	switch {
	case last > t+skew || first > t+skew:
		return false, 0, false
	case ck.MaxIdle > 0 && t-last > int64(ck.MaxIdle/time.Second):
		return false, 0, false
	case ck.MaxLife > 0 && t-first > int64(ck.MaxLife/time.Second):
		return false, 0, false
	}
	refresh = ck.MaxIdle > 0 && t-last >= max(int64(ck.MaxIdle/time.Second)/4, 1)
	return true, first, refresh
}

// leadingInt parses the decimal digits at the start of b.
func leadingInt(b []byte) (int64, []byte) {
	var n int64
	i := 0
	for ; i < len(b) && i < 18 && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + int64(b[i]-'0')
	}
	if i == 0 {
		return -1, b
	}
	return n, b[i:]
}

// spanOf returns the span of sub, a subslice of buf.
func spanOf(buf, sub []byte) http1.Span {
	if len(sub) == 0 {
		return http1.Span{}
	}
	off := int32(cap(buf) - cap(sub))
	return http1.Span{Start: off, End: off + int32(len(sub))}
}

// rewriteCookieHeader appends a Cookie header line without the persistence cookie
// (insert) or with its "SERVER~" prefix removed (prefix); nothing when no pair is left.
func rewriteCookieHeader(out, in []byte, hd *http1.Header, ck *config.Cookie) []byte {
	start := len(out)
	out = append(out, hd.Name.Of(in)...)
	out = append(out, ": "...)
	valStart := len(out)
	for rest := hd.Value.Of(in); rest != nil; {
		var name, val []byte
		name, val, rest = nextCookie(rest)
		if len(name) == 0 && len(val) == 0 {
			continue
		}
		if string(name) == ck.Name {
			if ck.Mode != config.CookiePrefix {
				continue
			}
			if j := bytes.IndexByte(val, '~'); j >= 0 {
				val = val[j+1:]
			}
		}
		if len(out) > valStart {
			out = append(out, "; "...)
		}
		out = append(out, name...)
		if val != nil {
			out = append(out, '=')
			out = append(out, val...)
		}
	}
	if len(out) == valStart {
		return out[:start]
	}
	return append(out, "\r\n"...)
}

// rewriteResponse appends the head to send to the client.
func (cc *clientConn) rewriteResponse(out []byte, x *xfer, tunnel bool) []byte {
	ex := cc.ex
	resp, sin := &ex.resp, ex.sin
	c := copier{src: sin, start: 0, end: int(resp.StartLineEnd)}
	ck := x.be.Cookie
	var cache cacheability
	for i := 0; i < resp.NHeaders; i++ {
		hd := &resp.Headers[i]
		switch {
		case hd.Kind == http1.KUpgrade:
			if tunnel {
				out = c.keep(out, hd)
			} else {
				out = c.skip(out, hd)
			}
		case hopByHop(&resp.Head, sin, hd):
			out = c.skip(out, hd)
		case resp.Status == 204 && (hd.Kind == http1.KContentLength || hd.Kind == http1.KTransferEncoding):
			out = c.skip(out, hd) // a 204 has no body: no framing (HAProxy drops them too)
		case hd.Kind == http1.KSetCookie && ck != nil:
			out = cc.setCookie(out, &c, hd, ck, x.srv)
		case hd.Kind == http1.KCacheControl:
			cache.cacheControl(hd.Value.Of(sin))
			out = c.keep(out, hd)
		case hd.Kind == http1.KExpires || hd.Kind == http1.KLastModified:
			cache.fresh = true
			out = c.keep(out, hd)
		case hd.Kind == http1.KPragma:
			if containsFold(hd.Value.Of(sin), "no-cache") {
				cache.private = true
			}
			out = c.keep(out, hd)
		default:
			out = c.keep(out, hd)
		}
	}
	out = c.flush(out)
	if resp.Status != 204 {
		out = singleCL(out, &resp.Head)
	}
	if ck != nil && ck.Mode == config.CookieInsert && (!ex.ckDirect || ex.ckRefresh) && x.srv.Cfg.Cookie != "" &&
		!(ex.ckRespHit && ck.Preserve) && resp.Status >= 200 {
		ex.ckInserted = true
		out = append(out, "Set-Cookie: "...)
		out = append(out, ck.Name...)
		out = append(out, '=')
		out = append(out, x.srv.Cfg.Cookie...)
		if ck.MaxIdle > 0 || ck.MaxLife > 0 {
			now := cc.h.now().Unix()
			first := ex.ckFirst
			if !ex.ckDirect || first == 0 {
				first = now
			}
			out = append(out, '|')
			out = strconv.AppendInt(out, now, 10)
			out = append(out, '|')
			out = strconv.AppendInt(out, first, 10)
		}
		out = append(out, "; path=/"...)
		for _, d := range ck.Domains {
			out = append(out, "; domain="...)
			out = append(out, d...)
		}
		if ck.HTTPOnly {
			out = append(out, "; HttpOnly"...)
		}
		if ck.Secure {
			out = append(out, "; Secure"...)
		}
		out = append(out, "\r\n"...)
		if ck.NoCache && cache.cacheable(ex.req.Method, resp.Status) {
			out = append(out, "Cache-Control: private\r\n"...)
		}
	}
	switch {
	case tunnel:
		out = append(out, "Connection: upgrade\r\n"...)
	case !x.clientKeep:
		out = append(out, "Connection: close\r\n"...)
	case ex.req.Minor == 0 || resp.Minor == 0:
		// an HTTP/1.0 side keeps the connection only when told (HAProxy says it too)
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	return append(out, "\r\n"...)
}

// setCookie handles a server's Set-Cookie: the persistence cookie is removed (insert, or
// indirect on a request that came by cookie), rewritten (rewrite) or prefixed (prefix),
// unless preserve.
func (cc *clientConn) setCookie(out []byte, c *copier, hd *http1.Header, ck *config.Cookie, srv *backend.Server) []byte {
	ex := cc.ex
	v := hd.Value.Of(ex.sin)
	eq := bytes.IndexByte(v, '=')
	if eq < 0 || string(bytes.TrimRight(v[:eq], " \t")) != ck.Name {
		return c.keep(out, hd)
	}
	ex.ckRespHit = true
	switch {
	case ck.Preserve:
		return c.keep(out, hd)
	case ck.Mode == config.CookieInsert || (ck.Indirect && ex.ckDirect):
		return c.skip(out, hd)
	case srv.Cfg.Cookie == "":
		return c.keep(out, hd)
	}
	out = c.skip(out, hd)
	val := bytes.TrimLeft(v[eq+1:], " \t")
	end := bytes.IndexByte(val, ';')
	if end < 0 {
		end = len(val)
	}
	out = append(out, hd.Name.Of(ex.sin)...)
	out = append(out, ": "...)
	out = append(out, ck.Name...)
	out = append(out, '=')
	out = append(out, srv.Cfg.Cookie...)
	if ck.Mode == config.CookiePrefix {
		out = append(out, '~')
		out = append(out, val[:end]...)
	}
	out = append(out, val[end:]...)
	return append(out, "\r\n"...)
}

// containsFold reports whether v contains the lower-case ASCII word w, ignoring case.
func containsFold(v []byte, w string) bool {
	for i := 0; i+len(w) <= len(v); i++ {
		if http1.EqualFold(v[i:i+len(w)], w) {
			return true
		}
	}
	return false
}

// cacheability is what a response says about being stored by a shared cache. With
// `nocache`, HAProxy 2.6 marks an inserted cookie's response private only when a cache
// could store it: a GET or HEAD, a status cacheable by default, an explicit freshness
// (Expires, Last-Modified, max-age or s-maxage above 0) and nothing making it private
// already (private, no-store, bare no-cache, a zero max-age, Pragma: no-cache).
// (Observed behaviour of HAProxy 2.6, as tested in TestCookieNocacheLikeHAProxy.)
type cacheability struct {
	fresh, private bool
}

func (c *cacheability) cacheControl(v []byte) {
	for rest := v; rest != nil; {
		var tok []byte
		tok, rest = http1.NextToken(rest)
		name, arg := tok, []byte(nil)
		if i := bytes.IndexByte(tok, '='); i >= 0 {
			name, arg = tok[:i], tok[i+1:]
		}
		switch {
		case http1.EqualFold(name, "private"), http1.EqualFold(name, "no-store"):
			c.private = true
		case http1.EqualFold(name, "no-cache"):
			if arg == nil {
				c.private = true
			}
		case http1.EqualFold(name, "max-age"), http1.EqualFold(name, "s-maxage"):
			if n, err := strconv.Atoi(string(bytes.Trim(arg, `"`))); err == nil && n > 0 {
				c.fresh = true
			} else {
				c.private = true
			}
		}
	}
}

func (c *cacheability) cacheable(m http1.Method, status int) bool {
	if m != http1.MethodGET && m != http1.MethodHEAD || c.private || !c.fresh {
		return false
	}
	switch status {
	case 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}
