package config

import (
	"net/netip"
	"time"
)

// VRRP is one resolved keepalived.conf: global settings, tracking scripts,
// VRRP instances and sync groups, each carrying the position it was written at.
// Like Config it is immutable once built.
type VRRP struct {
	Global     VRRPGlobal
	Scripts    []*VRRPScript    // vrrp_script blocks, in file order
	Instances  []*VRRPInstance  // vrrp_instance blocks, in file order
	SyncGroups []*VRRPSyncGroup // vrrp_sync_group blocks, in file order
	Warnings   []*Error         // accepted but noteworthy (cleartext PASS, ignored keywords)
}

// Script returns the vrrp_script named name, or nil.
func (v *VRRP) Script(name string) *VRRPScript {
	for _, s := range v.Scripts {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Instance returns the vrrp_instance named name, or nil.
func (v *VRRP) Instance(name string) *VRRPInstance {
	for _, in := range v.Instances {
		if in.Name == name {
			return in
		}
	}
	return nil
}

// VRRPGlobal is the VRRP part of global_defs, with keepalived's defaults applied.
type VRRPGlobal struct {
	Pos               Pos
	RouterID          string
	Version           int           // vrrp_version: 2 (default) or 3
	GARPMasterDelay   time.Duration // vrrp_garp_master_delay, default 5s; 0 disables the second burst
	GARPMasterRepeat  int           // vrrp_garp_master_repeat, default 5
	GARPMasterRefresh time.Duration // vrrp_garp_master_refresh, default 0 (off)
	GARPInterval      time.Duration // vrrp_garp_interval: gap between GARPs, default 0
	GNAInterval       time.Duration // vrrp_gna_interval: gap between unsolicited NAs, default 0
	// GARPMasterRefreshRepeat is vrrp_garp_master_refresh_repeat: GARP / NA rounds sent
	// at each refresh, default 1.
	GARPMasterRefreshRepeat int
	EnableScriptSecurity    bool
	ScriptUser              string
	ScriptGroup             string
	SkipCheckAdvAddr        bool // vrrp_skip_check_adv_addr
	Strict                  bool // vrrp_strict
}

// VRRPScript is a vrrp_script: a command run every Interval whose exit status,
// after Fall failures or Rise successes, moves the priority of the instances
// tracking it by Weight (or puts them in FAULT when the weight is 0).
type VRRPScript struct {
	Pos      Pos
	Name     string
	Script   string // the command line as written (quotes removed)
	Interval time.Duration
	Timeout  time.Duration // 0: same as Interval
	Fall     int
	Rise     int
	Weight   int
	Reverse  bool
	InitFail bool
	User     string
	Group    string
	// InProcess is set when Script is "tandem:…": tandem evaluates the check
	// itself, no fork/exec, on the same interval/fall/rise/weight rules.
	InProcess *InProcessCheck
}

// InProcessCheck is a tracker tandem evaluates in process, written in keepalived
// syntax as a vrrp_script whose script starts with "tandem:":
//
//	script "tandem:frontend NAME"            every bind of the frontend is listening
//	script "tandem:backend NAME"             at least 1 server of the backend is UP
//	script "tandem:backend NAME min N"       at least N servers are UP
//	script "tandem:backend NAME min N%"      at least N percent of its servers are UP
//
// keepalived itself would try to run the command "tandem:…" and count it failed.
type InProcessCheck struct {
	Kind    string // "frontend" or "backend"
	Name    string
	MinUp   int  // servers UP needed (backend)
	Percent bool // MinUp is a percentage of the backend's servers
}

// VRRP instance states as written in `state` and reported by notify.
const (
	StateMaster = "MASTER"
	StateBackup = "BACKUP"
)

// VRRPInstance is one vrrp_instance, resolved against the global defaults.
type VRRPInstance struct {
	Pos               Pos
	Name              string
	InitialState      string // StateMaster or StateBackup (default BACKUP)
	Interface         string
	VRID              uint8
	Priority          uint8 // 1..255, default 100
	AdvertInterval    time.Duration
	Version           int // 2 or 3 (IPv6 instances are always 3)
	NoPreempt         bool
	PreemptDelay      time.Duration
	AuthType          string // "" (none) or "PASS"
	AuthPass          string // at most 8 bytes
	VIPs              []VirtualAddress
	ExcludedVIPs      []VirtualAddress
	UnicastSrc        netip.Addr // invalid when unset (use the interface's primary address)
	UnicastPeers      []UnicastPeer
	TrackScripts      []TrackRef
	TrackInterfaces   []TrackRef
	Notify            Notify
	GARPMasterDelay   time.Duration
	GARPMasterRepeat  int
	GARPMasterRefresh time.Duration
	// GARPMasterRefreshRepeat is garp_master_refresh_repeat (default: the global's).
	GARPMasterRefreshRepeat int
	DontTrackPrimary        bool
	SkipCheckAdvAddr        bool
	Strict                  bool
}

// IPv6 reports whether the instance runs over IPv6 (its VIPs are IPv6).
func (in *VRRPInstance) IPv6() bool {
	return len(in.VIPs) > 0 && in.VIPs[0].Prefix.Addr().Is6()
}

// Unicast reports whether adverts go to unicast peers instead of the multicast group.
func (in *VRRPInstance) Unicast() bool { return len(in.UnicastPeers) > 0 }

// VirtualAddress is one line of virtual_ipaddress or virtual_ipaddress_excluded.
type VirtualAddress struct {
	Pos       Pos
	Prefix    netip.Prefix // address and prefix length (/32 or /128 unless written)
	Broadcast netip.Addr   // brd, invalid when unset
	Dev       string       // "" means the instance's interface
	Label     string
	Scope     string // "" means global
	NoTrack   bool
}

// UnicastPeer is one address in unicast_peer, with its optional TTL bounds.
type UnicastPeer struct {
	Pos    Pos
	Addr   netip.Addr
	MinTTL int // 0 when unset
	MaxTTL int // 0 when unset
}

// TrackRef names a tracked script or interface, with its weight override.
type TrackRef struct {
	Pos       Pos
	Name      string
	Weight    int
	WeightSet bool // false: use the script's own weight (track_script) or 0 (track_interface)
	Reverse   bool
}

// Notify holds the notify scripts of an instance or sync group, each as written.
type Notify struct {
	Master string
	Backup string
	Fault  string
	Stop   string
	Any    string // `notify`: called after the specific one with TYPE NAME STATE PRIORITY
	// MasterRxLowerPri is notify_master_rx_lower_pri (vrrp_instance only): run, as
	// written, each time a MASTER receives an advert of lower priority.
	MasterRxLowerPri string
}

// VRRPSyncGroup is a vrrp_sync_group: instances that change state together.
type VRRPSyncGroup struct {
	Pos             Pos
	Name            string
	Instances       []string
	Notify          Notify
	TrackScripts    []TrackRef
	TrackInterfaces []TrackRef
}
