package sample

import (
	"bytes"

	"tandem/internal/http1"
)

func fetchConstBool(b bool) fetchFn {
	return func(_ Txn, _ []arg, _ *cursor) (v Value, ok bool) { v = Bool(b); return v, true }
}

func fetchInt(_ Txn, a []arg, _ *cursor) (v Value, ok bool) { v = Int(a[0].i); return v, true }

func fetchStr(_ Txn, a []arg, _ *cursor) (v Value, ok bool) {
	v = Value{Type: TStr, B: unsafeBytes(a[0].s)}
	return v, true
}

func fetchBoolArg(_ Txn, a []arg, _ *cursor) (v Value, ok bool) {
	v = Bool(a[0].i != 0)
	return v, true
}

func fetchVar(t Txn, a []arg, _ *cursor) (v Value, ok bool) {
	if x, ok := t.State().Var(a[0].scope, a[0].s); ok {
		v = x
		return v, true
	}
	if a[1].set {
		v = Value{Type: TStr, B: unsafeBytes(a[1].s)}
		return v, true
	}
	return v, false
}

func fetchWaitEnd(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	if !t.State().WaitEnd {
		t.State().mayChange = true
		return v, false
	}
	v = Bool(true)
	return v, true
}

func fetchSrc(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	src, _ := t.Addrs()
	if !src.IsValid() {
		return v, false
	}
	v = IP(src.Addr())
	return v, true
}

func fetchSrcPort(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	src, _ := t.Addrs()
	if !src.IsValid() {
		return v, false
	}
	v = Int(int64(src.Port()))
	return v, true
}

func fetchDst(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	_, dst := t.Addrs()
	if !dst.IsValid() {
		return v, false
	}
	v = IP(dst.Addr())
	return v, true
}

func fetchDstPort(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	_, dst := t.Addrs()
	if !dst.IsValid() {
		return v, false
	}
	v = Int(int64(dst.Port()))
	return v, true
}

func fetchCounter(c Counter) fetchFn {
	return func(t Txn, a []arg, _ *cursor) (v Value, ok bool) {
		n, ok := t.Counter(c, a[0].s, "")
		if !ok {
			return v, false
		}
		v = Int(n)
		return v, true
	}
}

func splitServerRef(s string) (be, srv string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:]
		}
	}
	return "", s
}

func fetchSrvIsUp(t Txn, a []arg, _ *cursor) (v Value, ok bool) {
	be, srv := splitServerRef(a[0].s)
	n, ok := t.Counter(SrvIsUp, be, srv)
	if !ok {
		return v, false
	}
	v = Bool(n != 0)
	return v, true
}

func fetchSrvConn(t Txn, a []arg, _ *cursor) (v Value, ok bool) {
	be, srv := splitServerRef(a[0].s)
	n, ok := t.Counter(SrvConn, be, srv)
	if !ok {
		return v, false
	}
	v = Int(n)
	return v, true
}

func fetchReqLen(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	t.State().mayChange = true // more bytes may come
	v = Int(int64(len(t.Payload())))
	return v, true
}

func fetchPayload(t Txn, a []arg, _ *cursor) (v Value, ok bool) {
	p := t.Payload()
	off, n := a[0].i, a[1].i
	if off < 0 || n < 0 || off > int64(len(p)) {
		return v, false
	}
	if n == 0 {
		n = int64(len(p)) - off
	}
	if off+n > int64(len(p)) {
		t.State().mayChange = true
		return v, false // not all there (yet)
	}
	v = Value{Type: TBin, B: p[off : off+n]}
	return v, true
}

// fetchRDPCookieCnt counts the "Cookie: mstshash=" line of an RDP connection request.
func fetchRDPCookieCnt(t Txn, a []arg, _ *cursor) (v Value, ok bool) {
	p := t.Payload()
	n := 0
	if i := bytes.Index(p, []byte("Cookie: ")); i >= 0 && bytes.Contains(p[i:], []byte("\r\n")) {
		rest := p[i+8:]
		if !a[0].set || bytes.HasPrefix(rest, []byte(a[0].s+"=")) {
			n = 1
		}
	}
	if n == 0 {
		t.State().mayChange = true // the cookie may still come
	}
	v = Int(int64(n))
	return v, true
}

func fetchProtoHTTP(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	if r, _ := t.Request(); r != nil {
		return Bool(true), true
	}
	// Mode tcp: whether the first bytes parse as an HTTP request head; an incomplete
	// head may still become one, bytes that cannot start a method never do.
	p := t.Payload()
	method := p
	if sp := bytes.IndexByte(p, ' '); sp >= 0 {
		method = p[:sp]
	}
	if len(p) > 0 && !http1.IsToken(method) {
		return Bool(false), true
	}
	if http1.EndOfHead(p) < 0 {
		t.State().mayChange = true
		return v, false
	}
	var r http1.Request
	return Bool(r.Parse(p) == nil), true
}

var verStrings = [...]string{"1.0", "1.1"}

func fetchReqVer(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	r, _ := t.Request()
	if r == nil || r.Minor > 1 {
		return v, false
	}
	v = Value{Type: TStr, B: unsafeBytes(verStrings[r.Minor])}
	return v, true
}

