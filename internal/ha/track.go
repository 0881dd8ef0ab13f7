package ha

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"tandem/internal/config"
)

// priorityLocked is c's effective priority from its tracked scripts, with
// keepalived's rules: a positive weight is added while the script is OK, a
// negative one while it fails; reverse flips the sign. Owners stay at 255.
func (n *Node) priorityLocked(c *config.VRRPInstance) int {
	if c.Priority == 255 || n.groups[c.Name] != nil {
		// keepalived sets the tracking weights of sync group members to 0
		return int(c.Priority)
	}
	p := int(c.Priority)
	adjust := func(w int, rev, ok bool) {
		switch {
		case w > 0 && ok, w < 0 && !ok:
			if rev {
				p -= w
			} else {
				p += w
			}
		}
	}
	for _, t := range c.TrackScripts {
		adjust(n.trackWeight(t))
	}
	for _, t := range c.TrackInterfaces {
		adjust(t.Weight, t.Reverse, n.linkUpLocked(t.Name))
	}
	return p
}

// trackersLocked reports c's tracked scripts and interfaces and what each adds to the
// priority now, by the rules of priorityLocked.
func (n *Node) trackersLocked(c *config.VRRPInstance) []TrackerStatus {
	grouped := c.Priority == 255 || n.groups[c.Name] != nil
	delta := func(w int, rev, ok bool) int {
		if grouped || !(w > 0 && ok || w < 0 && !ok) {
			return 0
		}
		if rev {
			return -w
		}
		return w
	}
	var out []TrackerStatus
	for _, t := range c.TrackScripts {
		w, rev, ok := n.trackWeight(t)
		out = append(out, TrackerStatus{Name: t.Name, OK: ok, Delta: delta(w, rev, ok)})
	}
	for _, t := range c.TrackInterfaces {
		ok := n.linkUpLocked(t.Name)
		out = append(out, TrackerStatus{Name: "interface " + t.Name, OK: ok, Delta: delta(t.Weight, t.Reverse, ok)})
	}
	return out
}

// faultLocked reports whether c must be in FAULT: its interface is down (unless
// dont_track_primary), or a zero-weight tracked script or interface is down
// (up, with reverse).
//
// In a vrrp_sync_group, weights count as 0, the group's own track_script and
// track_interface apply to every member, and a fault of one member is a fault
// of all.
func (n *Node) faultLocked(c *config.VRRPInstance) bool {
	sg := n.groups[c.Name]
	if sg == nil {
		return n.ownFaultLocked(c, false)
	}
	for _, t := range sg.TrackScripts {
		if _, rev, ok := n.trackWeight(t); ok == rev {
			return true
		}
	}
	for _, t := range sg.TrackInterfaces {
		if n.linkUpLocked(t.Name) == t.Reverse {
			return true
		}
	}
	for _, name := range sg.Instances {
		if m := n.cfg.Instance(name); m != nil && n.ownFaultLocked(m, true) {
			return true
		}
	}
	return false
}

func (n *Node) ownFaultLocked(c *config.VRRPInstance, grouped bool) bool {
	if !c.DontTrackPrimary && !n.linkUpLocked(c.Interface) {
		return true
	}
	for _, t := range c.TrackScripts {
		w, rev, ok := n.trackWeight(t)
		if (w == 0 || grouped) && ok == rev {
			return true
		}
	}
	for _, t := range c.TrackInterfaces {
		if (t.Weight == 0 || grouped) && n.linkUpLocked(t.Name) == t.Reverse {
			return true
		}
	}
	return false
}

func (n *Node) linkUpLocked(name string) bool {
	up, ok := n.links[name]
	return !ok || up
}

// watchLinks polls the state of every interface the instances use or track and
// refreshes priorities and faults when one changes.
func (n *Node) watchLinks(ctx context.Context) {
	t := time.NewTicker(n.opt.LinkPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n.pollLinks() {
			n.mu.Lock()
			n.refreshUnlock()
		}
		n.startWaiting()
	}
}

// pollLinks reads the state of the interfaces and reports whether one changed.
func (n *Node) pollLinks() bool {
	n.mu.Lock()
	names := map[string]bool{}
	for _, c := range n.cfg.Instances {
		names[c.Interface] = true
		for _, ti := range c.TrackInterfaces {
			names[ti.Name] = true
		}
	}
	for _, sg := range n.cfg.SyncGroups {
		for _, ti := range sg.TrackInterfaces {
			names[ti.Name] = true
		}
	}
	n.mu.Unlock()
	state := map[string]bool{}
	for name := range names {
		up, err := n.opt.LinkUp(name)
		state[name] = up && err == nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	dirty := false
	for name, up := range state {
		if n.linkUpLocked(name) != up {
			n.log.Info("interface state", "interface", name, "up", up)
			dirty = true
		}
		n.links[name] = up
	}
	return dirty
}

func linkUp(name string) (bool, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return false, err
	}
	return ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagRunning != 0, nil
}

func (n *Node) trackWeight(t config.TrackRef) (w int, rev, ok bool) {
	s := n.cfg.Script(t.Name)
	if s == nil {
		return 0, false, true
	}
	w, rev = s.Weight, s.Reverse
	if t.WeightSet {
		w, rev = t.Weight, t.Reverse
	}
	return w, rev, n.trackers[t.Name]
}

