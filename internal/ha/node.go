// Package ha runs the VRRP instances of a keepalived.conf: it glues the pure
// state machine (package vrrp) to raw sockets (vrrpnet), addresses (vip),
// announcements (announce), tracking scripts, in-process trackers and notify
// scripts. A Node is built from a config.VRRP, runs until its context ends (then
// masters send priority 0 and drop their VIPs), and can be reloaded.
package ha

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os/exec"
	"reflect"
	"slices"
	"sync"
	"time"

	"tandem/internal/config"
	"tandem/internal/vip"
	"tandem/internal/vrrp"
	"tandem/internal/vrrpnet"
)

// Transport sends and receives VRRP messages for one instance (a *vrrpnet.Conn).
type Transport interface {
	Read(buf []byte, deadline time.Time) (vrrpnet.Packet, error)
	Write(msg []byte, dst netip.Addr) error
	Src() netip.Addr
	Close() error
}

// AddressSetter holds addresses (a *vip.Manager).
type AddressSetter interface {
	Set(managed, desired []vip.Addr) error
}

// Announcer sends gratuitous ARP / unsolicited NA (an *announce.Sender).
type Announcer interface {
	Announce(addrs []netip.Addr) error
	Close() error
}

// Options are the Node's collaborators; nil fields get the real ones.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// Listen opens the transport of an instance; default vrrpnet.Listen.
	Listen func(in *config.VRRPInstance) (Transport, error)
	// Announcer opens the announcer for an interface; default announce.Open.
	Announcer func(ifname string) (Announcer, error)
	// VIPs holds the addresses; default a vip.Manager on the current namespace.
	VIPs AddressSetter
	// Exec runs a script (vrrp_script check or notify); default os/exec, as
	// the Command's user.
	Exec func(ctx context.Context, c Command) error
	// LinkUp reports whether an interface is up with carrier; default reads the
	// interface flags. It is polled every LinkPoll (default 100ms) for the
	// instances' interfaces and track_interface entries.
	LinkUp   func(name string) (bool, error)
	LinkPoll time.Duration
	// NeighborResolved reports whether the kernel resolved a unicast peer's link-layer
	// address on an interface (false while ARP / ND fails); default reads the neighbour
	// table. A unicast MASTER asks it every advert interval.
	NeighborResolved func(ifname string, addr netip.Addr) (bool, error)
	// LookPath says whether a vrrp_script's command (its first word) can be run; nil:
	// exec.LookPath when Exec is the default, and every command found when Exec is
	// injected. keepalived disables a tracked script whose command is not found.
	LookPath func(name string) error
	// Check evaluates an in-process tracker (vrrp_script "tandem:…") against the
	// proxy's live state; nil is an error at New when the config has such a script.
	Check func(ctx context.Context, c config.InProcessCheck) error
	// Served reports how many connections the proxy's frontends bound to any of addrs
	// have accepted, and false when none is bound to them; a new master polls it to
	// time the first connection served on its VIPs. nil: not timed.
	Served func(addrs []netip.Addr) (uint64, bool)
}

// InstanceStatus is what the stats page shows of one instance.
type InstanceStatus struct {
	Name            string
	Interface       string
	VRID            uint8
	State           string // INIT, BACKUP, MASTER, FAULT
	Since           time.Time
	Priority        int // effective priority
	BasePriority    int
	Master          netip.Addr // current master as last seen
	VIPs            []netip.Prefix
	AdvertsSent     uint64
	AdvertsReceived uint64
	Rejected        map[string]uint64 // adverts for our VRID dropped, by reason
	// PeerMasterAdverts counts adverts from another master received while MASTER.
	PeerMasterAdverts uint64
	Episodes          map[string]uint64    // split-brain episodes by kind (Episode*), since start
	EpisodeLog        []Episode            // the last ended episodes, then the active ones, oldest first
	HandingOver       bool                 // a switchover under way: BACKUP, VIPs kept until the new master advertises
	Takeovers         []Takeover           // the last transitions to MASTER, stage by stage, oldest first
	StageHistograms   map[string]Histogram // takeover stages (Stage*) since start
	Trackers          []TrackerStatus      // tracked scripts and interfaces, and what each adds now
	Transitions       []TransitionEvent    // the last state changes, oldest first
}