func fetchResVer(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	r, _ := t.Response()
	if r == nil || r.Minor > 1 {
		return v, false
	}
	v = Value{Type: TStr, B: unsafeBytes(verStrings[r.Minor])}
	return v, true
}

func fetchMethod(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	r, buf := t.Request()
	if r == nil {
		return v, false
	}
	v = Value{Type: TMeth, I: int64(r.Method), B: r.MethodSp.Of(buf)}
	return v, true
}

func fetchStatus(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	r, _ := t.Response()
	if r == nil {
		return v, false
	}
	v = Int(int64(r.Status))
	return v, true
}

// pathOf returns the path of a request target (from its first '/', through the
// query when withQuery), for origin and absolute forms.
func pathOf(target []byte, withQuery bool) ([]byte, bool) {
	p := target
	if len(p) == 0 {
		return nil, false
	}
	if p[0] != '/' {
		i := bytes.Index(p, []byte("://"))
		if i < 0 {
			return nil, false
		}
		j := bytes.IndexByte(p[i+3:], '/')
		if j < 0 {
			return nil, false
		}
		p = p[i+3+j:]
	}
	if !withQuery {
		if q := bytes.IndexByte(p, '?'); q >= 0 {
			p = p[:q]
		}
	}
	return p, true
}

func fetchPath(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	r, buf := t.Request()
	if r == nil {
		return v, false
	}
	p, ok := pathOf(r.Target.Of(buf), false)
	v = Value{Type: TStr, B: p}
	return v, ok
}

func fetchPathQ(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	r, buf := t.Request()
	if r == nil {
		return v, false
	}
	p, ok := pathOf(r.Target.Of(buf), true)
	v = Value{Type: TStr, B: p}
	return v, ok
}

func fetchURL(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	r, buf := t.Request()
	if r == nil {
		return v, false
	}
	v = Value{Type: TStr, B: r.Target.Of(buf)}
	return v, true
}

func fetchQuery(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	r, buf := t.Request()
	if r == nil {
		return v, false
	}
	u := r.Target.Of(buf)
	q := bytes.IndexByte(u, '?')
	if q < 0 {
		return v, false
	}
	v = Value{Type: TStr, B: u[q+1:]}
	return v, true
}

// fetchBase is the first Host header's value followed by the path.
func fetchBase(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	r, buf := t.Request()
	if r == nil {
		return v, false
	}
	p, ok := pathOf(r.Target.Of(buf), false)
	if !ok {
		return v, false
	}
	host, _ := r.Get(buf, "host")
	if len(host) == 0 {
		v = Value{Type: TStr, B: p}
		return v, true
	}
	st := t.State()
	out := st.grow(len(host) + len(p))
	copy(out, host)
	copy(out[len(host):], p)
	v = Value{Type: TStr, B: out}
	return v, true
}

// nextURLParam walks the parameters of the query string, which starts after the first
// delim ('?' unless given) and whose parameters end at '&', ';' or delim: it returns the
// value of the next parameter named name (any name when name is "") with a '=',
// starting at offset cur.off of the target.
func nextURLParam(u []byte, name string, delim byte, cur *cursor) ([]byte, bool) {
	start := cur.off
	if start == 0 {
		if delim == 0 {
			delim = '?'
		}
		q := bytes.IndexByte(u, delim)
		if q < 0 {
			return nil, false
		}
		start = q + 1
	}
	for start <= len(u) {
		end := start
		for end < len(u) && u[end] != '&' && u[end] != ';' && (delim == 0 || u[end] != delim) {
			end++
		}
		p := u[start:end]
		cur.off = end + 1
		if eq := bytes.IndexByte(p, '='); eq >= 0 && (name == "" || string(p[:eq]) == name) {
			cur.more = cur.off <= len(u)
			return p[eq+1:], true
		}
		if end >= len(u) {
			break
		}
		start = end + 1
	}
	cur.more = false
	return nil, false
}

func fetchURLParam(t Txn, a []arg, cur *cursor) (v Value, ok bool) {
	r, buf := t.Request()
	if r == nil {
		return v, false
	}
	var delim byte
	if a[1].set && len(a[1].s) > 0 {
		delim = a[1].s[0]
	}
	p, ok := nextURLParam(r.Target.Of(buf), a[0].s, delim, cur)
	if !cur.all {
		cur.more = false
	}
	v = Value{Type: TStr, B: p}
	return v, ok
}

func fetchURLParamVal(t Txn, a []arg, cur *cursor) (v Value, ok bool) {
	if v, ok = fetchURLParam(t, a, cur); !ok {
		return v, false
	}
	v = Int(atoi(v.B))
	return v, true
}

// atoi reads a leading decimal integer as HAProxy's strl2ic: optional sign, digits,
// stops at the first other byte.
func atoi(b []byte) int64 {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		return -n
	}
	return n
}

// headOf returns the head a header fetch reads in the direction d.
func headOf(t Txn, d dir) (*http1.Head, []byte) {
	if d == dirRes || d == dirAuto {
		if r, buf := t.Response(); r != nil {
			return &r.Head, buf
		}
		if d == dirRes {
			return nil, nil
		}
	}
	if r, buf := t.Request(); r != nil {
		return &r.Head, buf
	}
	return nil, nil
}

type dir uint8

const (
	dirReq dir = iota
	dirRes
	dirAuto // hdr(): the response in a response phase, else the request
)
