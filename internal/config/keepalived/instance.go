package keepalived

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"tandem/internal/config"
)

var instanceKeywords = []string{
	"state", "interface", "virtual_router_id", "priority", "advert_int", "version", "nopreempt",
	"preempt", "preempt_delay", "authentication", "virtual_ipaddress", "virtual_ipaddress_excluded",
	"unicast_src_ip", "mcast_src_ip", "unicast_peer", "track_script", "track_interface",
	"notify_master", "notify_backup", "notify_fault", "notify_stop", "notify",
	"garp_master_delay", "garp_master_repeat", "garp_master_refresh", "dont_track_primary",
	"skip_check_adv_addr", "strict_mode", "garp_master_refresh_repeat", "smtp_alert",
	"lvs_sync_daemon_interface", "notify_master_rx_lower_pri",
}

// unsupportedInstance are keepalived vrrp_instance keywords tandem does not implement.
var unsupportedInstance = map[string]bool{
	"use_vmac": true, "use_vmac_addr": true, "vmac_xmit_base": true, "use_ipvlan": true,
	"native_ipv6": true, "vrf": true, "track_file": true, "track_process": true, "track_bfd": true,
	"mcast_dst_ip": true, "track_src_ip": true, "check_unicast_src": true,
	"unicast_fault_no_peer": true, "unicast_ttl": true, "old_unicast_checksum": true,
	"garp_lower_prio_delay": true, "garp_lower_prio_repeat": true,
	"garp_extra_if": true, "down_timer_adverts": true,
	"lower_prio_no_advert": true, "higher_prio_send_advert": true, "promote_secondaries": true,
	"virtual_routes": true, "virtual_rules": true, "accept": true, "no_accept": true,
	"debug": true, "notify_deleted": true, "notify_priority_changes": true,
	"kernel_rx_buf_size": true, "linkbeat_use_polling": true,
}