// TrackerStatus is one tracked script (or in-process check) or interface of an instance.
type TrackerStatus struct {
	Name  string // script name, or "interface NAME"
	OK    bool
	Delta int // contribution to the effective priority now (0 in a sync group)
}

// TransitionEvent is one state change of an instance.
type TransitionEvent struct {
	At       time.Time
	From, To string
	Reason   string
}

// maxTransitions bounds the history kept per instance.
const maxTransitions = 10

// Node runs all VRRP instances of one config.
type Node struct {
	opt      Options
	log      *slog.Logger
	vips     AddressSetter
	notifier *notifier

	reloadMu  sync.Mutex // one Reload at a time
	mu        sync.Mutex
	cfg       *config.VRRP
	groups    map[string]*config.VRRPSyncGroup // sync group of each grouped instance
	groupSt   map[string]string                // last state notified per sync group
	instances map[string]*instance
	trackers  map[string]bool // in-process tracker and script results by name
	links     map[string]bool // interface up (with carrier) by name; absent = up
	runCtx    context.Context
	scripts   *scriptRunner
	waiting   map[string]*waiter // instances in FAULT until their interface exists
}

// New checks cfg can be run and prepares a Node; Run starts it.
func New(cfg *config.VRRP, opt Options) (*Node, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.NeighborResolved == nil {
		opt.NeighborResolved = neighborResolved
	}
	if opt.LinkUp == nil {
		opt.LinkUp = linkUp
	}
	if opt.LinkPoll <= 0 {
		opt.LinkPoll = 100 * time.Millisecond
	}
	if opt.LookPath == nil {
		opt.LookPath = func(string) error { return nil }
		if opt.Exec == nil {
			opt.LookPath = func(name string) error { _, err := exec.LookPath(name); return err }
		}
	}
	if opt.Exec == nil {
		opt.Exec = execCommand
	}
	if err := checkable(cfg, opt); err != nil {
		return nil, err
	}
	cfg = disableMissing(cfg, opt.LookPath, opt.Logger)
	if err := checkScripts(cfg); err != nil {
		return nil, err
	}
	n := &Node{opt: opt, log: opt.Logger, cfg: cfg, instances: map[string]*instance{}, trackers: map[string]bool{}, links: map[string]bool{},
		groups: groupsOf(cfg), groupSt: map[string]string{}}
	u, g := defaultScriptUser(cfg.Global)
	n.notifier = newNotifier(opt.Logger, opt.Exec, u, g)
	for _, s := range cfg.Scripts {
		n.trackers[s.Name] = !s.InitFail
	}
	for _, in := range cfg.Instances {
		if in.AuthType == "PASS" {
			n.log.Warn("auth_type PASS sends the password in cleartext", "instance", in.Name)
		}
	}
	return n, nil
}

// checkable refuses in-process trackers when there is no proxy to ask.
func checkable(cfg *config.VRRP, opt Options) error {
	if opt.Check != nil {
		return nil
	}
	var errs config.ErrorList
	for _, s := range cfg.Scripts {
		if s.InProcess != nil {
			errs.Add(s.Pos, "vrrp_script %q: in-process tracker %q needs the proxy: run tandem with -f haproxy.cfg", s.Name, s.Script)
		}
	}
	return errs.Err()
}

func (n *Node) now() time.Time { return n.opt.Now() }

// Run starts every instance and blocks until ctx ends; then each master sends a
// priority-0 advert and removes its VIPs before Run returns (bounded to ~1s).
func (n *Node) Run(ctx context.Context) error {
	if n.opt.VIPs == nil {
		m, err := vip.New()
		if err != nil {
			return err
		}
		defer m.Close()
		n.vips = m
	} else {
		n.vips = n.opt.VIPs
	}
	instCtx, cancelAll := context.WithCancel(context.Background())
	defer cancelAll()
	n.pollLinks() // start instances whose interface is down in FAULT
	n.mu.Lock()
	n.runCtx = instCtx
	var errs []error
	for _, c := range n.cfg.Instances {
		if err := n.startLocked(c); err != nil {
			errs = append(errs, err)
		}
	}
	n.scripts = newScriptRunner(n, n.cfg)
	n.mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		n.stopAll()
		n.mu.Lock()
		n.runCtx = nil
		n.mu.Unlock()
		return err
	}
	scriptsDone := make(chan struct{})
	go func() {
		defer close(scriptsDone)
		n.scripts.run(instCtx)
	}()
	linksDone := make(chan struct{})
	go func() {
		defer close(linksDone)
		n.watchLinks(instCtx)
	}()
	<-ctx.Done()
	n.mu.Lock()
	n.runCtx = nil // a concurrent Reload starts nothing more
	n.mu.Unlock()
	n.stopAll()
	cancelAll()
	<-scriptsDone
	<-linksDone
	n.notifier.close(500 * time.Millisecond)
	return nil
}

