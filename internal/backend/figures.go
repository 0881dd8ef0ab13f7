package backend

import "tandem/internal/sample"

// Figure answers the backend and server figures of the sample language (nbsrv,
// be_conn, srv_is_up, srv_conn) for pool p; server names one of its servers. ok is false
// for a figure the pool does not hold or a server it does not have.
func (p *Pool) Figure(c sample.Counter, server string) (n int64, ok bool) {
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
