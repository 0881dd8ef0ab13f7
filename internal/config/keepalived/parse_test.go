package keepalived

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"tandem/internal/config"
)

func TestParseFileSeeds(t *testing.T) {
	tests := []struct {
		file     string
		state    string
		priority uint8
		vip      string
		iface    string
		scripts  int
	}{
		{"seed004_master.conf", config.StateMaster, 101, "192.168.10.30/32", "eth1", 0},
		{"seed004_backup.conf", config.StateBackup, 100, "192.168.10.30/32", "eth1", 0},
		{"seed003_master.conf", config.StateMaster, 100, "192.168.2.100/32", "enp0s8", 1},
		{"seed003_backup.conf", config.StateBackup, 99, "192.168.2.100/32", "enp0s8", 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			v, err := ParseFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatalf("ParseFile: %v", err)
			}
			if len(v.Instances) != 1 {
				t.Fatalf("got %d instances, want 1", len(v.Instances))
			}
			in := v.Instances[0]
			if in.Name != "VI_1" || in.InitialState != tt.state || in.Priority != tt.priority ||
				in.Interface != tt.iface || in.VRID != 51 || in.AdvertInterval != time.Second ||
				in.Version != 2 || in.AuthType != "PASS" || in.AuthPass != "1111" {
				t.Errorf("instance = %+v", in)
			}
			if len(in.VIPs) != 1 || in.VIPs[0].Prefix.String() != tt.vip {
				t.Errorf("VIPs = %+v, want %s", in.VIPs, tt.vip)
			}
			if in.GARPMasterDelay != 5*time.Second || in.GARPMasterRepeat != 5 {
				t.Errorf("garp defaults = %v/%d, want 5s/5", in.GARPMasterDelay, in.GARPMasterRepeat)
			}
			if len(v.Scripts) != tt.scripts {
				t.Errorf("scripts = %d, want %d", len(v.Scripts), tt.scripts)
			}
			if tt.scripts == 1 {
				s := v.Scripts[0]
				if s.Name != "my_chk" || s.Script != "/usr/local/bin/http_check.sh" || s.Interval != 2*time.Second ||
					s.Fall != 2 || s.Rise != 2 || s.Weight != 10 {
					t.Errorf("script = %+v", s)
				}
				if len(in.TrackScripts) != 1 || in.TrackScripts[0].Name != "my_chk" || in.TrackScripts[0].WeightSet {
					t.Errorf("track_script = %+v", in.TrackScripts)
				}
			}
			if !hasWarning(v, "cleartext") {
				t.Errorf("no cleartext PASS warning in %v", v.Warnings)
			}
		})
	}
}

func hasWarning(v *config.VRRP, sub string) bool {
	for _, w := range v.Warnings {
		if strings.Contains(w.Error(), sub) {
			return true
		}
	}
	return false
}