func (n *Node) stopAll() {
	n.mu.Lock()
	insts := n.instances
	n.instances = map[string]*instance{}
	n.waiting = nil
	n.mu.Unlock()
	for _, in := range insts {
		in.cancel()
	}
	for _, in := range insts {
		<-in.done
	}
}

// startLocked opens the sockets of c and starts its loop. n.mu is held.
func (n *Node) startLocked(c *config.VRRPInstance) error {
	tr, err := n.listen(c)
	if err != nil {
		if n.missingInterface(c) {
			n.waitLocked(c, err)
			return nil
		}
		return fmt.Errorf("vrrp_instance %q: %w", c.Name, err)
	}
	// one announcer per interface the addresses live on
	anns := map[string]Announcer{}
	for _, dev := range addrDevs(c) {
		open := openAnnouncer
		if n.opt.Announcer != nil {
			open = n.opt.Announcer
		}
		ann, err := open(dev)
		if err != nil {
			for _, a := range anns {
				a.Close()
			}
			tr.Close()
			return fmt.Errorf("vrrp_instance %q: %w", c.Name, err)
		}
		anns[dev] = ann
	}
	in := &instance{
		cfg: c, node: n, tr: tr, anns: anns,
		log:      n.log.With("instance", c.Name),
		events:   make(chan any, 16),
		pkts:     make(chan vrrpnet.Packet, 64),
		syncKick: make(chan struct{}, 1),
		bursts:   make(chan burst, 4),
		garpGap:  n.cfg.Global.GARPInterval,
		gnaGap:   n.cfg.Global.GNAInterval,
		eps:      newEpisodes(),
		tl:       newTimeline(),
		done:     make(chan struct{}),
	}
	in.m = vrrp.NewMachine(vrrp.Config{
		Version: uint8(c.Version), Priority: c.Priority, Interval: c.AdvertInterval,
		Preempt: !c.NoPreempt, PreemptDelay: c.PreemptDelay, LocalAddr: tr.Src(),
		AdvertOnLower: !c.Strict, // keepalived's default; vrrp_strict keeps to the RFC
	})
	if c.Unicast() {
		for _, up := range c.UnicastPeers {
			in.dsts = append(in.dsts, up.Addr)
		}
	} else if c.IPv6() {
		in.dsts = []netip.Addr{vrrp.GroupV6}
	} else {
		in.dsts = []netip.Addr{vrrp.GroupV4}
	}
	var prefixes []netip.Prefix
	for _, va := range append(append([]config.VirtualAddress(nil), c.VIPs...), c.ExcludedVIPs...) {
		in.vips = append(in.vips, vip.Addr{Prefix: va.Prefix, Dev: cmp.Or(va.Dev, c.Interface), Label: va.Label, Scope: va.Scope, Broadcast: va.Broadcast})
		prefixes = append(prefixes, va.Prefix)
	}
	in.status = InstanceStatus{Name: c.Name, Interface: c.Interface, VRID: c.VRID, State: vrrp.Init.String(),
		Priority: int(c.Priority), BasePriority: int(c.Priority), VIPs: prefixes, Since: n.now()}
	if p := n.priorityLocked(c); p != int(c.Priority) {
		in.m.Step(vrrp.PriorityChanged{Priority: p}, n.now())
	}
	if n.faultLocked(c) {
		in.m.Step(vrrp.FaultChanged{Fault: true}, n.now())
	}
	ctx, cancel := context.WithCancel(n.runCtx)
	in.cancel = cancel
	delete(n.waiting, c.Name)
	n.instances[c.Name] = in
	go in.run(ctx)
	return nil
}