func (p *parser) instance(b *node) {
	if !p.block(b) {
		return
	}
	if len(b.args) != 1 {
		p.errs.Add(b.pos, "vrrp_instance: expected exactly one name")
		return
	}
	in := &config.VRRPInstance{
		Pos: b.pos, Name: b.args[0].text, InitialState: config.StateBackup,
		Priority: 100, AdvertInterval: time.Second,
	}
	set := map[string]bool{}
	p.set[in] = set
	where := "vrrp_instance " + strconv.Quote(in.Name)
	if prev := p.out.Instance(in.Name); prev != nil {
		p.errs.Add(b.pos, "%s: defined twice (first at %s)", where, prev.Pos)
	}
	masterSet := false
	for _, n := range b.children {
		set[n.name] = true
		switch n.name {
		case "state":
			// keepalived 2.2 compares the word exactly: anything but MASTER or
			// BACKUP (even "master") starts the instance as BACKUP, and BACKUP
			// after MASTER is ignored.
			if p.nargs(n, 1, 1) {
				switch st := n.args[0].text; {
				case st == config.StateMaster:
					in.InitialState = st
				case st == config.StateBackup && masterSet:
					p.warn(n.pos, "%s: state BACKUP after state MASTER is ignored, as keepalived does: the instance starts as MASTER", where)
				case st == config.StateBackup:
					in.InitialState = st
				default:
					p.warn(n.args[0].pos, "%s: unknown state %q: starting as BACKUP, as keepalived does (write MASTER or BACKUP, in capitals)", where, st)
					in.InitialState = config.StateBackup
				}
				masterSet = masterSet || in.InitialState == config.StateMaster
			}
		case "interface":
			if p.nargs(n, 1, 1) {
				in.Interface = n.args[0].text
			}
		case "virtual_router_id":
			if v, ok := p.oneInt(n, 1, 255); ok {
				in.VRID = uint8(v)
			}
		case "priority":
			if p.nargs(n, 1, 1) {
				v, err := strconv.Atoi(n.args[0].text)
				if err != nil || v < 1 || v > 255 {
					p.errs.Add(n.args[0].pos, "%s: priority %q is not an integer in 1..255 (keepalived would run with the default 100)", where, n.args[0].text)
				} else {
					in.Priority = uint8(v)
				}
			}
		case "advert_int":
			if p.nargs(n, 1, 1) {
				if d, ok := p.timerArg(n, n.args[0], 0.01, 255); ok {
					in.AdvertInterval = d
				}
			}
		case "version":
			if v, ok := p.oneInt(n, 2, 3); ok {
				in.Version = v
			}
		case "nopreempt":
			// keepalived reads no argument: "nopreempt 1", even "nopreempt 0",
			// turn preemption off.
			if p.nargs(n, 0, 1) {
				in.NoPreempt = true
				if len(n.args) == 1 {
					switch strings.ToLower(n.args[0].text) {
					case "1", "on", "true", "yes":
					default:
						p.warn(n.args[0].pos, "%s: nopreempt %s: keepalived ignores the argument and turns preemption off; so does tandem (write preempt to keep it on)", where, n.args[0].text)
					}
				}
			}
		case "preempt":
			if p.nargs(n, 0, 0) {
				in.NoPreempt = false
			}
		case "preempt_delay":
			if p.nargs(n, 1, 1) {
				if d, ok := p.timerArg(n, n.args[0], 0, 1000); ok {
					in.PreemptDelay = d
				}
			}
		case "authentication":
			p.auth(n, in, where)
		case "virtual_ipaddress":
			in.VIPs = append(in.VIPs, p.addresses(n, where)...)
		case "virtual_ipaddress_excluded":
			in.ExcludedVIPs = append(in.ExcludedVIPs, p.addresses(n, where)...)
		case "unicast_src_ip", "mcast_src_ip":
			if p.nargs(n, 1, 1) {
				a, err := netip.ParseAddr(n.args[0].text)
				if err != nil {
					p.errs.Add(n.args[0].pos, "%s: %s: %q is not an IP address", where, n.name, n.args[0].text)
				} else {
					in.UnicastSrc = a
				}
			}
		case "unicast_peer":
			in.UnicastPeers = append(in.UnicastPeers, p.peers(n, where)...)
		case "track_script":
			in.TrackScripts = append(in.TrackScripts, p.trackList(n, where)...)
		case "track_interface":
			in.TrackInterfaces = append(in.TrackInterfaces, p.trackList(n, where)...)
		case "garp_master_delay":
			if v, ok := p.oneInt(n, 0, 86400); ok {
				in.GARPMasterDelay = time.Duration(v) * time.Second
			}
		case "garp_master_repeat":
			if v, ok := p.oneInt(n, 0, 100); ok {
				in.GARPMasterRepeat = v
			}
		case "garp_master_refresh":
			if v, ok := p.oneInt(n, 0, 86400); ok {
				in.GARPMasterRefresh = time.Duration(v) * time.Second
			}
		case "garp_master_refresh_repeat":
			if v, ok := p.oneInt(n, 1, 255); ok {
				in.GARPMasterRefreshRepeat = v
			}
		case "smtp_alert":
			if _, ok := p.boolArg(n); ok {
				p.warn(n.pos, "%s: smtp_alert has no effect in tandem (tandem sends no mail alerts)", where)
			}
		case "notify_master_rx_lower_pri": // vrrp_instance only, unlike the other notify_*
			p.notifyScript(n, &in.Notify.MasterRxLowerPri)
		case "lvs_sync_daemon_interface":
			if p.nargs(n, 1, 1) {
				p.warn(n.pos, "%s: lvs_sync_daemon_interface has no effect in tandem (tandem has no LVS/IPVS part and starts no IPVS connection sync daemon)", where)
			}
		case "dont_track_primary":
			if p.nargs(n, 0, 0) {
				in.DontTrackPrimary = true
			}
		case "skip_check_adv_addr":
			if v, ok := p.boolArg(n); ok {
				in.SkipCheckAdvAddr = v
			}
		case "strict_mode":
			if v, ok := p.boolArg(n); ok {
				in.Strict = v
			}
		default:
			if p.notify(n, &in.Notify) {
				continue
			}
			p.unknown(n, where, instanceKeywords, unsupportedInstance)
		}
	}
	p.out.Instances = append(p.out.Instances, in)
}

func (p *parser) auth(b *node, in *config.VRRPInstance, where string) {
	if !p.block(b) {
		return
	}
	for _, n := range b.children {
		switch n.name {
		case "auth_type":
			if !p.nargs(n, 1, 1) {
				continue
			}
			switch t := strings.ToUpper(n.args[0].text); t {
			case "PASS":
				in.AuthType = t
			case "AH":
				p.errs.Add(n.args[0].pos, "%s: auth_type AH (IPsec authentication header) is not supported by tandem; use PASS or no authentication", where)
			default:
				p.errs.Add(n.args[0].pos, "%s: auth_type: expected PASS or AH, got %q (keepalived would ignore the line and send adverts without authentication)", where, n.args[0].text)
			}
		case "auth_pass":
			if !p.nargs(n, 1, 1) {
				continue
			}
			pw := n.args[0].text
			if len(pw) > 8 {
				p.warn(n.pos, "%s: auth_pass is longer than 8 characters; only %q is used", where, pw[:8])
				pw = pw[:8]
			}
			in.AuthPass = pw
		default:
			p.unknown(n, where+": authentication", []string{"auth_type", "auth_pass"}, nil)
		}
	}
	if in.AuthType == "PASS" && in.AuthPass == "" {
		p.errs.Add(b.pos, "%s: auth_type PASS needs an auth_pass", where)
	}
}

