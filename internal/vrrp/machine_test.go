package vrrp

import (
	"net/netip"
	"reflect"
	"testing"
	"time"
)

var (
	t0     = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	local  = netip.MustParseAddr("198.18.0.1")
	higher = netip.MustParseAddr("198.18.0.2")
	lower  = netip.MustParseAddr("198.18.0.0")
)

func v3(prio uint8) Config {
	return Config{Version: 3, Priority: prio, Interval: time.Second, Preempt: true, LocalAddr: local}
}

func v2(prio uint8) Config {
	c := v3(prio)
	c.Version = 2
	return c
}

func at(d time.Duration) time.Time { return t0.Add(d) }

// wantActs compares actions; a transition's Reason is checked by TestTransitionReasons.
func wantActs(t *testing.T, got []Action, want ...Action) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	got = append([]Action(nil), got...)
	for i, a := range got {
		if tr, ok := a.(Transition); ok {
			tr.Reason, tr.At, tr.LastAdvert, tr.ByTimer = "", time.Time{}, time.Time{}, false
			got[i] = tr
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("actions = %#v\nwant      %#v", got, want)
	}
}

func started(t *testing.T, cfg Config) *Machine {
	t.Helper()
	m := NewMachine(cfg)
	m.Step(Startup{}, t0)
	return m
}

func mastered(t *testing.T, cfg Config) *Machine {
	t.Helper()
	m := started(t, cfg)
	m.Step(Timeout{}, m.Deadline())
	if m.State() != Master {
		t.Fatalf("state %v, want MASTER", m.State())
	}
	return m
}

// RFC 5798 §6.1: "Skew_Time ... ((256 - priority) * Master_Adver_Interval) / 256";
// "Master_Down_Interval ... (3 * Master_Adver_Interval) + Skew_time".
// RFC 3768 §6.1: "Skew_Time ... (256 - Priority) / 256"; "Master_Down_Interval
// ... (3 * Advertisement_Interval) + Skew_time".
func TestTimers(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		skew, down time.Duration
	}{
		{"v2 prio 100 (seed backup)", v2(100), 609375 * time.Microsecond, 3609375 * time.Microsecond},
		{"v2 prio 101 (seed master)", v2(101), 605468750, 3605468750},
		{"v3 prio 128 1s", v3(128), 500 * time.Millisecond, 3500 * time.Millisecond},
		{"v3 prio 100 100ms", Config{Version: 3, Priority: 100, Interval: 100 * time.Millisecond}, 60937500, 360937500},
		{"v2 interval 3 keeps skew in seconds", Config{Version: 2, Priority: 128, Interval: 3 * time.Second}, 500 * time.Millisecond, 9500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMachine(tt.cfg)
			if got := m.SkewTime(); got != tt.skew {
				t.Errorf("skew = %v, want %v", got, tt.skew)
			}
			if got := m.MasterDownInterval(); got != tt.down {
				t.Errorf("master down = %v, want %v", got, tt.down)
			}
		})
	}
}

// §6.4.1: "If the Priority = 255 (i.e., the router owns the IPvX address(es)
// associated with the virtual router), then: Send an ADVERTISEMENT ... broadcast
// a gratuitous ARP request ... Set the Adver_Timer to Advertisement_Interval ...
// Transition to the {Master} state".
func TestInitializeOwnerBecomesMasterAtOnce(t *testing.T) {
	m := NewMachine(v3(255))
	acts := m.Step(Startup{}, t0)
	wantActs(t, acts, SendAdvert{255}, AddVIPs{}, Announce{}, Transition{From: Init, To: Master})
	if m.Deadline() != at(time.Second) {
		t.Errorf("Adver_Timer = %v, want +1s", m.Deadline().Sub(t0))
	}
}

// §6.4.1: "else // Router is not the address owner: Set Master_Adver_Interval to
// Advertisement_Interval ... Set the Master_Down_Timer to Master_Down_Interval ...
// Transition to the {Backup} state". keepalived: the same with `state MASTER`.
func TestInitializeNonOwnerStartsBackup(t *testing.T) {
	m := NewMachine(v2(101))
	acts := m.Step(Startup{}, t0)
	wantActs(t, acts, Transition{From: Init, To: Backup})
	if m.Deadline() != t0.Add(m.MasterDownInterval()) {
		t.Errorf("Master_Down_Timer = %v", m.Deadline().Sub(t0))
	}
}