func (n *Node) listen(c *config.VRRPInstance) (Transport, error) {
	if n.opt.Listen != nil {
		return n.opt.Listen(c)
	}
	ifi, err := net.InterfaceByName(c.Interface)
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", c.Interface, err)
	}
	return vrrpnet.Listen(ifi, c.UnicastSrc, c.IPv6())
}

// Status reports every running instance, in config order.
func (n *Node) Status() []InstanceStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []InstanceStatus
	for _, c := range n.cfg.Instances {
		var st InstanceStatus
		if in := n.instances[c.Name]; in != nil {
			st = in.snapshot()
		} else if w, ok := n.waiting[c.Name]; ok {
			st = n.waitingStatus(c, w)
		} else {
			continue
		}
		st.Trackers = n.trackersLocked(c)
		out = append(out, st)
	}
	return out
}

// trackerOK returns the tracker's current result, or def when it has none.
func (n *Node) trackerOK(name string, def bool) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ok, has := n.trackers[name]; has {
		return ok
	}
	return def
}

// SetTracker sets the state of the vrrp_script (command or in-process) named
// name at once, bypassing its fall/rise counting, until its next change.
// Instances tracking it move their priority by its weight, or go to FAULT for a
// zero weight, as keepalived does for scripts.
func (n *Node) SetTracker(name string, ok bool) {
	n.mu.Lock()
	if prev, has := n.trackers[name]; has && prev == ok {
		n.mu.Unlock()
		return
	}
	n.trackers[name] = ok
	n.refreshUnlock()
}

// refreshUnlock recomputes every instance's priority and fault, releases n.mu
// and hands the results to the instance loops.
func (n *Node) refreshUnlock() {
	type upd struct {
		in    *instance
		prio  int
		fault bool
	}
	var ups []upd
	for _, in := range n.instances {
		ups = append(ups, upd{in, n.priorityLocked(in.cfg), n.faultLocked(in.cfg)})
	}
	n.mu.Unlock()
	for _, u := range ups {
		u.in.post(prioEvent{u.prio})
		u.in.post(faultEvent{u.fault})
	}
}

// Switchover hands the virtual router of instance name (every MASTER instance when
// name is "") over to its peers: a priority 0 advert, the VIPs kept until the new
// master advertises, and no preemption back until this node takes over again because
// the new master went silent. It answers once the new master advertised; when none
// does within Master_Down_Interval, this node is MASTER again (its VIPs never left)
// and that is an error. An instance that is not MASTER is an error (with name "":
// when none is MASTER).
func (n *Node) Switchover(name string) error {
	n.mu.Lock()
	var targets []*instance
	for _, c := range n.cfg.Instances {
		if in := n.instances[c.Name]; in != nil && (name == "" || c.Name == name) {
			targets = append(targets, in)
		}
	}
	n.mu.Unlock()
	if len(targets) == 0 {
		if name == "" {
			return errors.New("no VRRP instance is running")
		}
		return fmt.Errorf("no running vrrp_instance %q", name)
	}
	var errs []error
	done := 0
	for _, in := range targets {
		if name == "" && in.snapshot().State != vrrp.Master.String() {
			continue
		}
		reply := make(chan error, 1)
		in.post(switchoverEvent{reply})
		var err error
		select {
		case err = <-reply:
			if err == nil {
				err = in.awaitHandover()
			}
		case <-in.done:
			err = fmt.Errorf("vrrp_instance %q stopped", in.cfg.Name)
		case <-time.After(2 * time.Second):
			err = fmt.Errorf("vrrp_instance %q did not answer within 2s", in.cfg.Name)
		}
		if err != nil {
			errs = append(errs, err)
		} else {
			done++
		}
	}
	if name == "" && done == 0 && len(errs) == 0 {
		return errors.New("no VRRP instance is MASTER: nothing to hand over")
	}
	return errors.Join(errs...)
}

