package keepalived

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"tandem/internal/config"
)

// ParseFile reads the keepalived.conf at path (and what it includes). On failure
// the error is a config.ErrorList with every problem as `FILE:LINE: message`.
func ParseFile(path string) (*config.VRRP, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, config.ErrorList{config.Errorf(config.Pos{File: path}, "%v", err)}
	}
	return Parse(path, data)
}

// Parse reads keepalived.conf text named name; include lines read files from disk
// relative to name's directory.
func Parse(name string, data []byte) (*config.VRRP, error) {
	return parse(name, data, osSource{})
}

type osSource struct{}

func (osSource) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }
func (osSource) Glob(pattern string) ([]string, error) {
	names, err := filepath.Glob(pattern)
	sort.Strings(names)
	return names, err
}

// parser holds what one parse has found so far.
type parser struct {
	errs  config.ErrorList
	warns []*config.Error
	out   *config.VRRP
	// which instance fields were written, to apply global defaults afterwards
	set map[*config.VRRPInstance]map[string]bool
	// sync groups whose block had errors
	badGroups map[*config.VRRPSyncGroup]bool
}

func parse(name string, data []byte, src source) (*config.VRRP, error) {
	p := &parser{out: &config.VRRP{}, set: map[*config.VRRPInstance]map[string]bool{}, badGroups: map[*config.VRRPSyncGroup]bool{}}
	lx := &lexer{src: src, errs: &p.errs, warns: &p.warns, active: map[string]bool{}}
	lx.file(name, data, 0)
	nodes := lx.tree()
	g := &p.out.Global
	g.Version = 2
	g.GARPMasterDelay = 5 * time.Second
	g.GARPMasterRepeat = 5
	g.GARPMasterRefreshRepeat = 1
	for _, n := range nodes {
		switch n.name {
		case "global_defs":
			if p.block(n) {
				g.Pos = n.pos
				p.globalDefs(n)
			}
		case "vrrp_script":
			p.script(n)
		case "vrrp_instance":
			p.instance(n)
		case "vrrp_sync_group":
			p.syncGroup(n)
		case "virtual_server", "virtual_server_group":
			p.errs.Add(n.pos, "%s (LVS/IPVS load balancing) is not supported by tandem: "+
				"balance this service with a haproxy.cfg `mode tcp` listen section instead "+
				"(listen NAME / bind VIP:PORT / mode tcp / server NAME ADDR:PORT check)", n.name)
		default:
			if globalKeyword(n.name) {
				p.errs.Add(n.pos, "top level: %q is a global_defs keyword: move it inside global_defs { } (keepalived ignores it here)", n.name)
				continue
			}
			p.unknown(n, "top level", topLevel, unsupportedTop)
		}
	}
	p.resolve()
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	p.out.Warnings = p.warns
	return p.out, nil
}

var topLevel = []string{"global_defs", "vrrp_script", "vrrp_instance", "vrrp_sync_group", "include"}

// globalKeyword reports whether name belongs in global_defs.
func globalKeyword(name string) bool {
	_, ignored := ignoredGlobal[name]
	return ignored || unsupportedGlobal[name] || slices.Contains(globalKeywords, name)
}

var unsupportedTop = map[string]bool{
	"static_ipaddress": true,
	"static_routes":    true, "static_rules": true, "vrrp_track_process": true,
	"track_file": true, "vrrp_track_file": true, "garp_group": true, "linkbeat_interfaces": true,
	"bfd_instance": true, "net_namespace": true,
}

func (p *parser) warn(pos config.Pos, format string, args ...any) {
	p.warns = append(p.warns, config.Errorf(pos, format, args...))
}