// §6.4.2: "If the Master_Down_Timer fires, then: Send an ADVERTISEMENT ...
// broadcast a gratuitous ARP request ... Set the Adver_Timer to
// Advertisement_Interval ... Transition to the {Master} state".
func TestBackupMasterDownTimerFires(t *testing.T) {
	m := started(t, v2(100))
	down := m.Deadline()
	wantActs(t, m.Step(Timeout{}, down.Add(-time.Millisecond))) // not yet
	acts := m.Step(Timeout{}, down)
	wantActs(t, acts, SendAdvert{100}, AddVIPs{}, Announce{}, Transition{From: Backup, To: Master})
	if m.Deadline() != down.Add(time.Second) {
		t.Errorf("Adver_Timer not set to Advertisement_Interval")
	}
}

// §6.4.2: "If the Priority in the ADVERTISEMENT is zero, then: Set the
// Master_Down_Timer to Skew_Time".
func TestBackupPriorityZeroAdvert(t *testing.T) {
	m := started(t, v2(100))
	now := at(time.Second)
	wantActs(t, m.Step(AdvertReceived{Src: higher, Priority: 0, Interval: time.Second}, now))
	if m.Deadline() != now.Add(m.SkewTime()) {
		t.Errorf("Master_Down_Timer = %v after now, want Skew_Time %v", m.Deadline().Sub(now), m.SkewTime())
	}
	acts := m.Step(Timeout{}, m.Deadline())
	wantActs(t, acts, SendAdvert{100}, AddVIPs{}, Announce{}, Transition{From: Backup, To: Master})
}

// §6.4.2: "If Preempt_Mode is False, or if the Priority in the ADVERTISEMENT is
// greater than or equal to the local Priority, then: Set Master_Adver_Interval to
// Adver Interval contained in the ADVERTISEMENT ... Recompute the
// Master_Down_Interval ... Reset the Master_Down_Timer to Master_Down_Interval".
// "Else (Priority in the ADVERTISEMENT is less than the local Priority and
// Preempt_Mode is True): Discard the ADVERTISEMENT".
func TestBackupAdvertReceived(t *testing.T) {
	tests := []struct {
		name        string
		cfg         Config
		prio        uint8
		interval    time.Duration
		resets      bool
		wantAdverIv time.Duration
	}{
		{"higher priority resets", v3(100), 101, 2 * time.Second, true, 2 * time.Second},
		{"equal priority resets", v3(100), 100, time.Second, true, time.Second},
		{"lower priority discarded with preempt", v3(100), 99, 2 * time.Second, false, time.Second},
		{"lower priority accepted without preempt", Config{Version: 3, Priority: 100, Interval: time.Second, LocalAddr: local}, 50, 2 * time.Second, true, 2 * time.Second},
		{"v2 ignores the advert's interval", v2(100), 101, 3 * time.Second, true, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := started(t, tt.cfg)
			before := m.Deadline()
			now := at(2 * time.Second)
			wantActs(t, m.Step(AdvertReceived{Src: higher, Priority: tt.prio, Interval: tt.interval}, now))
			if m.MasterAdverInterval() != tt.wantAdverIv {
				t.Errorf("Master_Adver_Interval = %v, want %v", m.MasterAdverInterval(), tt.wantAdverIv)
			}
			if tt.resets && m.Deadline() != now.Add(m.MasterDownInterval()) {
				t.Errorf("Master_Down_Timer not reset: %v", m.Deadline().Sub(now))
			}
			if !tt.resets && m.Deadline() != before {
				t.Errorf("discarded advert moved the timer")
			}
			if m.State() != Backup {
				t.Errorf("state %v", m.State())
			}
		})
	}
}

// §6.4.2: "If a Shutdown event is received, then: Cancel the Master_Down_Timer
// ... Transition to the {Initialize} state".
func TestBackupShutdown(t *testing.T) {
	m := started(t, v2(100))
	wantActs(t, m.Step(Shutdown{}, at(time.Second)), Transition{From: Backup, To: Init})
	if !m.Deadline().IsZero() {
		t.Errorf("Master_Down_Timer not cancelled")
	}
}

