package keepalived

import (
	"strconv"

	"tandem/internal/config"
)

// CrossCheck relates the haproxy.cfg and keepalived.conf one tandem runs
// (`tandem -c -f haproxy.cfg -k keepalived.conf`): errors must be fixed,
// warnings are reported. keepalived.conf's own checks (nopreempt with state
// MASTER, duplicate VRIDs on an interface) are made by Parse already.
func CrossCheck(h *config.Config, k *config.VRRP) (errs config.ErrorList, warns []*config.Error) {
	for _, s := range k.Scripts {
		c := s.InProcess
		if c == nil {
			continue
		}
		where := "vrrp_script " + strconv.Quote(s.Name)
		switch c.Kind {
		case "frontend":
			if h.Frontend(c.Name) == nil {
				errs.Add(s.Pos, "%s: tracks frontend %q, which haproxy.cfg does not define", where, c.Name)
			}
		case "backend":
			b := h.Backend(c.Name)
			switch {
			case b == nil:
				errs.Add(s.Pos, "%s: tracks backend %q, which haproxy.cfg does not define", where, c.Name)
			case !c.Percent && c.MinUp > len(b.Servers):
				errs.Add(s.Pos, "%s: needs %d servers UP in backend %q, which has %d: the check can never pass", where, c.MinUp, c.Name, len(b.Servers))
			}
		}
	}
	vips := map[string]bool{}
	for _, in := range k.Instances {
		for _, va := range append(append([]config.VirtualAddress(nil), in.VIPs...), in.ExcludedVIPs...) {
			vips[va.Prefix.Addr().String()] = true
		}
	}
	if len(vips) == 0 {
		return errs, warns
	}
	for _, f := range h.Frontends {
		for _, b := range f.Binds {
			a := b.Addr.Addr()
			if b.Any || !a.IsValid() || a.IsUnspecified() || a.IsLoopback() || vips[a.Unmap().String()] {
				continue
			}
			warns = append(warns, config.Errorf(b.Pos, "frontend %q: bind %s: %s is not a virtual_ipaddress in keepalived.conf, so it does not move with mastership", f.Name, b.Text, a))
		}
	}
	return errs, warns
}