// unknown reports a keyword not valid where it is written: unsupported by tandem,
// or unknown with a suggestion.
func (p *parser) unknown(n *node, where string, known []string, unsupported map[string]bool) {
	if n.name == "" {
		return
	}
	if unsupported[n.name] {
		p.errs.Add(n.pos, "%s: keyword %q is not supported by tandem", where, n.name)
		return
	}
	if slices.Contains(known, "vrrp_"+n.name) {
		// keepalived's instance keywords are vrrp_-prefixed in global_defs
		p.errs.Add(n.pos, "%s: unknown keyword %q (in global_defs it is written %q)", where, n.name, "vrrp_"+n.name)
		return
	}
	if s := config.Closest(n.name, known); s != "" {
		p.errs.Add(n.pos, "%s: unknown keyword %q (did you mean %q?)", where, n.name, s)
		return
	}
	p.errs.Add(n.pos, "%s: unknown keyword %q", where, n.name)
}

// block checks n opens a block; noBlock that it does not.
func (p *parser) block(n *node) bool {
	if !n.block {
		p.errs.Add(n.pos, "%s: expected a '{' block", n.name)
		return false
	}
	return true
}

func (p *parser) noBlock(n *node) bool {
	if n.block {
		p.errs.Add(n.pos, "%s: takes no '{' block", n.name)
		return false
	}
	return true
}

// nargs checks the argument count of a plain statement.
func (p *parser) nargs(n *node, lo, hi int) bool {
	if !p.noBlock(n) {
		return false
	}
	if len(n.args) < lo || len(n.args) > hi {
		switch {
		case lo == hi && lo == 0:
			p.errs.Add(n.pos, "%s: takes no argument", n.name)
		case lo == hi:
			p.errs.Add(n.pos, "%s: expected %d argument(s), got %d", n.name, lo, len(n.args))
		default:
			p.errs.Add(n.pos, "%s: expected %d to %d arguments, got %d", n.name, lo, hi, len(n.args))
		}
		return false
	}
	return true
}

// oneInt reads the single argument of n as an integer in lo..hi, reporting what is wrong.
func (p *parser) oneInt(n *node, lo, hi int) (int, bool) {
	if !p.nargs(n, 1, 1) {
		return 0, false
	}
	return p.intArg(n, n.args[0], lo, hi)
}

func (p *parser) intArg(n *node, t token, lo, hi int) (int, bool) {
	v, err := strconv.Atoi(t.text)
	if err != nil || v < lo || v > hi {
		p.errs.Add(t.pos, "%s: %q is not an integer in %d..%d", n.name, t.text, lo, hi)
		return 0, false
	}
	return v, true
}

// timerArg reads a keepalived <TIMER>: seconds, fractions allowed, µs resolution.
func (p *parser) timerArg(n *node, t token, lo, hi float64) (time.Duration, bool) {
	f, err := strconv.ParseFloat(t.text, 64)
	if err != nil || math.IsNaN(f) || f < lo || f > hi || strings.ContainsAny(t.text, "xXpPeE_") {
		p.errs.Add(t.pos, "%s: %q is not a time in seconds in %g..%g", n.name, t.text, lo, hi)
		return 0, false
	}
	return time.Duration(math.Round(f*1e6)) * time.Microsecond, true
}

// boolArg reads an optional <BOOL>; a bare keyword means true.
func (p *parser) boolArg(n *node) (bool, bool) {
	if !p.nargs(n, 0, 1) {
		return false, false
	}
	if len(n.args) == 0 {
		return true, true
	}
	switch strings.ToLower(n.args[0].text) {
	case "on", "true", "yes":
		return true, true
	case "off", "false", "no":
		return false, true
	}
	p.errs.Add(n.args[0].pos, "%s: %q is not one of on|off|true|false|yes|no", n.name, n.args[0].text)
	return false, false
}

var globalKeywords = []string{
	"router_id", "vrrp_version", "vrrp_garp_master_delay", "vrrp_garp_master_repeat",
	"vrrp_garp_master_refresh", "vrrp_garp_master_refresh_repeat", "vrrp_garp_interval",
	"vrrp_gna_interval", "enable_script_security", "script_user", "vrrp_skip_check_adv_addr",
	"vrrp_strict",
}