// §6.4.3: "If a Shutdown event is received, then: Cancel the Adver_Timer ... Send
// an ADVERTISEMENT with Priority = 0 ... Transition to the {Initialize} state".
// (tandem also removes the VIPs, as keepalived does on stop.)
func TestMasterShutdownSendsPriorityZero(t *testing.T) {
	m := mastered(t, v2(101))
	wantActs(t, m.Step(Shutdown{}, at(5*time.Second)), SendAdvert{0}, RemoveVIPs{}, Transition{From: Master, To: Init})
	if !m.Deadline().IsZero() {
		t.Errorf("Adver_Timer not cancelled")
	}
}

// §6.4.3: "If the Adver_Timer fires, then: Send an ADVERTISEMENT ... Reset the
// Adver_Timer to Advertisement_Interval".
func TestMasterAdverTimer(t *testing.T) {
	m := mastered(t, v3(150))
	for range 3 {
		d := m.Deadline()
		wantActs(t, m.Step(Timeout{}, d), SendAdvert{150})
		if m.Deadline() != d.Add(time.Second) {
			t.Fatalf("Adver_Timer = %v", m.Deadline().Sub(d))
		}
	}
}

// §6.4.3: "If the Priority in the ADVERTISEMENT is zero, then: Send an
// ADVERTISEMENT ... Reset the Adver_Timer to Advertisement_Interval".
func TestMasterPriorityZeroAdvert(t *testing.T) {
	m := mastered(t, v3(150))
	now := m.Deadline().Add(-300 * time.Millisecond)
	wantActs(t, m.Step(AdvertReceived{Src: higher, Priority: 0, Interval: time.Second}, now), SendAdvert{150})
	if m.Deadline() != now.Add(time.Second) {
		t.Errorf("Adver_Timer not reset")
	}
}

// §6.4.3: "If the Priority in the ADVERTISEMENT is greater than the local
// Priority or the Priority in the ADVERTISEMENT is equal to the local Priority and
// the primary IPvX Address of the sender is greater than the local primary IPvX
// Address (based on an unsigned integer comparison of the IPvX addresses in
// network byte order), then: Cancel Adver_Timer ... Set Master_Adver_Interval to
// Adver Interval contained in the ADVERTISEMENT ... Recompute the Skew_Time ...
// Recompute the Master_Down_Interval ... Set Master_Down_Timer to
// Master_Down_Interval ... Transition to the {Backup} state". "Else (the Priority
// in the ADVERTISEMENT is less than the local Priority, or ... equal ... and the
// primary IPvX Address of the sender is less than the local primary IPvX
// Address): Discard the ADVERTISEMENT".
func TestMasterAdvertReceived(t *testing.T) {
	tests := []struct {
		name      string
		src       netip.Addr
		prio      uint8
		stepsDown bool
	}{
		{"higher priority", lower, 151, true},
		{"equal priority, greater address", higher, 150, true},
		{"equal priority, smaller address", lower, 150, false},
		{"lower priority", higher, 149, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mastered(t, v3(150))
			now := m.Deadline().Add(-500 * time.Millisecond)
			acts := m.Step(AdvertReceived{Src: tt.src, Priority: tt.prio, Interval: 2 * time.Second}, now)
			// either way, two masters were seen at once, and it says who yields
			peer := PeerMaster{Src: tt.src, Priority: tt.prio, Ours: 150, Yield: tt.stepsDown}
			if !tt.stepsDown {
				wantActs(t, acts, peer)
				if m.State() != Master {
					t.Errorf("state %v", m.State())
				}
				return
			}
			wantActs(t, acts, peer, RemoveVIPs{}, Transition{From: Master, To: Backup})
			if m.MasterAdverInterval() != 2*time.Second {
				t.Errorf("Master_Adver_Interval = %v", m.MasterAdverInterval())
			}
			if m.Deadline() != now.Add(6*time.Second+m.SkewTime()) {
				t.Errorf("Master_Down_Timer = %v", m.Deadline().Sub(now))
			}
			if m.MasterAddr() != tt.src {
				t.Errorf("master = %v", m.MasterAddr())
			}
		})
	}
}