func TestParseFileIncludeAllKeywords(t *testing.T) {
	v, err := ParseFile(filepath.Join("testdata", "inc", "main.conf"))
	if err != nil {
		t.Fatalf("ParseFile: %v", err)
	}
	g := v.Global
	wantG := config.VRRPGlobal{
		Pos: g.Pos, RouterID: "LB1", Version: 3, GARPMasterDelay: 2 * time.Second, GARPMasterRepeat: 3,
		GARPMasterRefresh: time.Minute, GARPInterval: time.Millisecond, GNAInterval: 2 * time.Millisecond,
		GARPMasterRefreshRepeat: 2, EnableScriptSecurity: true,
		ScriptUser: "root", SkipCheckAdvAddr: true,
	}
	if !reflect.DeepEqual(g, wantG) {
		t.Errorf("global = %+v\nwant     %+v", g, wantG)
	}
	if g.Pos.Line != 1 || !strings.HasSuffix(g.Pos.File, "main.conf") {
		t.Errorf("global pos = %v", g.Pos)
	}
	if len(v.Scripts) != 1 {
		t.Fatalf("scripts = %d", len(v.Scripts))
	}
	s := v.Scripts[0]
	if s.Script != "/bin/true" || s.Interval != time.Second || s.Timeout != time.Second ||
		s.Fall != 3 || s.Rise != 2 || s.Weight != -20 || !s.Reverse || !s.InitFail || s.User != "nobody" {
		t.Errorf("script = %+v", s)
	}
	if !strings.HasSuffix(s.Pos.File, filepath.Join("conf.d", "10-v4.conf")) || s.Pos.Line != 1 {
		t.Errorf("script pos = %v", s.Pos)
	}
	in := v.Instance("VI_4")
	if in == nil {
		t.Fatal("no VI_4")
	}
	if in.Version != 3 || in.AdvertInterval != 100*time.Millisecond || !in.NoPreempt ||
		in.PreemptDelay != 2500*time.Millisecond || in.Priority != 150 || in.VRID != 7 ||
		in.UnicastSrc != netip.MustParseAddr("198.18.0.1") || !in.DontTrackPrimary ||
		in.GARPMasterDelay != time.Second || in.GARPMasterRepeat != 2 || in.GARPMasterRefresh != 10*time.Second ||
		!in.SkipCheckAdvAddr {
		t.Errorf("VI_4 = %+v", in)
	}
	if len(in.VIPs) != 2 || in.VIPs[0].Prefix.String() != "198.18.0.100/24" || in.VIPs[0].Dev != "eth0" ||
		in.VIPs[0].Label != "eth0:vip" || in.VIPs[1].Prefix.String() != "198.18.0.101/32" {
		t.Errorf("VIPs = %+v", in.VIPs)
	}
	if len(in.ExcludedVIPs) != 2 || in.ExcludedVIPs[1].Prefix.String() != "2001:db8::9/64" {
		t.Errorf("excluded = %+v", in.ExcludedVIPs)
	}
	if len(in.UnicastPeers) != 2 || in.UnicastPeers[1].MinTTL != 250 || in.UnicastPeers[1].MaxTTL != 255 {
		t.Errorf("peers = %+v", in.UnicastPeers)
	}
	if len(in.TrackScripts) != 1 || in.TrackScripts[0].Weight != -30 || !in.TrackScripts[0].WeightSet {
		t.Errorf("track_script = %+v", in.TrackScripts)
	}
	if len(in.TrackInterfaces) != 2 || in.TrackInterfaces[1] != (config.TrackRef{Pos: in.TrackInterfaces[1].Pos, Name: "eth1", Weight: 10, WeightSet: true, Reverse: true}) {
		t.Errorf("track_interface = %+v", in.TrackInterfaces)
	}
	wantN := config.Notify{Master: "/etc/m.sh", Backup: "/etc/b.sh backup", Fault: "/etc/f.sh", Stop: "/etc/s.sh"}
	if in.Notify != wantN {
		t.Errorf("notify = %+v", in.Notify)
	}
	v6 := v.Instance("VI_6")
	if v6 == nil || !v6.IPv6() || v6.Version != 3 || v6.Priority != 100 || v6.InitialState != config.StateBackup ||
		v6.GARPMasterDelay != 2*time.Second {
		t.Errorf("VI_6 = %+v", v6)
	}
	if len(v.SyncGroups) != 1 || !reflect.DeepEqual(v.SyncGroups[0].Instances, []string{"VI_4", "VI_6"}) ||
		v.SyncGroups[0].Notify.Master != "/usr/local/bin/notify.sh master" || v.SyncGroups[0].Notify.Any != "/usr/local/bin/any.sh" {
		t.Errorf("sync groups = %+v", v.SyncGroups)
	}
	if !hasWarning(v, "notification_email") {
		t.Errorf("warnings = %v", v.Warnings)
	}
}

// memSource serves files from a map for include tests.
type memSource map[string]string

func (m memSource) ReadFile(name string) ([]byte, error) {
	s, ok := m[name]
	if !ok {
		return nil, errors.New("no such file")
	}
	return []byte(s), nil
}

func (m memSource) Glob(pattern string) ([]string, error) {
	var out []string
	for k := range m {
		if ok, _ := filepath.Match(pattern, k); ok {
			out = append(out, k)
		}
	}
	return out, nil
}