// ignoredGlobal are global_defs keywords that change nothing tandem does, each with
// why; they are accepted with a warning so common configs load. None of them
// changes which node holds a VIP or what traffic is allowed.
var ignoredGlobal = map[string]string{
	"notification_email":      "tandem sends no mail alerts",
	"notification_email_from": "tandem sends no mail alerts",
	"smtp_server":             "tandem sends no mail alerts",
	"smtp_connect_timeout":    "tandem sends no mail alerts",
	"smtp_helo_name":          "tandem sends no mail alerts",
	"smtp_alert":              "tandem sends no mail alerts",
	"smtp_alert_vrrp":         "tandem sends no mail alerts",
	"smtp_alert_checker":      "tandem sends no mail alerts",
	"no_email_faults":         "tandem sends no mail alerts",
	"lvs_id":                  "tandem has no LVS/IPVS part",
	"lvs_timeouts":            "tandem has no LVS/IPVS part and leaves the kernel's IPVS timeouts as they are",
	"lvs_sync_daemon":         "tandem has no LVS/IPVS part and starts no IPVS connection sync daemon",
	"max_auto_priority":       "keepalived's real-time scheduling priority of its own processes; tandem runs at normal priority",
	"min_auto_priority_delay": "keepalived's real-time scheduling priority of its own processes; tandem runs at normal priority",
	"vrrp_no_swap":            "keepalived's memory locking; tandem does not lock its memory",
	"checker_no_swap":         "keepalived's memory locking; tandem does not lock its memory",
}

// unsupportedGlobal are keepalived 2.2 global_defs keywords tandem does not carry
// out. They are named as keepalived keywords, never answered with a did-you-mean.
var unsupportedGlobal = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`net_namespace net_namespace_ipvs namespace_with_ipsets
		instance use_pid_dir linkbeat_use_polling child_wait_time bfd_cpu_affinity bfd_no_swap
		bfd_priority bfd_process_name bfd_rlimit_rttime bfd_rt_priority checker_cpu_affinity
		checker_log_all_failures checker_priority checker_process_name checker_rlimit_rttime
		checker_rt_priority config_save_dir data_use_instance dbus_service_name default_interface
		disable_local_igmp dynamic_interfaces enable_dbus enable_snmp_checker enable_snmp_rfc
		enable_snmp_rfcv2 enable_snmp_rfcv3 enable_snmp_vrrp enable_traps
		fifo_write_vrrp_states_on_reload include_check log_unknown_vrids lvs_flush
		lvs_flush_on_stop lvs_netlink_cmd_rcv_bufs lvs_netlink_cmd_rcv_bufs_force
		lvs_netlink_monitor_rcv_bufs lvs_netlink_monitor_rcv_bufs_force lvs_notify_fifo
		lvs_notify_fifo_script nftables nftables_counters nftables_ifindex nftables_ipvs
		nftables_ipvs_priority nftables_ipvs_start_fwmark nftables_priority no_checker_emails
		notify_fifo notify_fifo_script process_monitor_rcv_bufs process_monitor_rcv_bufs_force
		process_name process_names random_seed reload_check_config reload_file reload_repeat
		reload_time_file rs_init_notifies shutdown_script shutdown_script_timeout snmp_socket
		startup_script startup_script_timeout tmp_config_directory umask vmac_addr_prefix
		vmac_prefix vrrp_check_unicast_src vrrp_cpu_affinity vrrp_down_timer_adverts
		vrrp_garp_extra_if vrrp_garp_lower_prio_delay vrrp_garp_lower_prio_repeat
		vrrp_higher_prio_send_advert vrrp_ipsets vrrp_iptables vrrp_lower_prio_no_advert
		vrrp_mcast_group4 vrrp_mcast_group6 vrrp_min_garp vrrp_netlink_cmd_rcv_bufs
		vrrp_netlink_cmd_rcv_bufs_force vrrp_netlink_monitor_rcv_bufs
		vrrp_netlink_monitor_rcv_bufs_force vrrp_notify_fifo vrrp_notify_fifo_script
		vrrp_notify_priority_changes vrrp_priority vrrp_process_name vrrp_rlimit_rttime
		vrrp_rt_priority vrrp_rx_bufs_multiplier vrrp_rx_bufs_policy vrrp_startup_delay`) {
		unsupportedGlobal[k] = true
	}
}