// addresses reads virtual_ipaddress lines:
// `IP[/LEN] [brd IP] [dev IF] [scope S] [label L] [no_track]`.
func (p *parser) addresses(b *node, where string) []config.VirtualAddress {
	if !p.block(b) {
		return nil
	}
	var out []config.VirtualAddress
	for _, n := range b.children {
		if !p.noBlock(n) {
			continue
		}
		va, ok := p.address(n, where+": "+b.name)
		if ok {
			out = append(out, va)
		}
	}
	return out
}

func (p *parser) address(n *node, where string) (config.VirtualAddress, bool) {
	va := config.VirtualAddress{Pos: n.pos}
	text := n.name
	var pfx netip.Prefix
	var err error
	if strings.Contains(text, "/") {
		pfx, err = netip.ParsePrefix(text)
	} else {
		var a netip.Addr
		a, err = netip.ParseAddr(text)
		if err == nil {
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
	}
	if err != nil || pfx.Addr().Zone() != "" || pfx.Addr().Is4In6() {
		p.errs.Add(n.pos, "%s: %q is not an IP address or ADDR/PREFIX", where, text)
		return va, false
	}
	va.Prefix = pfx
	ok := true
	for i := 0; i < len(n.args); i++ {
		kw := n.args[i].text
		need := func() (token, bool) {
			if i+1 >= len(n.args) {
				p.errs.Add(n.args[i].pos, "%s: %s: %q needs a value", where, text, kw)
				ok = false
				return token{}, false
			}
			i++
			return n.args[i], true
		}
		switch kw {
		case "brd":
			if t, has := need(); has {
				a, err := netip.ParseAddr(t.text)
				if err != nil {
					p.errs.Add(t.pos, "%s: %s: brd %q is not an IP address", where, text, t.text)
					ok = false
				}
				va.Broadcast = a
			}
		case "dev":
			if t, has := need(); has {
				va.Dev = t.text
			}
		case "label":
			if t, has := need(); has {
				va.Label = t.text
			}
		case "scope":
			if t, has := need(); has {
				switch t.text {
				case "site", "link", "host", "nowhere", "global":
					va.Scope = t.text
				default:
					p.errs.Add(t.pos, "%s: %s: scope %q is not one of site|link|host|nowhere|global", where, text, t.text)
					ok = false
				}
			}
		case "no_track":
			va.NoTrack = true
		default:
			p.errs.Add(n.args[i].pos, "%s: %s: address option %q is not supported by tandem", where, text, kw)
			ok = false
		}
	}
	return va, ok
}

// peers reads unicast_peer lines: `IP [min_ttl N] [max_ttl N]`.
func (p *parser) peers(b *node, where string) []config.UnicastPeer {
	if !p.block(b) {
		return nil
	}
	var out []config.UnicastPeer
	for _, n := range b.children {
		if !p.noBlock(n) {
			continue
		}
		a, err := netip.ParseAddr(n.name)
		if err != nil {
			p.errs.Add(n.pos, "%s: unicast_peer: %q is not an IP address", where, n.name)
			continue
		}
		up := config.UnicastPeer{Pos: n.pos, Addr: a}
		good := true
		for i := 0; i < len(n.args); i++ {
			kw := n.args[i].text
			if (kw != "min_ttl" && kw != "max_ttl") || i+1 >= len(n.args) {
				p.errs.Add(n.args[i].pos, "%s: unicast_peer %s: expected min_ttl N or max_ttl N, got %q", where, n.name, kw)
				good = false
				break
			}
			i++
			v, vok := p.intArg(&node{name: kw}, n.args[i], 0, 255)
			if !vok {
				good = false
				break
			}
			if kw == "min_ttl" {
				up.MinTTL = v
			} else {
				up.MaxTTL = v
			}
		}
		if good {
			out = append(out, up)
		}
	}
	return out
}
