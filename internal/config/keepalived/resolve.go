package keepalived

import (
	"strconv"
	"time"

	"tandem/internal/config"
)

// resolve applies global defaults to instances and checks what relates objects:
// names referenced, address families, VRIDs shared on an interface.
func (p *parser) resolve() {
	g := &p.out.Global
	type vridKey struct {
		iface string
		v6    bool
		vrid  uint8
	}
	seen := map[vridKey]*config.VRRPInstance{}
	for _, in := range p.out.Instances {
		set := p.set[in]
		where := "vrrp_instance " + strconv.Quote(in.Name)
		if !set["garp_master_delay"] {
			in.GARPMasterDelay = g.GARPMasterDelay
		}
		if !set["garp_master_repeat"] {
			in.GARPMasterRepeat = g.GARPMasterRepeat
		}
		if !set["garp_master_refresh"] {
			in.GARPMasterRefresh = g.GARPMasterRefresh
		}
		if !set["garp_master_refresh_repeat"] {
			in.GARPMasterRefreshRepeat = g.GARPMasterRefreshRepeat
		}
		if !set["skip_check_adv_addr"] {
			in.SkipCheckAdvAddr = g.SkipCheckAdvAddr
		}
		if !set["strict_mode"] {
			in.Strict = g.Strict
		}
		if in.Interface == "" {
			p.errs.Add(in.Pos, "%s: no interface given", where)
		}
		if in.VRID == 0 && !set["virtual_router_id"] {
			p.errs.Add(in.Pos, "%s: no virtual_router_id given", where)
		}
		if len(in.VIPs) == 0 {
			if in.Strict {
				p.errs.Add(in.Pos, "%s: vrrp_strict: no virtual_ipaddress given", where)
			} else {
				p.warn(in.Pos, "%s: no virtual_ipaddress given", where)
			}
		}
		for _, va := range in.VIPs[min(1, len(in.VIPs)):] {
			if va.Prefix.Addr().Is6() != in.VIPs[0].Prefix.Addr().Is6() {
				p.errs.Add(va.Pos, "%s: virtual_ipaddress mixes IPv4 and IPv6 (first is %s); put the other family in virtual_ipaddress_excluded", where, in.VIPs[0].Prefix.Addr())
			}
		}
		if in.Version == 0 {
			in.Version = g.Version
		}
		if in.IPv6() && in.Version == 2 {
			if set["version"] {
				p.warn(in.Pos, "%s: IPv6 instances always use VRRP version 3", where)
			}
			in.Version = 3
		}
		switch in.Version {
		case 2:
			if in.AdvertInterval%time.Second != 0 {
				r := (in.AdvertInterval + time.Second - 1) / time.Second * time.Second
				p.warn(in.Pos, "%s: VRRP version 2 advert_int is whole seconds; %v rounded up to %v", where, in.AdvertInterval, r)
				in.AdvertInterval = r
			}
		case 3:
			cs := (in.AdvertInterval + 5*time.Millisecond) / (10 * time.Millisecond)
			if cs > 4095 {
				p.errs.Add(in.Pos, "%s: VRRP version 3 advert_int is at most 40.95 seconds", where)
			}
			in.AdvertInterval = cs * 10 * time.Millisecond
			if in.AuthType != "" {
				p.warn(in.Pos, "%s: VRRP version 3 has no authentication; authentication ignored", where)
				in.AuthType, in.AuthPass = "", ""
			}
		}
		if in.AuthType == "PASS" {
			if in.Strict {
				p.errs.Add(in.Pos, "%s: vrrp_strict does not allow authentication", where)
			} else {
				p.warn(in.Pos, "%s: auth_type PASS sends the password in cleartext on the wire; it protects against nothing", where)
			}
		}
		if in.Strict {
			if in.Unicast() {
				p.errs.Add(in.Pos, "%s: vrrp_strict does not allow unicast_peer", where)
			}
			if in.InitialState == config.StateMaster && in.Priority != 255 {
				p.errs.Add(in.Pos, "%s: vrrp_strict allows state MASTER only with priority 255", where)
			}
			if in.PreemptDelay != 0 {
				p.errs.Add(in.Pos, "%s: vrrp_strict does not allow preempt_delay", where)
			}
		}
		if in.NoPreempt && in.InitialState == config.StateMaster {
			// keepalived 2.2: "nopreempt will not work with initial state MASTER - clearing"
			p.warn(in.Pos, "%s: nopreempt has no effect with state MASTER: keepalived clears it, and so does tandem (the instance preempts); use state BACKUP to keep it", where)
			in.NoPreempt = false
		}
		for _, up := range in.UnicastPeers {
			if in.IPv6() != up.Addr.Is6() {
				p.errs.Add(up.Pos, "%s: unicast_peer %s is not of the same address family as the virtual addresses", where, up.Addr)
			}
		}
		in.TrackScripts = p.definedScripts(in.TrackScripts, where)
		if in.Interface != "" && in.VRID != 0 && !in.Unicast() {
			k := vridKey{in.Interface, in.IPv6(), in.VRID}
			if prev := seen[k]; prev != nil {
				p.errs.Add(in.Pos, "%s: virtual_router_id %d is already used on %s by vrrp_instance %q (%s)", where, in.VRID, in.Interface, prev.Name, prev.Pos)
			} else {
				seen[k] = in
			}
		}
	}
	member := map[string]string{}
	for _, sg := range p.out.SyncGroups {
		where := "vrrp_sync_group " + strconv.Quote(sg.Name)
		if len(sg.Instances) == 0 && !p.badGroups[sg] {
			p.errs.Add(sg.Pos, "%s: empty group", where)
		}
		for _, name := range sg.Instances {
			if p.out.Instance(name) == nil {
				p.errs.Add(sg.Pos, "%s: group member %q: no vrrp_instance by that name", where, name)
			}
			if other, ok := member[name]; ok {
				p.errs.Add(sg.Pos, "%s: vrrp_instance %q is already in vrrp_sync_group %q", where, name, other)
			}
			member[name] = sg.Name
		}
		sg.TrackScripts = p.definedScripts(sg.TrackScripts, where)
	}
}

// definedScripts drops the track_script entries that name no vrrp_script, with a
// warning: keepalived logs "track script NAME not found, ignoring" and runs without
// them, so an instance tracks only the scripts that exist.
func (p *parser) definedScripts(refs []config.TrackRef, where string) []config.TrackRef {
	out := refs[:0:0]
	for _, ts := range refs {
		if p.out.Script(ts.Name) == nil {
			p.warn(ts.Pos, "%s: track_script %q: no vrrp_script by that name; not tracked (keepalived ignores it too)", where, ts.Name)
			continue
		}
		out = append(out, ts)
	}
	return out
}
