package vrrp

import (
	"fmt"
	"net/netip"
	"time"
)

// State is a VRRP router state (RFC 5798 §6.4), plus keepalived's FAULT.
type State int

// The states. Fault is keepalived's: a tracked interface or zero-weight script
// is down, so the instance neither holds the VIPs nor takes part in elections.
const (
	Init State = iota
	Backup
	Master
	Fault
)

func (s State) String() string {
	switch s {
	case Init:
		return "INIT"
	case Backup:
		return "BACKUP"
	case Master:
		return "MASTER"
	case Fault:
		return "FAULT"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// PriorityOwner is the priority of the router that owns the virtual addresses.
const PriorityOwner = 255

// Config is what the state machine needs of an instance.
type Config struct {
	Version      uint8         // 2 or 3: decides how Skew_Time is computed
	Priority     uint8         // configured priority, 1..255; trackers move it with PriorityChanged
	Interval     time.Duration // Advertisement_Interval
	Preempt      bool          // Preempt_Mode (keepalived default true; nopreempt sets false)
	PreemptDelay time.Duration // keepalived preempt_delay
	LocalAddr    netip.Addr    // primary address of the interface, for equal-priority ties
	// AdvertOnLower makes a master answer an advert it outranks with an advert
	// of its own at once, as keepalived does by default (lower_prio_no_advert
	// off); RFC 5798 only discards it.
	AdvertOnLower bool
}

// Event is something the machine reacts to: one of Startup, Shutdown, Timeout,
// AdvertReceived, PriorityChanged, FaultChanged, SyncTo, Switchover.
type Event interface{ event() }

// Startup starts the instance (RFC 5798 §6.4.1 "Startup event").
type Startup struct{}

// Shutdown stops the instance (RFC 5798 "Shutdown event").
type Shutdown struct{}

// Timeout tells the machine time has passed; it acts if its deadline is reached.
// Spurious timeouts are harmless.
type Timeout struct{}

// AdvertReceived is an advert for this VRID that passed every receive check.
type AdvertReceived struct {
	Src      netip.Addr // IP source: the sender's primary address
	Priority uint8
	Interval time.Duration // Max Adver Int from the advert (used in version 3)
}

// PriorityChanged sets the effective priority (configured priority moved by
// trackers), clamped to 1..254 as keepalived does. It is ignored for an address
// owner: tracking neither lowers 255 nor raises anything to it.
type PriorityChanged struct{ Priority int }

// FaultChanged enters (true) or leaves (false) keepalived's FAULT state.
type FaultChanged struct{ Fault bool }

// Switchover is a planned handover (`vrrp switchover`): a Master resigns with a
// priority 0 advert, so a backup takes over after Skew_Time (RFC 5798 §6.4.3), and
// becomes Backup. It keeps its VIPs (make before break) until the new master's first
// advert, so the addresses never go unanswered; if no advert comes within
// Master_Down_Interval it is Master again, VIPs never removed. It does not preempt
// the new master, whatever their priorities, until it takes over again by the
// Master_Down_Timer. In any other state it does nothing.
type Switchover struct{}

// SyncTo is keepalived's vrrp_sync_group: another member of the instance's
// group became Master or Backup, and this one follows. A Backup told Master
// takes over at once; a Master told Backup steps down. Anything else is ignored.
type SyncTo struct{ State State }

func (Startup) event()         {}
func (Shutdown) event()        {}
func (Timeout) event()         {}
func (AdvertReceived) event()  {}
func (PriorityChanged) event() {}
func (FaultChanged) event()    {}
func (SyncTo) event()          {}
func (Switchover) event()      {}

// Action is something the caller must do, in order: one of SendAdvert, AddVIPs,
// RemoveVIPs, Announce, Transition, PeerMaster.
type Action interface{ action() }

// SendAdvert sends an advertisement with Priority.
type SendAdvert struct{ Priority uint8 }

// AddVIPs adds the virtual addresses to the interface.
type AddVIPs struct{}

// RemoveVIPs removes the virtual addresses.
type RemoveVIPs struct{}

// Announce sends gratuitous ARP / unsolicited NA for the virtual addresses.
type Announce struct{}

// Transition is a state change, with why it happened in words (for notify scripts,
// logs and the stats page), and the first stages of its timeline.
type Transition struct {
	From, To State
	Reason   string
	At       time.Time // when the machine changed state
	// LastAdvert is when the last advert from another router was accepted before this
	// transition (zero: none since the instance started or last was master). For a
	// takeover by Master_Down_Timer, At - LastAdvert is how long the master was silent.
	LastAdvert time.Time
	// ByTimer is set when the Master_Down_Timer fired (a takeover because the master
	// went silent or resigned, not a preemption, a sync group or an address owner).
	ByTimer bool
}

// PeerMaster reports an advert from another master received while Master: two
// masters for one virtual router at the same moment (RFC 5798 §6.4.3 resolves it:
// the lower priority, or on a tie the lower primary address, yields).
type PeerMaster struct {
	Src      netip.Addr
	Priority uint8 // the peer's
	Ours     uint8 // our effective priority
	// Yield is set when this machine steps down to the peer (the same Step returns
	// the Transition to Backup); clear when the peer should have yielded and did not.
	Yield bool
	// Returned is set with Yield when this machine had become Master because its
	// master went silent (Master_Down_Timer, no priority 0): that master, or a
	// higher one, advertises again. A healed partition and a restarted master look
	// the same on the wire.
	Returned bool
}

func (SendAdvert) action() {}
func (AddVIPs) action()    {}
func (RemoveVIPs) action() {}
func (Announce) action()   {}
func (Transition) action() {}
func (PeerMaster) action() {}

// Machine is one VRRP instance's state machine. It is not safe for concurrent use.
type Machine struct {
	cfg      Config
	prio     uint8
	state    State
	fault    bool
	deadline time.Time // Adver_Timer (master) or Master_Down_Timer (backup); zero when none

	masterAdverInterval time.Duration
	preemptAt           time.Time // keepalived preempt_delay: when a lower master may be preempted
	why                 string    // what a Backup's timeout will mean: the reason of that takeover
	master              netip.Addr
	lastAdvert          time.Time // last advert accepted from another router (Backup)
	bySilence           bool      // Master because the master it followed went silent
	byTimer             bool      // the transition being made is a Master_Down_Timer one
	yielded             bool      // handed over by Switchover: no preemption until a timer takeover
	handing             bool      // Switchover under way: Backup still holding the VIPs
}

// NewMachine returns a machine in Init; send it Startup to begin.
func NewMachine(cfg Config) *Machine {
	return &Machine{cfg: cfg, prio: cfg.Priority, masterAdverInterval: cfg.Interval}
}

// State is the current state.
func (m *Machine) State() State { return m.state }

// Priority is the effective priority sent in adverts.
func (m *Machine) Priority() uint8 { return m.prio }

// Deadline is when the machine next wants a Timeout; zero when it wants none.
func (m *Machine) Deadline() time.Time { return m.deadline }

// MasterAddr is the source of the last advert accepted from a master (invalid if none).
func (m *Machine) MasterAddr() netip.Addr { return m.master }

// MasterAdverInterval is the master's advert interval as learned (version 3) or configured.
func (m *Machine) MasterAdverInterval() time.Duration { return m.masterAdverInterval }

// SkewTime is RFC 5798 §6.1's Skew_Time for the current priority: in version 3
// ((256 - Priority) * Master_Adver_Interval) / 256; in version 2 (RFC 3768 §6.1)
// (256 - Priority) / 256 seconds.
func (m *Machine) SkewTime() time.Duration {
	if m.cfg.Version == 2 {
		return time.Duration(256-int(m.prio)) * time.Second / 256
	}
	return time.Duration(256-int(m.prio)) * m.masterAdverInterval / 256
}

// MasterDownInterval is (3 * Master_Adver_Interval) + Skew_time.
func (m *Machine) MasterDownInterval() time.Duration {
	iv := m.masterAdverInterval
	if m.cfg.Version == 2 {
		iv = m.cfg.Interval
	}
	return 3*iv + m.SkewTime()
}

// Step applies one event at time now and returns what the caller must do.
func (m *Machine) Step(ev Event, now time.Time) []Action {
	switch e := ev.(type) {
	case Startup:
		if m.state != Init {
			return nil
		}
		if m.fault {
			return m.to(Fault, nil, "an interface or tracked check is down at start", now)
		}
		return m.initialize(now, true)
	case Shutdown:
		return m.shutdown(now)
	case Timeout:
		return m.timeout(now)
	case AdvertReceived:
		return m.advert(e, now)
	case PriorityChanged:
		if m.cfg.Priority == PriorityOwner {
			return nil
		}
		m.prio = uint8(max(1, min(e.Priority, PriorityOwner-1)))
		return nil
	case FaultChanged:
		return m.setFault(e.Fault, now)
	case Switchover:
		if m.state != Master {
			return nil
		}
		m.yielded, m.handing = true, true
		m.masterAdverInterval = m.cfg.Interval
		m.deadline = now.Add(m.MasterDownInterval())
		m.why = whyHandoverFailed
		return m.to(Backup, []Action{SendAdvert{0}}, "planned switchover: handing the virtual router over (priority 0 advertisement)", now)
	case SyncTo:
		switch {
		case e.State == Master && m.state == Backup:
			return m.becomeMaster(now, "its sync group became MASTER")
		case e.State == Backup && m.state == Master:
			m.masterAdverInterval = m.cfg.Interval
			m.deadline = now.Add(m.MasterDownInterval())
			return m.to(Backup, []Action{RemoveVIPs{}}, "its sync group became BACKUP", now)
		}
	}
	return nil
}

// initialize is RFC 5798 §6.4.1.
func (m *Machine) initialize(now time.Time, startup bool) []Action {
	if m.cfg.Priority == PriorityOwner {
		return m.becomeMaster(now, "address owner (priority 255)")
	}
	m.masterAdverInterval = m.cfg.Interval
	m.why = whyNoAdvert
	m.lastAdvert = time.Time{}
	m.deadline = now.Add(m.MasterDownInterval())
	if startup && m.cfg.Preempt && m.cfg.PreemptDelay > 0 {
		// keepalived: preempt_delay also holds off taking over after the
		// advertisement timeout at startup.
		m.deadline = m.deadline.Add(m.cfg.PreemptDelay)
	}
	m.preemptAt = time.Time{}
	reason := "started"
	if !startup {
		reason = "fault cleared"
	}
	return m.to(Backup, nil, reason, now)
}

// whyNoAdvert is why a backup takes over by default.
const whyNoAdvert = "no advertisement from a master within Master_Down_Interval"

// whyHandoverFailed is why a switchover ends with the same master.
const whyHandoverFailed = "planned switchover: no router took over within Master_Down_Interval; MASTER again"

// HandingOver reports a Switchover under way: Backup, VIPs kept until the new master
// advertises.
func (m *Machine) HandingOver() bool { return m.handing }

func (m *Machine) becomeMaster(now time.Time, reason string) []Action {
	m.deadline = now.Add(m.cfg.Interval)
	m.master = m.cfg.LocalAddr
	m.preemptAt = time.Time{}
	return m.to(Master, []Action{SendAdvert{m.prio}, AddVIPs{}, Announce{}}, reason, now)
}

func (m *Machine) to(s State, acts []Action, reason string, now time.Time) []Action {
	from := m.state
	m.state = s
	byTimer := m.byTimer
	m.byTimer = false
	if from == s {
		return acts
	}
	tr := Transition{From: from, To: s, Reason: reason, At: now, LastAdvert: m.lastAdvert, ByTimer: byTimer}
	if s == Master {
		// a later advert while Master comes from a master that was not heard then
		m.bySilence = byTimer && reason == whyNoAdvert && !m.lastAdvert.IsZero()
		m.lastAdvert = time.Time{}
		m.yielded, m.handing = false, false
	}
	return append(acts, tr)
}

func (m *Machine) shutdown(now time.Time) []Action {
	var acts []Action
	if m.state == Master {
		acts = append(acts, SendAdvert{0}, RemoveVIPs{})
	} else if m.handing {
		acts = append(acts, RemoveVIPs{})
	}
	m.handing = false
	m.deadline = time.Time{}
	return m.to(Init, acts, "shutdown", now)
}

func (m *Machine) timeout(now time.Time) []Action {
	if m.deadline.IsZero() || now.Before(m.deadline) {
		return nil
	}
	switch m.state {
	case Backup:
		m.byTimer = true
		return m.becomeMaster(now, m.why)
	case Master:
		m.deadline = now.Add(m.cfg.Interval)
		return []Action{SendAdvert{m.prio}}
	}
	return nil
}

func (m *Machine) advert(e AdvertReceived, now time.Time) []Action {
	switch m.state {
	case Backup:
		m.lastAdvert = now
		var acts []Action
		if m.handing && e.Priority > 0 {
			m.handing = false // the new master advertises: the VIPs are its now
			acts = []Action{RemoveVIPs{}}
			m.why = whyNoAdvert
		}
		return append(acts, m.backupAdvert(e, now)...)
	case Master:
		return m.masterAdvert(e, now)
	}
	return nil
}

// backupAdvert is RFC 5798 §6.4.2's "If an ADVERTISEMENT is received".
func (m *Machine) backupAdvert(e AdvertReceived, now time.Time) []Action {
	if e.Priority == 0 {
		m.deadline = now.Add(m.SkewTime())
		m.why = fmt.Sprintf("master %v resigned (priority 0 advertisement)", e.Src)
		return nil
	}
	if !m.cfg.Preempt || m.yielded || e.Priority >= m.prio || m.holdingPreempt(now) {
		m.why = whyNoAdvert
		if m.cfg.Version == 3 && e.Interval > 0 {
			m.masterAdverInterval = e.Interval
		}
		m.master = e.Src
		m.deadline = now.Add(m.MasterDownInterval())
		if e.Priority >= m.prio {
			m.preemptAt = time.Time{}
		}
	} else {
		m.why = fmt.Sprintf("preempting master %v of lower priority %d (ours %d)", e.Src, e.Priority, m.prio)
	}
	return nil
}

// masterAdvert is RFC 5798 §6.4.3's "If an ADVERTISEMENT is received".
func (m *Machine) masterAdvert(e AdvertReceived, now time.Time) []Action {
	if e.Priority == 0 {
		m.deadline = now.Add(m.cfg.Interval)
		return []Action{SendAdvert{m.prio}}
	}
	yield := e.Priority > m.prio || (e.Priority == m.prio && addrGreater(e.Src, m.cfg.LocalAddr))
	peer := PeerMaster{Src: e.Src, Priority: e.Priority, Ours: m.prio, Yield: yield, Returned: yield && m.bySilence}
	if yield {
		if m.cfg.Version == 3 && e.Interval > 0 {
			m.masterAdverInterval = e.Interval
		}
		m.master = e.Src
		m.deadline = now.Add(m.MasterDownInterval())
		m.lastAdvert = now
		m.bySilence = false
		why := fmt.Sprintf("advertisement from %v with higher priority %d (ours %d)", e.Src, e.Priority, m.prio)
		if e.Priority == m.prio {
			why = fmt.Sprintf("advertisement from %v with equal priority %d and a higher address", e.Src, e.Priority)
		}
		return m.to(Backup, []Action{peer, RemoveVIPs{}}, why, now)
	}
	if m.cfg.AdvertOnLower {
		return []Action{peer, SendAdvert{m.prio}}
	}
	return []Action{peer}
}

// holdingPreempt implements keepalived's preempt_delay for a lower-priority
// master: its adverts keep being accepted until the delay after the first one.
func (m *Machine) holdingPreempt(now time.Time) bool {
	if m.cfg.PreemptDelay <= 0 {
		return false
	}
	if m.preemptAt.IsZero() {
		m.preemptAt = now.Add(m.cfg.PreemptDelay)
	}
	return now.Before(m.preemptAt)
}

func (m *Machine) setFault(fault bool, now time.Time) []Action {
	if fault == m.fault {
		return nil
	}
	m.fault = fault
	if m.state == Init {
		return nil // applied at Startup
	}
	if fault {
		var acts []Action
		if m.state == Master {
			acts = append(acts, SendAdvert{0}, RemoveVIPs{})
		} else if m.handing {
			acts = append(acts, RemoveVIPs{})
		}
		m.handing = false
		m.deadline = time.Time{}
		return m.to(Fault, acts, "an interface or tracked check went down", now)
	}
	return m.initialize(now, false)
}

// addrGreater compares primary addresses as unsigned integers (RFC 5798 §6.4.3).
func addrGreater(a, b netip.Addr) bool {
	return a.Compare(b) > 0
}