func (p *parser) globalDefs(b *node) {
	g := &p.out.Global
	for _, n := range b.children {
		switch n.name {
		case "router_id":
			if p.nargs(n, 1, 1) {
				g.RouterID = n.args[0].text
			}
		case "vrrp_version":
			if v, ok := p.oneInt(n, 2, 3); ok {
				g.Version = v
			}
		case "vrrp_garp_master_delay":
			if v, ok := p.oneInt(n, 0, 86400); ok {
				g.GARPMasterDelay = time.Duration(v) * time.Second
			}
		case "vrrp_garp_master_repeat":
			if v, ok := p.oneInt(n, 0, 100); ok {
				g.GARPMasterRepeat = v
			}
		case "vrrp_garp_master_refresh":
			if v, ok := p.oneInt(n, 0, 86400); ok {
				g.GARPMasterRefresh = time.Duration(v) * time.Second
			}
		case "vrrp_garp_master_refresh_repeat":
			if v, ok := p.oneInt(n, 1, 255); ok {
				g.GARPMasterRefreshRepeat = v
			}
		case "vrrp_garp_interval", "vrrp_gna_interval":
			// keepalived reports 0 as out of range and keeps its default, which is
			// 0: the meaning is the same, so 0 is accepted quietly.
			if p.nargs(n, 1, 1) {
				if d, ok := p.timerArg(n, n.args[0], 0, 1); ok {
					if n.name == "vrrp_garp_interval" {
						g.GARPInterval = d
					} else {
						g.GNAInterval = d
					}
				}
			}
		case "enable_script_security":
			if p.nargs(n, 0, 0) {
				g.EnableScriptSecurity = true
			}
		case "script_user":
			if p.nargs(n, 1, 2) {
				g.ScriptUser = n.args[0].text
				if len(n.args) == 2 {
					g.ScriptGroup = n.args[1].text
				}
			}
		case "vrrp_skip_check_adv_addr":
			if p.nargs(n, 0, 0) {
				g.SkipCheckAdvAddr = true
			}
		case "vrrp_strict":
			if p.nargs(n, 0, 0) {
				g.Strict = true
			}
		default:
			if why, ok := ignoredGlobal[n.name]; ok {
				p.warn(n.pos, "global_defs: %q has no effect in tandem (%s)", n.name, why)
				continue
			}
			p.unknown(n, "global_defs", globalKeywords, unsupportedGlobal)
		}
	}
}

var scriptKeywords = []string{"script", "interval", "timeout", "fall", "rise", "weight", "init_fail", "user"}