// scriptRunner runs the tracked vrrp_scripts on their intervals, applying
// fall/rise before reporting a change through Node.SetTracker.
type scriptRunner struct {
	n      *Node
	mu     sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup
	cfg    *config.VRRP
	ctx    context.Context
}

func newScriptRunner(n *Node, cfg *config.VRRP) *scriptRunner {
	return &scriptRunner{n: n, cfg: cfg}
}

func (r *scriptRunner) run(ctx context.Context) {
	r.mu.Lock()
	r.ctx = ctx
	r.startLocked()
	r.mu.Unlock()
	<-ctx.Done()
	r.mu.Lock()
	r.cancel()
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *scriptRunner) reload(cfg *config.VRRP) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cfg = cfg
	if r.ctx == nil {
		return
	}
	r.cancel()
	r.startLocked()
}

func (r *scriptRunner) startLocked() {
	ctx, cancel := context.WithCancel(r.ctx)
	r.cancel = cancel
	tracked := map[string]bool{}
	for _, in := range r.cfg.Instances {
		for _, t := range in.TrackScripts {
			tracked[t.Name] = true
		}
	}
	for _, sg := range r.cfg.SyncGroups {
		for _, t := range sg.TrackScripts {
			tracked[t.Name] = true
		}
	}
	g := r.cfg.Global
	for _, s := range r.cfg.Scripts {
		if !tracked[s.Name] {
			continue
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.loop(ctx, s, g)
		}()
	}
}

func (r *scriptRunner) loop(ctx context.Context, s *config.VRRPScript, g config.VRRPGlobal) {
	cmd := scriptCommand(g, s)
	probe := func(ctx context.Context) error { return r.n.opt.Exec(ctx, cmd) }
	if s.InProcess != nil {
		check := *s.InProcess
		probe = func(ctx context.Context) error { return r.n.opt.Check(ctx, check) }
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = s.Interval
	}
	// a reload restarts the loop: it goes on from the tracker's current result
	ok := r.n.trackerOK(s.Name, !s.InitFail)
	good, bad := 0, 0
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		err := probe(cctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			good, bad = good+1, 0
			if !ok && good >= s.Rise {
				ok = true
				r.n.log.Info("vrrp_script succeeded", "script", s.Name)
				r.n.SetTracker(s.Name, true)
			}
		} else {
			good, bad = 0, bad+1
			if ok && bad >= s.Fall {
				ok = false
				r.n.log.Info("vrrp_script failed", "script", s.Name, "err", err)
				r.n.SetTracker(s.Name, false)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// notifier runs notify scripts one at a time, in the order of transitions.
type notifier struct {
	log         *slog.Logger
	exec        func(context.Context, Command) error
	user, group string // global script_user
	q           chan notification
	done        chan struct{}

	mu     sync.Mutex
	closed bool
}

type notification struct {
	kind            string // INSTANCE or GROUP
	name, state     string
	prio            int
	specific, anyOf string
}

const notifyTimeout = 30 * time.Second

func newNotifier(log *slog.Logger, ex func(context.Context, Command) error, user, group string) *notifier {
	nt := &notifier{log: log, exec: ex, user: user, group: group, q: make(chan notification, 256), done: make(chan struct{})}
	go nt.loop()
	return nt
}

// enqueue schedules the notify_<state> script then the generic notify script,
// called with keepalived's arguments: INSTANCE NAME STATE PRIORITY.
func (nt *notifier) enqueue(name, state string, prio int, specific, anyOf string) {
	nt.add(notification{"INSTANCE", name, state, prio, specific, anyOf})
}

// enqueueGroup is enqueue for a vrrp_sync_group: GROUP NAME STATE PRIORITY.
func (nt *notifier) enqueueGroup(name, state string, prio int, specific, anyOf string) {
	nt.add(notification{"GROUP", name, state, prio, specific, anyOf})
}

func (nt *notifier) add(n notification) {
	if n.specific == "" && n.anyOf == "" {
		return
	}
	nt.mu.Lock()
	defer nt.mu.Unlock()
	if nt.closed {
		return
	}
	select {
	case nt.q <- n:
	default:
		nt.log.Warn("notify queue full; notification dropped", "name", n.name, "state", n.state)
	}
}

func (nt *notifier) loop() {
	defer close(nt.done)
	for n := range nt.q {
		if n.specific != "" {
			nt.run(strings.Fields(n.specific), n)
		}
		if n.anyOf != "" {
			nt.run(append(strings.Fields(n.anyOf), n.kind, n.name, n.state, strconv.Itoa(n.prio)), n)
		}
	}
}

func (nt *notifier) run(argv []string, n notification) {
	ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
	defer cancel()
	if err := nt.exec(ctx, Command{Argv: argv, User: nt.user, Group: nt.group}); err != nil {
		nt.log.Warn("notify script failed", "name", n.name, "state", n.state, "script", argv[0], "err", err)
	}
}

// close stops taking notifications and waits up to d for queued ones.
func (nt *notifier) close(d time.Duration) {
	nt.mu.Lock()
	if !nt.closed {
		nt.closed = true
		close(nt.q)
	}
	nt.mu.Unlock()
	select {
	case <-nt.done:
	case <-time.After(d):
	}
}
