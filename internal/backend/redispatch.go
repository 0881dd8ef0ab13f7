package backend

import (
	"context"

	"tandem/internal/balance"
)

// exceptView is a view in which one server weighs nothing.
type exceptView struct {
	v    *view
	skip *Server
}

func (e exceptView) Len() int { return e.v.Len() }
func (e exceptView) Weight(i int) int {
	if (*e.v)[i] == e.skip {
		return 0
	}
	return e.v.Weight(i)
}
func (e exceptView) Load(i int) (int, bool) { return e.v.Load(i) }

// AcquireOther is Acquire for a redispatch: it picks a server other than avoid (the one
// that just failed), as HAProxy does. When avoid is the only usable server it returns
// ErrNoServer and the caller keeps trying avoid; when the other candidates are all full
// it waits in the queue as Acquire does.
func (p *Pool) AcquireOther(ctx context.Context, r *balance.Request, avoid *Server) (*Server, error) {
	if avoid == nil {
		return p.Acquire(ctx, r)
	}
	others := false
	try := func(v *view, sel balance.Selector) *Server {
		ev := exceptView{v, avoid}
		for range 3 {
			i := sel.Select(ev, r)
			if i < 0 {
				break
			}
			if s := (*v)[i]; s != avoid && s.take(s.limit()) {
				return s
			}
		}
		for _, s := range *v {
			if s != avoid && s.lbWeight() > 0 {
				others = true
			}
		}
		return nil
	}
	s := try(&p.actives, p.activeSel)
	// Backups serve only when no active is usable, the failed one included.
	if s == nil && !others && len(p.backups) > 0 && !(!avoid.Cfg.Backup && avoid.lbWeight() > 0) {
		if p.allBackups.Load() {
			s = try(&p.backups, p.backupSel)
		} else {
			for _, b := range p.backups {
				if b != avoid && b.lbWeight() > 0 {
					others = true
					if b.take(b.limit()) {
						s = b
					}
					break
				}
			}
		}
	}
	if s != nil {
		p.enter() // a second slot for the session until the caller releases avoid
		s.Total.Add(1)
		s.LBTotal.Add(1)
		return s, nil
	}
	if !others {
		return nil, ErrNoServer
	}
	return p.Acquire(ctx, r) // every other candidate is full: queue like any request
}