// keepalived preempt_delay: "Seconds of delay until preemption after getting the
// advertisement timeout at startup or when seeing a lower priority master."
func TestPreemptDelay(t *testing.T) {
	cfg := v2(150)
	cfg.PreemptDelay = 2 * time.Second
	m := started(t, cfg)
	if want := t0.Add(m.MasterDownInterval() + 2*time.Second); m.Deadline() != want {
		t.Errorf("startup Master_Down_Timer = %v, want %v", m.Deadline().Sub(t0), want.Sub(t0))
	}
	// A lower-priority master's adverts are accepted for 2s, then discarded.
	for i := range 5 {
		now := at(time.Duration(i) * time.Second)
		m.Step(AdvertReceived{Src: higher, Priority: 100, Interval: time.Second}, now)
		accepted := m.Deadline() == now.Add(m.MasterDownInterval())
		if want := i < 2; accepted != want {
			t.Errorf("advert at +%ds accepted = %v, want %v", i, accepted, want)
		}
	}
	acts := m.Step(Timeout{}, m.Deadline())
	wantActs(t, acts, SendAdvert{150}, AddVIPs{}, Announce{}, Transition{From: Backup, To: Master})
}

// The seeds' pair: a backup of priority 100 whose peer (101) sends adverts never
// takes over; when they stop it does after Master_Down_Interval (3.61s).
func TestSeedPairBackupHoldsThenTakesOver(t *testing.T) {
	m := started(t, v2(100))
	var now time.Time
	for i := range 10 {
		now = at(time.Duration(i) * time.Second)
		wantActs(t, m.Step(Timeout{}, now))
		m.Step(AdvertReceived{Src: higher, Priority: 101, Interval: time.Second}, now)
	}
	if m.State() != Backup {
		t.Fatalf("state %v", m.State())
	}
	if got := m.Deadline().Sub(now); got != 3609375*time.Microsecond {
		t.Errorf("takes over %v after the last advert, want 3.609375s", got)
	}
}

// Tracking: a master whose priority drops keeps advertising the new priority; a
// backup whose priority rises above the master's preempts it.
func TestPriorityChanged(t *testing.T) {
	m := mastered(t, v2(110))
	m.Step(PriorityChanged{Priority: 100}, at(10*time.Second))
	wantActs(t, m.Step(Timeout{}, m.Deadline()), SendAdvert{100})

	b := started(t, v2(100))
	b.Step(AdvertReceived{Src: higher, Priority: 105, Interval: time.Second}, at(time.Second))
	b.Step(PriorityChanged{Priority: 110}, at(time.Second))
	before := b.Deadline()
	b.Step(AdvertReceived{Src: higher, Priority: 105, Interval: time.Second}, at(2*time.Second))
	if b.Deadline() != before {
		t.Errorf("lower-priority advert accepted after priority rose")
	}
	wantActs(t, b.Step(Timeout{}, before), SendAdvert{110}, AddVIPs{}, Announce{}, Transition{From: Backup, To: Master})

	for _, tt := range []struct{ in, want int }{{-5, 1}, {0, 1}, {300, 254}, {254, 254}} {
		m := NewMachine(v2(100))
		m.Step(PriorityChanged{Priority: tt.in}, t0)
		if int(m.Priority()) != tt.want {
			t.Errorf("PriorityChanged(%d) -> %d, want %d", tt.in, m.Priority(), tt.want)
		}
	}
	o := NewMachine(v2(255))
	o.Step(PriorityChanged{Priority: 10}, t0)
	if o.Priority() != 255 {
		t.Errorf("owner priority moved to %d", o.Priority())
	}
}

