package sample

// This file evaluates conditions over request contents that are still arriving
// (tcp-request content rules during tcp-request inspect-delay), as HAProxy 2.6's
// three-valued ACL results: a fetch that reads what may still grow (req.len,
// req.payload, wait_end, …) and does not match yet answers "miss" rather than "no",
// and the rule waits for more bytes until State.WaitEnd.

// result is an ACL result: fail, miss (may change with more data) or pass.
type result uint8

const (
	resFail result = 0
	resMiss result = 1
	resPass result = 3
)

// MatchMore evaluates the condition over t like Match, but reports wait when the
// answer may still change: State.WaitEnd is false and an ACL did not match on a fetch
// that said its answer may change with more bytes (req.len; req.payload, wait_end and
// registered MayChange fetches while they have no answer). A nil Cond matches.
func (c *Cond) MatchMore(t Txn) (match, wait bool) { return c.eval(t, true) }

// eval evaluates the condition; with more, an ACL that fails on a fetch whose answer
// may change is a miss (Match has only pass and fail).
func (c *Cond) eval(t Txn, more bool) (match, wait bool) {
	if c == nil {
		return true, false
	}
	st := t.State()
	st.scratch = st.scratch[:0]
	res := resFail
	for _, g := range c.groups {
		suite := resPass
		for i := range g {
			tm := &g[i]
			r := resFail
			for _, a := range tm.acls {
				st.mayChange = false
				if a.match(t, st) {
					r = resPass
					break
				}
				if more && st.mayChange && !st.WaitEnd {
					r = resMiss
				}
			}
			if tm.neg && r != resMiss {
				r ^= resPass
			}
			suite &= r
			if suite != resPass {
				break // a fail or a miss ends the suite, as in HAProxy
			}
		}
		res |= suite
		if res == resPass {
			break
		}
	}
	if res == resMiss {
		return false, true
	}
	return (res == resPass) != c.unless, false
}

// ReadsPayload reports whether the condition reads the raw request bytes (req.len,
// req.payload, …: HAProxy's L6 fetches, which it ignores on HTTP proxies).
func (c *Cond) ReadsPayload() bool {
	if c == nil {
		return false
	}
	for _, g := range c.groups {
		for _, tm := range g {
			for _, a := range tm.acls {
				if a.expr.f.payload {
					return true
				}
			}
		}
	}
	return false
}

// ReadsPayload reports whether the expression's fetch reads the raw request bytes.
func (e *Expr) ReadsPayload() bool { return e != nil && e.f.payload }

// ResPayloader is what a Txn of tcp-response content rules also implements: the
// response bytes received so far and not yet forwarded (res.len, res.payload()).
type ResPayloader interface {
	ResPayload() []byte
}

func resPayload(t Txn) []byte {
	if r, ok := t.(ResPayloader); ok {
		return r.ResPayload()
	}
	return nil
}

func fetchResLen(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	t.State().mayChange = true // more bytes may come
	return Int(int64(len(resPayload(t)))), true
}

func fetchResPayload(t Txn, a []arg, _ *cursor) (v Value, ok bool) {
	p := resPayload(t)
	off, n := a[0].i, a[1].i
	if off < 0 || n < 0 || off > int64(len(p)) {
		t.State().mayChange = true
		return v, false
	}
	if n == 0 {
		n = int64(len(p)) - off
	}
	if off+n > int64(len(p)) {
		t.State().mayChange = true
		return v, false // not all there (yet)
	}
	return Value{Type: TBin, B: p[off : off+n]}, true
}
