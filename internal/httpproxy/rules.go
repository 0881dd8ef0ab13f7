package httpproxy

import (
	"net/netip"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/http1"
	"tandem/internal/sample"
	"tandem/internal/tlsconf"
)

// routeRule is a use_backend rule with its pool resolved once per route.
type routeRule struct {
	cond *sample.Cond
	pool *backend.Pool     // a fixed name
	name *sample.LogFormat // a dynamic name (pool nil)
}

// compileRules sets rs.pool when every request of the frontend goes to one pool (no
// rule, or a first rule that always applies: nothing to evaluate per request), else
// rs.rules and rs.defPool.
func (rs *routeState) compileRules(r *Route) {
	fe := r.Frontend
	var def *backend.Pool
	if fe.DefaultBackend != nil {
		def = r.Backends[fe.DefaultBackend.Name]
	}
	if def == nil {
		def = r.Default
	}
	var rules []routeRule
	for _, ub := range fe.UseBackends {
		rr := routeRule{cond: ub.Cond, name: ub.Name}
		if ub.Name == nil {
			if ub.Backend == nil || r.Backends[ub.Backend.Name] == nil {
				continue
			}
			rr.pool = r.Backends[ub.Backend.Name]
		}
		rules = append(rules, rr)
		if rr.cond == nil && rr.name == nil {
			break // the rules after an unconditional one are never reached
		}
	}
	switch {
	case len(rules) == 0:
		rs.pool = def
	case rules[0].cond == nil && rules[0].name == nil:
		rs.pool = rules[0].pool
	default:
		rs.rules, rs.defPool = rules, def
	}
}

// choosePool runs the use_backend rules over the current request: the first rule whose
// condition matches names the pool; a dynamic name that names no HTTP backend sends the
// request to the default backend without trying later rules (HAProxy 2.6).
func (cc *clientConn) choosePool() *backend.Pool {
	rs, ex := cc.rs, cc.ex
	t := &ex.txn // started by exchange (startTxn): http-request rules may have set variables
	for i := range rs.rules {
		ru := &rs.rules[i]
		if !ru.cond.Match(t) {
			continue
		}
		if ru.name == nil {
			return ru.pool
		}
		ex.nameBuf = ru.name.Append(ex.nameBuf[:0], t)
		if p := rs.r.Backends[unsafeString(ex.nameBuf)]; p != nil && p.Cfg.Mode == config.ModeHTTP {
			return p
		}
		return rs.defPool
	}
	return rs.defPool
}

// ruleTxn is the current exchange seen by the sample language (sample.Txn). It lives in
// the exchange, so handing it out as an interface allocates nothing.
type ruleTxn struct {
	cc   *clientConn
	resp bool // in a response phase: Response returns the parsed response head
	tcp  bool // tcp-request content rules run: track-sc does not count the request
	// bare: neither message is there any more (a response rule's own answer is being
	// built after the server's response was dropped, as in HAProxy)
	bare bool
	st   sample.State
}

// startTxn readies the exchange's sample.Txn and the message the HTTP actions edit for
// the request just parsed, before any rule of the request runs. The exchange is pooled
// across connections: its variables are forgotten, and sess. variables are those of
// cc's connection (conn.sess), which last as long as it does, as HAProxy's session.
func (ex *exchange) startTxn(cc *clientConn) {
	t := &ex.txn
	t.cc = cc
	t.resp = false
	t.st.ResetAll()
	t.st.BindSession(&cc.conn.sess)
	ex.msg.Request(&ex.req, ex.in)
}

// TLSFacts reads the client connection's TLS facts on first use (sample.TLSTxn). TLS
// connections are never parked, so the clientConn lasts as long as the connection.
func (t *ruleTxn) TLSFacts() *sample.TLSFacts {
	cc := t.cc
	if !cc.tlsRead {
		cc.tls, cc.tlsRead = tlsconf.FactsOf(cc.nc), true
	}
	return cc.tls
}

func (t *ruleTxn) Addrs() (src, dst netip.AddrPort) { return t.cc.src, t.cc.dst }

// Request is the request head, nil in a response phase: as in HAProxy, the request's
// contents are gone once it is forwarded. While a rule edits the head (actions.go),
// its spans index the rebuilt head in msg.
func (t *ruleTxn) Request() (*http1.Request, []byte) {
	ex := t.cc.ex
	if t.resp {
		return nil, nil
	}
	if ex.msg.Edited {
		return &ex.req, ex.msg.Buf
	}
	return &ex.req, ex.in
}

// Response is the response head in a response phase. Once the rules' message points
// at it (http-response, and http-after-response on the server's response or on one the
// proxy made itself), its spans index the message's buffer: sin, a rebuilt head, or the
// proxy's own page; before that (stick store-response) they index sin.
func (t *ruleTxn) Response() (*http1.Response, []byte) {
	if !t.resp || t.bare {
		return nil, nil
	}
	ex := t.cc.ex
	if ex.msg.Resp != nil {
		return &ex.resp, ex.msg.Buf
	}
	return &ex.resp, ex.sin
}

// Payload is the request bytes in the buffer: the head and what came of the body.
func (t *ruleTxn) Payload() []byte {
	ex := t.cc.ex
	return ex.in[:ex.inLen]
}

func (t *ruleTxn) State() *sample.State { return &t.st }

// Counter answers nbsrv(), srv_is_up(), be_conn(), srv_conn() and fe_conn() from the
// live pools of the route.
func (t *ruleTxn) Counter(c sample.Counter, proxy, server string) (int64, bool) {
	cc := t.cc
	rs := cc.rs
	if c == sample.FeConn {
		if proxy == "" || proxy == rs.fe.Name {
			return int64(cc.h.Active()), true
		}
		return 0, false // another frontend's figure is not reachable from here
	}
	var p *backend.Pool
	if proxy == "" {
		p = cc.ex.x.pool
	} else {
		p = rs.r.Backends[proxy]
	}
	if p == nil {
		return 0, false
	}
	return p.Figure(c, server)
}
