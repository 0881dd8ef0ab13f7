package daemon

import (
	"fmt"
	"net/netip"
	"slices"

	"tandem/internal/backend"
)

// FrontendBound reports whether every bind address of frontend name is listening.
func (d *Daemon) FrontendBound(name string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return false, nil
	}
	f := d.fronts[name]
	if f == nil {
		return false, fmt.Errorf("no frontend %q in the running configuration", name)
	}
	if len(f.cfg.Load().Binds) == 0 {
		return false, nil
	}
	for _, b := range f.cfg.Load().Binds {
		a := d.acceptorOf(b)
		if a == nil || a.target.Load() != f {
			return false, nil
		}
		select {
		case <-a.done: // its socket failed or closed
			return false, nil
		default:
		}
	}
	return true, nil
}

// BackendUp returns how many servers of backend name can take traffic (up, not in
// maintenance, not disabled; draining ones count as up) and how many it has.
func (d *Daemon) BackendUp(name string) (up, total int, err error) {
	d.mu.Lock()
	p := d.pools[name]
	d.mu.Unlock()
	if p == nil {
		return 0, 0, fmt.Errorf("no backend %q in the running configuration", name)
	}
	for _, s := range p.Servers {
		if s.Up() && s.Admin() != backend.AdminMaint && !s.Cfg.Disabled {
			up++
		}
	}
	return up, len(p.Servers), nil
}

// SessionsOn returns how many connections the frontends with a bind on one of addrs
// have accepted, and false when no frontend binds one of them (a wildcard bind does
// not count: it cannot tell which address a client reached). A new VRRP master polls
// it to time the first connection served on its VIPs.
func (d *Daemon) SessionsOn(addrs []netip.Addr) (uint64, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var n uint64
	found := false
	for _, f := range d.fronts {
		for _, b := range f.cfg.Load().Binds {
			if b.Any || !slices.Contains(addrs, b.Addr.Addr().Unmap()) {
				continue
			}
			n += f.stats.Sessions()
			found = true
			break
		}
	}
	return n, found
}