// Reload applies a new config: instances whose config is unchanged keep running
// untouched (no state transition); changed ones restart, removed ones stop (a
// master sends priority 0), new ones start.
func (n *Node) Reload(cfg *config.VRRP) error {
	if err := checkable(cfg, n.opt); err != nil {
		return err
	}
	cfg = disableMissing(cfg, n.opt.LookPath, n.log)
	if err := checkScripts(cfg); err != nil {
		return err
	}
	n.reloadMu.Lock()
	defer n.reloadMu.Unlock()
	n.mu.Lock()
	old := n.cfg
	n.cfg = cfg
	n.groups = groupsOf(cfg)
	for _, s := range cfg.Scripts {
		if _, ok := n.trackers[s.Name]; !ok {
			n.trackers[s.Name] = !s.InitFail
		}
	}
	if n.runCtx == nil {
		n.mu.Unlock()
		return nil
	}
	keep := map[string]bool{}
	for _, c := range cfg.Instances {
		if oc := old.Instance(c.Name); oc != nil && sameInstance(oc, c) && sameTracking(old, cfg, c) &&
			groupName(old, c.Name) == groupName(cfg, c.Name) {
			keep[c.Name] = true
		}
	}
	var stopping []*instance
	for name, in := range n.instances {
		if !keep[name] {
			in.cancel()
			stopping = append(stopping, in)
			delete(n.instances, name)
		}
	}
	// Wait without n.mu: a stopping instance may need it to finish.
	n.mu.Unlock()
	for _, in := range stopping {
		<-in.done
	}
	n.mu.Lock()
	if n.runCtx == nil {
		n.mu.Unlock()
		return nil
	}
	var errs []error
	for name := range n.waiting { // the others wait on, or start below
		if cfg.Instance(name) == nil {
			delete(n.waiting, name)
		}
	}
	for _, c := range cfg.Instances {
		if n.instances[c.Name] == nil {
			if err := n.startLocked(c); err != nil {
				errs = append(errs, err)
			}
		}
	}
	n.scripts.reload(cfg)
	n.refreshUnlock()
	return errors.Join(errs...)
}

// sameInstance compares two instance configs ignoring positions.
func sameInstance(a, b *config.VRRPInstance) bool {
	return reflect.DeepEqual(stripPos(*a), stripPos(*b))
}

func stripPos(c config.VRRPInstance) config.VRRPInstance {
	c.Pos = config.Pos{}
	c.VIPs = clearPos(c.VIPs)
	c.ExcludedVIPs = clearPos(c.ExcludedVIPs)
	peers := make([]config.UnicastPeer, len(c.UnicastPeers))
	for i, p := range c.UnicastPeers {
		p.Pos = config.Pos{}
		peers[i] = p
	}
	c.UnicastPeers = peers
	c.TrackScripts = clearTrackPos(c.TrackScripts)
	c.TrackInterfaces = clearTrackPos(c.TrackInterfaces)
	return c
}

func clearPos(vs []config.VirtualAddress) []config.VirtualAddress {
	out := make([]config.VirtualAddress, len(vs))
	for i, v := range vs {
		v.Pos = config.Pos{}
		out[i] = v
	}
	return out
}

func clearTrackPos(ts []config.TrackRef) []config.TrackRef {
	out := make([]config.TrackRef, len(ts))
	for i, t := range ts {
		t.Pos = config.Pos{}
		out[i] = t
	}
	return out
}

// sameTracking reports whether the scripts c tracks are defined alike in both.
func sameTracking(a, b *config.VRRP, c *config.VRRPInstance) bool {
	for _, t := range c.TrackScripts {
		sa, sb := a.Script(t.Name), b.Script(t.Name)
		if sa == nil || sb == nil {
			return false
		}
		x, y := *sa, *sb
		x.Pos, y.Pos = config.Pos{}, config.Pos{}
		// in-process checks are compared by value: every parse allocates its own
		xp, yp := x.InProcess, y.InProcess
		x.InProcess, y.InProcess = nil, nil
		if x != y || (xp == nil) != (yp == nil) || (xp != nil && *xp != *yp) {
			return false
		}
	}
	return true
}

// addrDevs lists the interfaces c's addresses are put on, the instance's first.
func addrDevs(c *config.VRRPInstance) []string {
	devs := []string{c.Interface}
	for _, va := range append(append([]config.VirtualAddress(nil), c.VIPs...), c.ExcludedVIPs...) {
		if va.Dev != "" && !slices.Contains(devs, va.Dev) {
			devs = append(devs, va.Dev)
		}
	}
	return devs
}