func (p *parser) script(b *node) {
	if !p.block(b) {
		return
	}
	if len(b.args) != 1 {
		p.errs.Add(b.pos, "vrrp_script: expected exactly one name")
		return
	}
	s := &config.VRRPScript{Pos: b.pos, Name: b.args[0].text, Interval: time.Second, Fall: 1, Rise: 1}
	where := "vrrp_script " + strconv.Quote(s.Name)
	if p.out.Script(s.Name) != nil {
		p.errs.Add(b.pos, "%s: defined twice", where)
	}
	for _, n := range b.children {
		switch n.name {
		case "script":
			if p.nargs(n, 1, 64) {
				words := make([]string, len(n.args))
				for i, a := range n.args {
					words[i] = a.text
				}
				s.Script = strings.Join(words, " ")
			}
		case "interval":
			if p.nargs(n, 1, 1) {
				if d, ok := p.timerArg(n, n.args[0], 0.001, 86400); ok {
					s.Interval = d
				}
			}
		case "timeout":
			if p.nargs(n, 1, 1) {
				if d, ok := p.timerArg(n, n.args[0], 0.001, 86400); ok {
					s.Timeout = d
				}
			}
		case "fall":
			if v, ok := p.oneInt(n, 1, 1000000); ok {
				s.Fall = v
			}
		case "rise":
			if v, ok := p.oneInt(n, 1, 1000000); ok {
				s.Rise = v
			}
		case "weight":
			if p.nargs(n, 1, 2) {
				if v, ok := p.intArg(n, n.args[0], -253, 253); ok {
					s.Weight = v
				}
				if len(n.args) == 2 {
					if n.args[1].text != "reverse" {
						p.errs.Add(n.args[1].pos, "weight: expected \"reverse\", got %q", n.args[1].text)
					}
					s.Reverse = true
				}
			}
		case "init_fail":
			if p.nargs(n, 0, 0) {
				s.InitFail = true
			}
		case "user":
			if p.nargs(n, 1, 2) {
				s.User = n.args[0].text
				if len(n.args) == 2 {
					s.Group = n.args[1].text
				}
			}
		default:
			p.unknown(n, where, scriptKeywords, nil)
		}
	}
	if s.Script == "" {
		p.errs.Add(b.pos, "%s: no script given", where)
	}
	if rest, ok := strings.CutPrefix(s.Script, InProcessPrefix); ok {
		s.InProcess = p.inProcess(b.pos, where, rest)
	}
	p.out.Scripts = append(p.out.Scripts, s)
}

func (p *parser) syncGroup(b *node) {
	if !p.block(b) {
		return
	}
	if len(b.args) != 1 {
		p.errs.Add(b.pos, "vrrp_sync_group: expected exactly one name")
		return
	}
	g := &config.VRRPSyncGroup{Pos: b.pos, Name: b.args[0].text}
	nerrs := len(p.errs)
	defer func() {
		if len(p.errs) > nerrs {
			p.badGroups[g] = true // its own errors say more than "empty group"
		}
	}()
	where := "vrrp_sync_group " + strconv.Quote(g.Name)
	for _, sg := range p.out.SyncGroups {
		if sg.Name == g.Name {
			p.errs.Add(b.pos, "%s: defined twice (first at %s)", where, sg.Pos)
		}
	}
	for _, n := range b.children {
		switch n.name {
		case "group":
			if !p.block(n) {
				continue
			}
			for _, c := range n.children {
				if !p.nargs(c, 0, 0) {
					continue
				}
				g.Instances = append(g.Instances, c.name)
			}
		case "track_script":
			g.TrackScripts = append(g.TrackScripts, p.trackList(n, where)...)
		case "track_interface":
			g.TrackInterfaces = append(g.TrackInterfaces, p.trackList(n, where)...)
		case "smtp_alert":
			if _, ok := p.boolArg(n); ok {
				p.warn(n.pos, "%s: smtp_alert has no effect in tandem (tandem sends no mail alerts)", where)
			}
		default:
			if p.notify(n, &g.Notify) {
				continue
			}
			if !n.block && len(n.args) == 0 && !unsupportedSync[n.name] && n.name != "" {
				p.errs.Add(n.pos, "%s: unknown keyword %q: list the member instances inside `group { %s }` (keepalived ignores this line and drops a group left empty)", where, n.name, n.name)
				continue
			}
			p.unknown(n, where, append([]string{"group", "track_script", "track_interface"}, notifyKeywords...), unsupportedSync)
		}
	}
	p.out.SyncGroups = append(p.out.SyncGroups, g)
}

var unsupportedSync = map[string]bool{
	"track_file": true, "track_process": true, "track_bfd": true, "notify_deleted": true,
	"notify_priority_changes": true, "global_tracking": true,
	"sync_group_tracking_weight": true,
}

// InProcessPrefix starts the script of a vrrp_script tandem evaluates itself.
const InProcessPrefix = "tandem:"

