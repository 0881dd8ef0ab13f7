package tcpproxy

import (
	"errors"
	"net/netip"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/http1"
	"tandem/internal/sample"
	"tandem/internal/stick"
	"tandem/internal/tlsconf"
	"tandem/internal/track"
)

// forConn returns the route of one new connection of h: r itself unless the frontend's
// use_backend rules choose a pool per connection, then a copy naming the pool the
// first matching rule picks (default_backend when none does; nil Pool: no backend).
// The config accepts only rules on connection fetches (src, dst, dst_port…) in mode
// tcp, so client and local addresses are all they read.
// conn is the client connection for the TLS fetches (nil: a plain socket).
func (r *Route) forConn(client, local netip.AddrPort, h *Handler, conn any) *Route {
	if !r.perConn {
		return r
	}
	return r.forTxn(r.newTxn(client, local, h, conn))
}

// newTxn returns the sample.Txn of a new connection of h; conn is the client
// connection, read by the TLS fetches (nil: a plain socket).
func (r *Route) newTxn(client, local netip.AddrPort, h *Handler, conn any) *connTxn {
	t := &connTxn{src: client, dst: local, backends: r.Backends, tables: r.Tables, conn: conn, pool: r.own}
	if r.Frontend != nil {
		t.fe = r.Frontend.Name
	}
	if h != nil {
		t.active = h.Active()
	}
	return t
}

// forTxn is forConn over a connection's Txn (its first bytes read by inspect).
func (r *Route) forTxn(t *connTxn) *Route {
	if !r.perConn {
		return r
	}
	fe := r.Frontend
	pick := r.Pool
	if fe.DefaultBackend != nil {
		pick = r.Backends[fe.DefaultBackend.Name]
	}
	for _, ub := range fe.UseBackends {
		if !ub.Cond.Match(t) {
			continue
		}
		if ub.Name != nil {
			name := ub.Name.Append(nil, t)
			if p := r.Backends[string(name)]; p != nil && p.Cfg.Mode == fe.Mode {
				pick = p
			}
			break
		}
		if ub.Backend != nil {
			pick = r.Backends[ub.Backend.Name]
		}
		break
	}
	if pick == r.Pool {
		return r
	}
	c := *r
	c.Pool = pick
	return &c
}

// hasRules reports whether the choice depends on the connection.
func hasRules(ubs []config.UseBackend) bool {
	for _, ub := range ubs {
		if ub.Cond != nil || ub.Name != nil {
			return true
		}
	}
	return false
}

// connTxn is a connection seen by the sample language: its addresses, the first bytes
// tcp-request content rules read, and its stick counters.
type connTxn struct {
	conn     any              // the client connection, read by TLSFacts
	tls      *sample.TLSFacts // its TLS facts, once read
	tlsRead  bool
	src, dst netip.AddrPort
	backends map[string]*backend.Pool
	// pool is the backend whose figures fetches without a backend name read (nbsrv,
	// be_conn, srv_is_up(SERVER)…): the one the running rules belong to, a listen
	// section's own for the frontend's rules (HAProxy refuses them in a frontend)
	pool       *backend.Pool
	fe         string // the frontend's name and its open connections, for fe_conn
	active     int
	st         sample.State
	payload    []byte                  // the client's bytes read by inspect, not yet forwarded
	tables     map[string]*stick.Table // live stick tables by name
	trk        *track.Session          // nil until a rule tracks
	atConn     bool                    // tcp-request connection/session rules run
	drop       bool                    // a silent-drop rule refused the connection
	resPayload []byte                  // the server's bytes tcp-response rules read
	// the request head parsed out of payload (Request), for len(payload) == reqLen
	req            *http1.Request
	reqLen         int
	reqOK, reqMore bool
}

// TLSFacts reads the connection's TLS facts on first use (sample.TLSTxn).
func (t *connTxn) TLSFacts() *sample.TLSFacts {
	if !t.tlsRead {
		t.tls, t.tlsRead = tlsconf.FactsOf(t.conn), true
	}
	return t.tls
}

func (t *connTxn) Addrs() (netip.AddrPort, netip.AddrPort) { return t.src, t.dst }

// Request parses the request head out of the bytes content rules read, as HAProxy's
// HTTP fetches do in mode tcp: nil until a whole head is there (and then the answer
// may still change: content rules wait for more bytes).
func (t *connTxn) Request() (*http1.Request, []byte) {
	if len(t.payload) == 0 {
		t.st.MayChange()
		return nil, nil
	}
	if t.reqLen != len(t.payload) {
		t.reqLen, t.reqOK = len(t.payload), false
		if t.req == nil {
			t.req = new(http1.Request)
		}
		switch err := t.req.Parse(t.payload); {
		case err == nil:
			t.reqOK = true
		case errors.Is(err, http1.ErrNeedMore):
			t.reqMore = true
		default:
			t.reqMore = false
		}
	}
	if !t.reqOK {
		if t.reqMore {
			t.st.MayChange()
		}
		return nil, nil
	}
	return t.req, t.payload
}
func (t *connTxn) Response() (*http1.Response, []byte) { return nil, nil }
func (t *connTxn) Payload() []byte                     { return t.payload }
func (t *connTxn) ResPayload() []byte                  { return t.resPayload }
func (t *connTxn) State() *sample.State                { return &t.st }

func (t *connTxn) Counter(c sample.Counter, proxy, server string) (int64, bool) {
	if c == sample.FeConn {
		if proxy == "" || proxy == t.fe {
			return int64(t.active), true
		}
		return 0, false // another frontend's figure is not reachable from here
	}
	p := t.pool
	if proxy != "" {
		p = t.backends[proxy]
	}
	if p == nil {
		return 0, false
	}
	return p.Figure(c, server)
}
