package tcpproxy

import (
	"net/netip"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/http1"
	"tandem/internal/sample"
	"tandem/internal/tlsconf"
)

// forConn returns the route of one new connection of h: r itself unless the frontend's
// use_backend rules choose a pool per connection, then a copy naming the pool the
// first matching rule picks (default_backend when none does; nil Pool: no backend).
// The config accepts only rules on connection fetches (src, dst, dst_port…) in mode
// tcp, so client and local addresses are all they read.
// conn is the client connection for the TLS fetches (nil: a plain socket).
func (r *Route) forConn(client, local netip.AddrPort, h *Handler, conn any) *Route {
	fe := r.Frontend
	if fe == nil || r.Backends == nil || !hasRules(fe.UseBackends) {
		return r
	}
	t := &connTxn{src: client, dst: local, backends: r.Backends, fe: fe.Name, conn: conn}
	if h != nil {
		t.active = h.Active()
	}
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

// connTxn is a connection seen by the sample language: addresses only.
type connTxn struct {
	src, dst netip.AddrPort
	backends map[string]*backend.Pool
	fe       string // the frontend's name and its open connections, for fe_conn
	active   int
	st       sample.State
	conn     any              // the client connection, read by TLSFacts
	tls      *sample.TLSFacts // its TLS facts, once read
	tlsRead  bool
}

// TLSFacts reads the connection's TLS facts on first use (sample.TLSTxn).
func (t *connTxn) TLSFacts() *sample.TLSFacts {
	if !t.tlsRead {
		t.tls, t.tlsRead = tlsconf.FactsOf(t.conn), true
	}
	return t.tls
}

func (t *connTxn) Addrs() (netip.AddrPort, netip.AddrPort) { return t.src, t.dst }
func (t *connTxn) Request() (*http1.Request, []byte)       { return nil, nil }
func (t *connTxn) Response() (*http1.Response, []byte)     { return nil, nil }
func (t *connTxn) Payload() []byte                         { return nil }
func (t *connTxn) State() *sample.State                    { return &t.st }

func (t *connTxn) Counter(c sample.Counter, proxy, server string) (int64, bool) {
	if c == sample.FeConn {
		if proxy == "" || proxy == t.fe {
			return int64(t.active), true
		}
		return 0, false // another frontend's figure is not reachable from here
	}
	p := t.backends[proxy]
	if p == nil {
		return 0, false
	}
	switch c {
	case sample.NbSrv:
		a, b := p.CountUsable()
		if a > 0 {
			return int64(a), true
		}
		return int64(b), true
	case sample.BeConn:
		return int64(p.Conns()), true
	case sample.SrvIsUp, sample.SrvConn:
		for _, s := range p.Servers {
			if s.Cfg.Name == server {
				if c == sample.SrvConn {
					return s.Cur(), true
				}
				if s.Usable() {
					return 1, true
				}
				return 0, true
			}
		}
	}
	return 0, false
}