// inProcess reads "frontend NAME" or "backend NAME [min N|min N%]".
func (p *parser) inProcess(pos config.Pos, where, spec string) *config.InProcessCheck {
	f := strings.Fields(spec)
	bad := func(format string, args ...any) *config.InProcessCheck {
		p.errs.Add(pos, "%s: in-process tracker %q: %s", where, InProcessPrefix+spec, fmt.Sprintf(format, args...))
		return nil
	}
	if len(f) < 2 {
		return bad("expected \"tandem:frontend NAME\" or \"tandem:backend NAME [min N|min N%%]\"")
	}
	c := &config.InProcessCheck{Kind: f[0], Name: f[1], MinUp: 1}
	switch {
	case f[0] == "frontend" && len(f) == 2:
		c.MinUp = 0
	case f[0] == "backend" && len(f) == 2:
	case f[0] == "backend" && len(f) == 4 && f[2] == "min":
		n := f[3]
		if c.Percent = strings.HasSuffix(n, "%"); c.Percent {
			n = strings.TrimSuffix(n, "%")
		}
		v, err := strconv.Atoi(n)
		if err != nil || v < 1 || (c.Percent && v > 100) {
			return bad("min %q is not a count >= 1 or a percentage 1%%..100%%", f[3])
		}
		c.MinUp = v
	default:
		return bad("expected \"tandem:frontend NAME\" or \"tandem:backend NAME [min N|min N%%]\"")
	}
	return c
}

var notifyKeywords = []string{"notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"}

// notify reads a notify_* statement into nt; it reports whether n was one.
func (p *parser) notify(n *node, nt *config.Notify) bool {
	var dst *string
	switch n.name {
	case "notify_master":
		dst = &nt.Master
	case "notify_backup":
		dst = &nt.Backup
	case "notify_fault":
		dst = &nt.Fault
	case "notify_stop":
		dst = &nt.Stop
	case "notify":
		dst = &nt.Any
	default:
		return false
	}
	p.notifyScript(n, dst)
	return true
}

// notifyScript reads the script of a notify_* statement into dst.
func (p *parser) notifyScript(n *node, dst *string) {
	if !p.nargs(n, 1, 3) {
		return
	}
	if len(n.args) > 1 {
		p.errs.Add(n.args[1].pos, "%s: running notify scripts as another user (%q) is not supported by tandem", n.name, n.args[1].text)
	}
	if *dst != "" {
		// keepalived: "notify_master script already specified - ignoring ..."
		p.warn(n.pos, "%s: a script is already given; keepalived keeps the first (%q) and ignores %q, and so does tandem", n.name, *dst, n.args[0].text)
		return
	}
	*dst = n.args[0].text
}

// trackList reads a track_script or track_interface block:
// lines of `NAME [weight N [reverse|noreverse|no_reverse]]`.
func (p *parser) trackList(b *node, where string) []config.TrackRef {
	if !p.block(b) {
		return nil
	}
	var out []config.TrackRef
	for _, n := range b.children {
		if !p.noBlock(n) {
			continue
		}
		r := config.TrackRef{Pos: n.pos, Name: n.name}
		args := n.args
		if len(args) > 0 {
			if args[0].text != "weight" || len(args) < 2 || len(args) > 3 {
				p.errs.Add(n.pos, "%s: %s %q: expected `%s [weight N [reverse]]`", where, b.name, n.name, n.name)
				continue
			}
			v, ok := p.intArg(&node{name: "weight"}, args[1], -254, 254)
			if !ok {
				continue
			}
			r.Weight, r.WeightSet = v, true
			if len(args) == 3 {
				switch args[2].text {
				case "reverse":
					r.Reverse = true
				case "noreverse", "no_reverse":
				default:
					p.errs.Add(args[2].pos, "%s: %s %q: expected reverse or noreverse, got %q", where, b.name, n.name, args[2].text)
				}
			}
		}
		out = append(out, r)
	}
	return out
}