// keepalived FAULT: a master going to fault sends priority 0 and drops its VIPs;
// leaving fault re-enters Initialize.
func TestFault(t *testing.T) {
	m := mastered(t, v2(101))
	wantActs(t, m.Step(FaultChanged{Fault: true}, at(10*time.Second)), SendAdvert{0}, RemoveVIPs{}, Transition{From: Master, To: Fault})
	wantActs(t, m.Step(AdvertReceived{Src: higher, Priority: 0}, at(11*time.Second)))
	wantActs(t, m.Step(Timeout{}, at(20*time.Second)))
	wantActs(t, m.Step(FaultChanged{Fault: false}, at(21*time.Second)), Transition{From: Fault, To: Backup})

	f := NewMachine(v2(101))
	f.Step(FaultChanged{Fault: true}, t0)
	wantActs(t, f.Step(Startup{}, t0), Transition{From: Init, To: Fault})
}

// keepalived vrrp_sync_group: "transition of one instance will be reflected to
// others group members".
func TestSyncTo(t *testing.T) {
	b := started(t, v2(100))
	wantActs(t, b.Step(SyncTo{Master}, at(time.Second)), SendAdvert{100}, AddVIPs{}, Announce{}, Transition{From: Backup, To: Master})
	wantActs(t, b.Step(SyncTo{Master}, at(time.Second))) // already master
	now := at(2 * time.Second)
	wantActs(t, b.Step(SyncTo{Backup}, now), RemoveVIPs{}, Transition{From: Master, To: Backup})
	if b.Deadline() != now.Add(b.MasterDownInterval()) {
		t.Errorf("Master_Down_Timer not set after stepping down")
	}
	f := started(t, v2(100))
	f.Step(FaultChanged{Fault: true}, t0)
	wantActs(t, f.Step(SyncTo{Master}, t0))
	i := NewMachine(v2(100))
	wantActs(t, i.Step(SyncTo{Master}, t0))
}

// keepalived lower_prio_no_advert: "If a lower priority advert is received,
// don't send another advert. This causes adherence to the RFCs" — so by default
// a keepalived master answers a lower-priority advert with its own at once.
func TestMasterAnswersLowerPriorityWhenAsked(t *testing.T) {
	cfg := v3(150)
	cfg.AdvertOnLower = true
	m := mastered(t, cfg)
	d := m.Deadline()
	wantActs(t, m.Step(AdvertReceived{Src: higher, Priority: 100, Interval: time.Second}, d.Add(-time.Millisecond)),
		PeerMaster{Src: higher, Priority: 100, Ours: 150}, SendAdvert{150})
	if m.Deadline() != d || m.State() != Master {
		t.Errorf("answering moved the Adver_Timer or the state")
	}
}

// TestTransitionReasons: each transition says why, in words an operator can act on
// (they reach the logs and the stats page's VRRP section).
func TestTransitionReasons(t *testing.T) {
	reason := func(acts []Action) string {
		for _, a := range acts {
			if tr, ok := a.(Transition); ok {
				return tr.Reason
			}
		}
		return "(no transition)"
	}
	m := NewMachine(v2(100))
	if got := reason(m.Step(Startup{}, t0)); got != "started" {
		t.Errorf("startup: %q", got)
	}
	if got := reason(m.Step(Timeout{}, m.Deadline())); got != whyNoAdvert {
		t.Errorf("master down timer: %q", got)
	}
	if got := reason(m.Step(AdvertReceived{Src: higher, Priority: 150, Interval: time.Second}, at(5*time.Second))); got != "advertisement from "+higher.String()+" with higher priority 150 (ours 100)" {
		t.Errorf("stepping down: %q", got)
	}
	m.Step(AdvertReceived{Src: higher, Priority: 0, Interval: time.Second}, at(6*time.Second))
	if got := reason(m.Step(Timeout{}, m.Deadline())); got != "master "+higher.String()+" resigned (priority 0 advertisement)" {
		t.Errorf("after a priority 0 advert: %q", got)
	}
	p := NewMachine(v2(120))
	p.Step(Startup{}, t0)
	p.Step(AdvertReceived{Src: higher, Priority: 100, Interval: time.Second}, at(time.Second))
	if got := reason(p.Step(Timeout{}, p.Deadline())); got != "preempting master "+higher.String()+" of lower priority 100 (ours 120)" {
		t.Errorf("preemption: %q", got)
	}
	if got := reason(p.Step(FaultChanged{Fault: true}, at(10*time.Second))); got != "an interface or tracked check went down" {
		t.Errorf("fault: %q", got)
	}
	if got := reason(p.Step(Shutdown{}, at(11*time.Second))); got != "shutdown" {
		t.Errorf("shutdown: %q", got)
	}
}