const goodInstance = `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        198.18.0.10
    }
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // each a FILE:LINE: substring of one error
	}{
		{"auth AH", goodInstance + "authentication {\nauth_type AH\nauth_pass x\n}\n}\n",
			[]string{"k.conf:8: vrrp_instance \"VI_1\": auth_type AH (IPsec authentication header) is not supported"}},
		{"unknown keyword suggests", goodInstance + "priorty 100\n}\n",
			[]string{`k.conf:7: vrrp_instance "VI_1": unknown keyword "priorty" (did you mean "priority"?)`}},
		{"unsupported keyword", goodInstance + "use_vmac\n}\n",
			[]string{`k.conf:7: vrrp_instance "VI_1": keyword "use_vmac" is not supported by tandem`}},
		{"unsupported top level", "virtual_server 10.0.0.1 80 {\n}\n",
			[]string{"k.conf:1: virtual_server (LVS/IPVS load balancing) is not supported by tandem: balance this service with a haproxy.cfg `mode tcp` listen section"}},
		{"all errors at once", goodInstance + "priority 0\nadvert_int x\nvirtual_router_id 256\n}\n",
			[]string{"k.conf:7: vrrp_instance \"VI_1\": priority \"0\" is not an integer in 1..255 (keepalived would run with the default 100)", "k.conf:8: advert_int", "k.conf:9: virtual_router_id"}},
		{"missing interface and vrid", "vrrp_instance X {\nvirtual_ipaddress {\n198.18.0.1\n}\n}\n",
			[]string{"k.conf:1: vrrp_instance \"X\": no interface", "k.conf:1: vrrp_instance \"X\": no virtual_router_id"}},
		{"bad vip", goodInstance + "virtual_ipaddress {\n198.18.0.300\n198.18.0.2 foo\n}\n}\n",
			[]string{`k.conf:8: vrrp_instance "VI_1": virtual_ipaddress: "198.18.0.300"`, `k.conf:9: vrrp_instance "VI_1": virtual_ipaddress: 198.18.0.2: address option "foo"`}},
		{"mixed families", goodInstance + "virtual_ipaddress {\n2001:db8::1\n}\n}\n",
			[]string{"k.conf:8: vrrp_instance \"VI_1\": virtual_ipaddress mixes IPv4 and IPv6"}},
		{"keepalived keyword tandem lacks: no did-you-mean", "global_defs {\nvrrp_garp_lower_prio_repeat 2\n}\n",
			[]string{`k.conf:2: global_defs: keyword "vrrp_garp_lower_prio_repeat" is not supported by tandem`}},
		{"instance keyword in global_defs", "global_defs {\ngarp_master_delay 3\n}\n",
			[]string{`k.conf:2: global_defs: unknown keyword "garp_master_delay" (in global_defs it is written "vrrp_garp_master_delay")`}},
		{"global keyword at top level", "enable_script_security\n",
			[]string{`k.conf:1: top level: "enable_script_security" is a global_defs keyword: move it inside global_defs { }`}},
		{"sync group member outside group", goodInstance + "}\nvrrp_sync_group G {\nVI_1\n}\n",
			[]string{"k.conf:9: vrrp_sync_group \"G\": unknown keyword \"VI_1\": list the member instances inside `group { VI_1 }`"}},
		{"unknown auth type", goodInstance + "authentication {\nauth_type PASS;\nauth_pass x\n}\n}\n",
			[]string{`k.conf:8: vrrp_instance "VI_1": auth_type: expected PASS or AH, got "PASS;" (keepalived would ignore the line`}},
		{"brace on its own line with no statement before", "{\n}\n",
			[]string{"k.conf:1: '{' with no keyword before it"}},
		{"brace on its own line after a block", goodInstance + "}\n{\n}\n",
			[]string{"k.conf:8: '{' with no keyword before it"}},
		{"duplicate vrid", goodInstance + "}\n" + strings.Replace(goodInstance, "VI_1", "VI_2", 1) + "}\n",
			[]string{`k.conf:8: vrrp_instance "VI_2": virtual_router_id 51 is already used on eth0 by vrrp_instance "VI_1"`}},
		{"unclosed block", goodInstance,
			[]string{"k.conf:1: block opened here is never closed"}},
		{"stray close", goodInstance + "}\n}\n",
			[]string{"k.conf:8: unexpected '}'"}},
		{"sync group unknown member", goodInstance + "}\nvrrp_sync_group G {\ngroup {\nVI_9\n}\n}\n",
			[]string{`k.conf:8: vrrp_sync_group "G": group member "VI_9"`}},
		{"missing include", "include nothere.conf\n",
			[]string{`k.conf:1: include "nothere.conf": no such file`}},
		{"include error position", "include inc.conf\n",
			[]string{`inc.conf:2: global_defs: unknown keyword "bogus"`}},
		{"strict", "global_defs {\nvrrp_strict\n}\n" + goodInstance + "state MASTER\nunicast_peer {\n198.18.0.2\n}\n}\n",
			[]string{"vrrp_strict does not allow unicast_peer", "vrrp_strict allows state MASTER only with priority 255"}},
		{"unterminated quote", "vrrp_script s {\nscript \"/bin/true\n}\n",
			[]string{"k.conf:2: unterminated quoted string"}},
		{"notify as user", goodInstance + "notify_master /bin/x root\n}\n",
			[]string{`k.conf:7: notify_master: running notify scripts as another user ("root") is not supported`}},
	}
	src := memSource{"inc.conf": "global_defs {\nbogus 1\n}\n"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse("k.conf", []byte(tt.src), src)
			var el config.ErrorList
			if !errors.As(err, &el) {
				t.Fatalf("err = %v, want an ErrorList", err)
			}
			for _, w := range tt.want {
				found := false
				for _, e := range el {
					if strings.Contains(e.Error(), w) {
						found = true
					}
				}
				if !found {
					t.Errorf("no error containing %q in:\n%v", w, err)
				}
			}
			if len(el) != len(tt.want) {
				t.Errorf("got %d errors, want %d:\n%v", len(el), len(tt.want), err)
			}
		})
	}
}

func TestParseWarnings(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"long password", goodInstance + "authentication {\nauth_type PASS\nauth_pass 123456789\n}\n}\n", "only \"12345678\" is used"},
		{"v2 fractional advert", goodInstance + "advert_int 0.5\n}\n", "rounded up to 1s"},
		{"v3 drops auth", goodInstance + "version 3\nauthentication {\nauth_type PASS\nauth_pass 1\n}\n}\n", "version 3 has no authentication"},
		{"nopreempt with MASTER", goodInstance + "state MASTER\nnopreempt\n}\n", "nopreempt has no effect with state MASTER: keepalived clears it"},
		{"second notify_master", goodInstance + "notify_master /bin/a\nnotify_master /bin/b\n}\n", `keepalived keeps the first ("/bin/a") and ignores "/bin/b"`},
		{"second notify_master_rx_lower_pri", goodInstance + "notify_master_rx_lower_pri /bin/a\nnotify_master_rx_lower_pri /bin/b\n}\n", `notify_master_rx_lower_pri: a script is already given; keepalived keeps the first ("/bin/a") and ignores "/bin/b"`},
		{"glob matches nothing", "include /nonexistent/*.conf\n", "matches no file"},
		{"unknown track script", goodInstance + "track_script {\nnope\n}\n}\n", `k.conf:8: vrrp_instance "VI_1": track_script "nope": no vrrp_script by that name; not tracked`},
		{"unknown state", goodInstance + "state SLAVE\n}\n", `unknown state "SLAVE": starting as BACKUP`},
		{"nopreempt 0", goodInstance + "nopreempt 0\n}\n", "keepalived ignores the argument and turns preemption off"},
		{"smtp_alert in an instance", goodInstance + "smtp_alert\n}\n", "smtp_alert has no effect in tandem"},
		{"smtp_alert in a sync group", goodInstance + "}\nvrrp_sync_group G {\ngroup {\nVI_1\n}\nsmtp_alert\n}\n", `vrrp_sync_group "G": smtp_alert has no effect in tandem`},
		{"lvs_sync_daemon_interface", goodInstance + "lvs_sync_daemon_interface eth0\n}\n", "no LVS/IPVS part"},
		{"max_auto_priority", "global_defs {\nmax_auto_priority -1\n}\n", "real-time scheduling"},
		{"lvs_timeouts", "global_defs {\nlvs_timeouts tcp 7200 udp 300\n}\n", "IPVS timeouts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := parse("k.conf", []byte(tt.src), memSource{})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if !hasWarning(v, tt.want) {
				t.Errorf("no warning containing %q in %v", tt.want, v.Warnings)
			}
		})
	}
}

func TestLexerBracesAndComments(t *testing.T) {
	src := "vrrp_instance VI_1 { # comment {\n interface eth0 ! another\n virtual_router_id 9\n" +
		" virtual_ipaddress {198.18.0.1/24 dev eth0}\n authentication { auth_type PASS\n auth_pass \"a b#c\" }\n}\n"
	v, err := parse("k.conf", []byte(src), memSource{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	in := v.Instances[0]
	if in.Interface != "eth0" || in.VRID != 9 || len(in.VIPs) != 1 || in.VIPs[0].Dev != "eth0" || in.AuthPass != "a b#c" {
		t.Errorf("instance = %+v", in)
	}
}

func TestIncludeCycle(t *testing.T) {
	src := memSource{"a.conf": "include b.conf\n", "b.conf": "include a.conf\n"}
	_, err := parse("a.conf", []byte(src["a.conf"]), src)
	if err == nil || !strings.Contains(err.Error(), "includes itself") {
		t.Errorf("err = %v, want an include cycle error", err)
	}
}

func TestInProcessTrackers(t *testing.T) {
	tests := []struct {
		script string
		want   *config.InProcessCheck
		err    string
	}{
		{"/bin/true", nil, ""},
		{"tandem:frontend web", &config.InProcessCheck{Kind: "frontend", Name: "web"}, ""},
		{"tandem:backend app", &config.InProcessCheck{Kind: "backend", Name: "app", MinUp: 1}, ""},
		{"tandem:backend app min 2", &config.InProcessCheck{Kind: "backend", Name: "app", MinUp: 2}, ""},
		{"tandem:backend app min 50%", &config.InProcessCheck{Kind: "backend", Name: "app", MinUp: 50, Percent: true}, ""},
		{"tandem:backend app min 0", nil, `k.conf:1: vrrp_script "s": in-process tracker "tandem:backend app min 0": min "0"`},
		{"tandem:listener x", nil, `k.conf:1: vrrp_script "s": in-process tracker "tandem:listener x": expected`},
		{"tandem:backend", nil, "expected"},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			v, err := parse("k.conf", []byte("vrrp_script s {\nscript \""+tt.script+"\"\ninterval 0.2\n}\n"), memSource{})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Scripts[0].InProcess; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("InProcess = %+v, want %+v", got, tt.want)
			}
			if v.Scripts[0].Interval != 200*time.Millisecond {
				t.Errorf("sub-second interval lost: %v", v.Scripts[0].Interval)
			}
		})
	}
}

// keepalived 2.2's meaning for what users write (keepalived.conf(5) and `keepalived -t`
// on the same text): each case is the value tandem runs with.
func TestKeepalivedMeaning(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		check func(v *config.VRRP) string
	}{
		{"brace on the next line", "vrrp_instance VI_1\n{\ninterface eth0\nvirtual_router_id 5\nvirtual_ipaddress\n\n{\n198.18.0.10\n}\n}\n",
			func(v *config.VRRP) string {
				if in := v.Instance("VI_1"); in == nil || in.VRID != 5 || len(in.VIPs) != 1 {
					return fmt.Sprintf("instances = %+v", v.Instances)
				}
				return ""
			}},
		{"state is case-sensitive", goodInstance + "state master\n}\n", wantState(config.StateBackup)},
		{"state SLAVE is BACKUP", goodInstance + "state SLAVE\n}\n", wantState(config.StateBackup)},
		{"BACKUP after MASTER is ignored", goodInstance + "state MASTER\nstate BACKUP\n}\n", wantState(config.StateMaster)},
		{"nopreempt 1", goodInstance + "nopreempt 1\n}\n", wantNoPreempt(true)},
		{"nopreempt cleared by state MASTER", goodInstance + "state MASTER\nnopreempt\n}\n", wantNoPreempt(false)},
		{"the first notify_master is kept", goodInstance + "notify_master /bin/a\nnotify_master /bin/b\n}\n", func(v *config.VRRP) string {
			if got := v.Instances[0].Notify.Master; got != "/bin/a" {
				return fmt.Sprintf("notify_master = %q, want the first", got)
			}
			return ""
		}},
		{"notify_master_rx_lower_pri", goodInstance + "notify_master_rx_lower_pri \"/bin/x y\"\n}\n", func(v *config.VRRP) string {
			if got := v.Instances[0].Notify.MasterRxLowerPri; got != "/bin/x y" {
				return fmt.Sprintf("notify_master_rx_lower_pri = %q", got)
			}
			return ""
		}},
		{"nopreempt 0 still turns preemption off", goodInstance + "nopreempt 0\n}\n", wantNoPreempt(true)},
		{"undefined track_script is dropped", "vrrp_script ok {\nscript /bin/true\n}\n" + goodInstance + "track_script {\nnope\nok\n}\n}\n",
			func(v *config.VRRP) string {
				if ts := v.Instances[0].TrackScripts; len(ts) != 1 || ts[0].Name != "ok" {
					return fmt.Sprintf("track_script = %+v, want only ok", ts)
				}
				return ""
			}},
		{"gna and garp intervals, refresh repeat", "global_defs {\nvrrp_garp_interval 0\nvrrp_gna_interval 0.25\nvrrp_garp_master_refresh_repeat 3\n}\n" + goodInstance + "}\n",
			func(v *config.VRRP) string {
				g, in := v.Global, v.Instances[0]
				if g.GARPInterval != 0 || g.GNAInterval != 250*time.Millisecond || in.GARPMasterRefreshRepeat != 3 {
					return fmt.Sprintf("global %+v, refresh repeat %d", g, in.GARPMasterRefreshRepeat)
				}
				return ""
			}},
		{"refresh repeat defaults to 1, instance overrides", goodInstance + "}\n" + strings.Replace(strings.Replace(goodInstance, "VI_1", "VI_2", 1), "51", "52", 1) + "garp_master_refresh_repeat 4\n}\n",
			func(v *config.VRRP) string {
				if a, b := v.Instances[0].GARPMasterRefreshRepeat, v.Instances[1].GARPMasterRefreshRepeat; a != 1 || b != 4 {
					return fmt.Sprintf("refresh repeat = %d, %d; want 1, 4", a, b)
				}
				return ""
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := parse("k.conf", []byte(tt.src), memSource{})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if msg := tt.check(v); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func wantState(s string) func(v *config.VRRP) string {
	return func(v *config.VRRP) string {
		if got := v.Instances[0].InitialState; got != s {
			return fmt.Sprintf("state = %s, want %s", got, s)
		}
		return ""
	}
}

func wantNoPreempt(b bool) func(v *config.VRRP) string {
	return func(v *config.VRRP) string {
		if got := v.Instances[0].NoPreempt; got != b {
			return fmt.Sprintf("NoPreempt = %v, want %v", got, b)
		}
		return ""
	}
}

// keepalived keeps the first notify script of a kind and ignores the later ones
// ("notify_master_rx_lower_pri script already specified - ignoring", keepalived -t).
func TestFirstNotifyScriptKept(t *testing.T) {
	v, err := parse("k.conf", []byte(goodInstance+"notify_master_rx_lower_pri /bin/a\nnotify_master_rx_lower_pri /bin/b\nnotify_master /bin/c\nnotify_master /bin/d\n}\n"), memSource{})
	if err != nil {
		t.Fatal(err)
	}
	if n := v.Instances[0].Notify; n.MasterRxLowerPri != "/bin/a" || n.Master != "/bin/c" {
		t.Errorf("notify_master_rx_lower_pri %q, notify_master %q: want the first of each", n.MasterRxLowerPri, n.Master)
	}
}