// Two masters for one VRID (issue 14, "split brain caught"): RFC 5798 §6.4.3 has a
// Master that receives an ADVERTISEMENT either transition to Backup or discard it; both
// mean a second master was advertising. A Backup that took over because its master
// went silent (§6.4.2 "If the Master_Down_Timer fires") and then hears a master again
// reports that the master came back (a partition healed, or the master restarted).
func TestPeerMasterEpisodes(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) *Machine
		src   netip.Addr
		prio  uint8
		want  PeerMaster
	}{
		{"master went silent, then returns", func(t *testing.T) *Machine {
			m := started(t, v3(100))
			m.Step(AdvertReceived{Src: higher, Priority: 200, Interval: time.Second}, at(time.Second))
			m.Step(Timeout{}, m.Deadline())
			return m
		}, higher, 200, PeerMaster{Src: higher, Priority: 200, Ours: 100, Yield: true, Returned: true}},
		{"no master was heard before the takeover: not a return", func(t *testing.T) *Machine {
			return mastered(t, v3(100))
		}, higher, 200, PeerMaster{Src: higher, Priority: 200, Ours: 100, Yield: true}},
		{"master resigned with priority 0: not a return", func(t *testing.T) *Machine {
			m := started(t, v3(100))
			m.Step(AdvertReceived{Src: higher, Priority: 200, Interval: time.Second}, at(time.Second))
			m.Step(AdvertReceived{Src: higher, Priority: 0, Interval: time.Second}, at(2*time.Second))
			m.Step(Timeout{}, m.Deadline())
			return m
		}, higher, 200, PeerMaster{Src: higher, Priority: 200, Ours: 100, Yield: true}},
		{"preempted a lower master: it does not yield to us yet", func(t *testing.T) *Machine {
			m := started(t, v3(100))
			m.Step(AdvertReceived{Src: lower, Priority: 50, Interval: time.Second}, at(time.Second))
			m.Step(Timeout{}, m.Deadline())
			return m
		}, lower, 50, PeerMaster{Src: lower, Priority: 50, Ours: 100}},
		{"equal priority, the peer's address is lower: it should yield", func(t *testing.T) *Machine {
			return mastered(t, v3(100))
		}, lower, 100, PeerMaster{Src: lower, Priority: 100, Ours: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.setup(t)
			if m.State() != Master {
				t.Fatalf("state %v", m.State())
			}
			acts := m.Step(AdvertReceived{Src: tt.src, Priority: tt.prio, Interval: time.Second}, m.Deadline().Add(-time.Millisecond))
			if len(acts) == 0 || !reflect.DeepEqual(acts[0], tt.want) {
				t.Errorf("actions = %#v, want first %#v", acts, tt.want)
			}
		})
	}
}

// The timeline's first stages come from the machine: when the last advert was heard
// and when the Master_Down_Timer fired (RFC 5798 §6.4.2).
func TestTransitionTimeline(t *testing.T) {
	m := started(t, v3(100))
	m.Step(AdvertReceived{Src: higher, Priority: 200, Interval: time.Second}, at(time.Second))
	fired := m.Deadline()
	var tr Transition
	for _, a := range m.Step(Timeout{}, fired) {
		if x, ok := a.(Transition); ok {
			tr = x
		}
	}
	if tr.To != Master || !tr.ByTimer || tr.At != fired || tr.LastAdvert != at(time.Second) {
		t.Errorf("takeover = %+v, want By timer at %v, last advert at %v", tr, fired, at(time.Second))
	}
	// stepping down is not a timer transition; its last advert is the one that made it
	for _, a := range m.Step(AdvertReceived{Src: higher, Priority: 200, Interval: time.Second}, fired.Add(time.Second)) {
		if x, ok := a.(Transition); ok {
			tr = x
		}
	}
	if tr.To != Backup || tr.ByTimer || tr.LastAdvert != fired.Add(time.Second) {
		t.Errorf("step down = %+v", tr)
	}
	// an owner becomes master at once, with no timer and no advert
	o := NewMachine(v3(PriorityOwner))
	for _, a := range o.Step(Startup{}, t0) {
		if x, ok := a.(Transition); ok {
			tr = x
		}
	}
	if tr.To != Master || tr.ByTimer || !tr.LastAdvert.IsZero() || tr.At != t0 {
		t.Errorf("owner = %+v", tr)
	}
}

// A planned switchover: the Master sends priority 0 (RFC 5798 §6.4.3 "If a Shutdown
// event is received ... Send an ADVERTISEMENT with Priority = 0") and becomes Backup,
// keeping its VIPs until the new master's first advert (make before break); it does
// not preempt the new, lower-priority master; when that master goes silent it takes
// over again by the Master_Down_Timer.
func TestSwitchover(t *testing.T) {
	m := mastered(t, v3(200))
	now := m.Deadline().Add(-time.Millisecond)
	wantActs(t, m.Step(Switchover{}, now), SendAdvert{0}, Transition{From: Master, To: Backup})
	if m.State() != Backup || !m.HandingOver() || m.Deadline() != now.Add(m.MasterDownInterval()) {
		t.Fatalf("state %v handing %v deadline %v", m.State(), m.HandingOver(), m.Deadline().Sub(now))
	}
	// the peer (priority 100) takes over: its first advert takes the VIPs from us
	wantActs(t, m.Step(AdvertReceived{Src: higher, Priority: 100, Interval: time.Second}, now.Add(time.Second)), RemoveVIPs{})
	if m.HandingOver() {
		t.Errorf("still handing over after the new master's advert")
	}
	// and no preemption back
	for i := 2; i <= 10; i++ {
		at := now.Add(time.Duration(i) * time.Second)
		wantActs(t, m.Step(AdvertReceived{Src: higher, Priority: 100, Interval: time.Second}, at))
		if m.Deadline() != at.Add(m.MasterDownInterval()) {
			t.Fatalf("advert %d did not restart the Master_Down_Timer", i)
		}
	}
	wantActs(t, m.Step(Timeout{}, now.Add(10*time.Second)))
	// the new master goes silent: take over by the timer, preempting again afterwards
	acts := m.Step(Timeout{}, m.Deadline())
	if m.State() != Master || len(acts) == 0 {
		t.Fatalf("state %v after the timer", m.State())
	}
	m.Step(AdvertReceived{Src: higher, Priority: 100, Interval: time.Second}, m.Deadline())
	if m.State() != Master {
		t.Errorf("yielded to a lower priority after taking over")
	}
	// a Backup has nothing to hand over
	b := started(t, v3(100))
	wantActs(t, b.Step(Switchover{}, t0))
}

// A switchover nobody takes: after Master_Down_Interval the node is Master again; its
// VIPs were never removed, so the addresses were answered throughout.
func TestSwitchoverNobodyTakesOver(t *testing.T) {
	m := mastered(t, v3(200))
	now := m.Deadline()
	m.Step(Switchover{}, now)
	acts := m.Step(Timeout{}, m.Deadline())
	for _, a := range acts {
		if _, ok := a.(RemoveVIPs); ok {
			t.Fatalf("VIPs removed: %#v", acts)
		}
	}
	if m.State() != Master || m.HandingOver() {
		t.Fatalf("state %v handing %v", m.State(), m.HandingOver())
	}
	if r := reasonOf(acts); r != whyHandoverFailed {
		t.Errorf("reason %q", r)
	}
	// stopped while handing over: the VIPs go
	s := mastered(t, v3(200))
	s.Step(Switchover{}, now)
	wantActs(t, s.Step(Shutdown{}, now.Add(time.Millisecond)), RemoveVIPs{}, Transition{From: Backup, To: Init})
	f := mastered(t, v3(200))
	f.Step(Switchover{}, now)
	wantActs(t, f.Step(FaultChanged{Fault: true}, now.Add(time.Millisecond)), RemoveVIPs{}, Transition{From: Backup, To: Fault})
}

func reasonOf(acts []Action) string {
	for _, a := range acts {
		if tr, ok := a.(Transition); ok {
			return tr.Reason
		}
	}
	return ""
}
