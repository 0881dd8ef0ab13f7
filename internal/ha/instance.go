package ha

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"tandem/internal/config"
	"tandem/internal/vip"
	"tandem/internal/vrrp"
	"tandem/internal/vrrpnet"
)

// instance runs one vrrp_instance: it feeds the state machine with received
// adverts, timer expiries and priority changes, and carries out its actions.
type instance struct {
	cfg    *config.VRRPInstance
	node   *Node
	log    *slog.Logger
	m      *vrrp.Machine
	tr     Transport
	anns   map[string]Announcer // by interface
	dsts   []netip.Addr
	vips   []vip.Addr // VIPs and excluded VIPs: what this instance manages
	events chan any   // prioEvent, faultEvent
	// sync group: the latest state another member asks this one to follow,
	// and a coalescing kick (never blocks the member that sends it)
	syncMu   sync.Mutex
	syncWant vrrp.State
	syncKick chan struct{}
	pkts     chan vrrpnet.Packet

	garpAt      time.Time     // next gratuitous ARP burst
	garpRefresh bool          // the burst at garpAt is a garp_master_refresh one
	garpGap     time.Duration // vrrp_garp_interval: between two GARPs
	gnaGap      time.Duration // vrrp_gna_interval: between two unsolicited NAs
	bursts      chan burst    // to the announcing goroutine
	burstGen    atomic.Uint64 // bumped when the VIPs go: pending bursts stop
	reconcileAt time.Time

	mu     sync.Mutex // guards status, eps and tl
	status InstanceStatus
	eps    *episodes
	tl     *timeline

	// unicast peers' consecutive advert intervals unresolved (ARP / ND failing), and
	// when to ask next
	unresolved map[netip.Addr]int
	peersAt    time.Time

	// the takeover being timed (0: none), and the poll for its first served connection
	cur         uint64
	servedAt    time.Time
	servedUntil time.Time
	servedBase  uint64

	cancel context.CancelFunc
	done   chan struct{}
}

type prioEvent struct{ prio int }

// switchoverEvent asks a MASTER to hand over; the answer goes to reply (buffered).
type switchoverEvent struct{ reply chan error }
type faultEvent struct{ fault bool }

// quiet is how long an episode lasts past its last sign: four advert intervals, so
// that a peer advertising at the configured rate keeps it open.
func (in *instance) quiet() time.Duration { return 4 * in.cfg.AdvertInterval }

func (in *instance) run(ctx context.Context) {
	defer close(in.done)
	defer func() {
		for _, a := range in.anns {
			a.Close()
		}
	}()
	readCtx, stopRead := context.WithCancel(context.Background())
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		in.read(readCtx)
	}()
	go func() {
		defer readers.Done()
		in.announceLoop(readCtx)
	}()
	defer func() {
		stopRead()
		in.tr.Close() // unblocks the reader at once
		readers.Wait()
	}()

	// A crashed earlier run may have left the VIPs in place.
	if err := in.node.vips.Set(in.vips, nil); err != nil {
		in.log.Warn("removing leftover virtual addresses", "err", err)
	}
	in.apply(in.m.Step(vrrp.Startup{}, in.node.now()))
	in.updateStatus()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := in.nextWake()
		timer.Reset(max(0, next.Sub(in.node.now())))
		select {
		case <-ctx.Done():
			in.apply(in.m.Step(vrrp.Shutdown{}, in.node.now()))
			in.notify("STOP", in.cfg.Notify.Stop)
			in.updateStatus()
			return
		case p := <-in.pkts:
			in.receive(p)
		case <-in.syncKick:
			in.syncMu.Lock()
			want := in.syncWant
			in.syncMu.Unlock()
			in.apply(in.m.Step(vrrp.SyncTo{State: want}, in.node.now()))
		case ev := <-in.events:
			switch e := ev.(type) {
			case prioEvent:
				in.apply(in.m.Step(vrrp.PriorityChanged{Priority: e.prio}, in.node.now()))
			case faultEvent:
				in.apply(in.m.Step(vrrp.FaultChanged{Fault: e.fault}, in.node.now()))
			case switchoverEvent:
				if in.m.State() != vrrp.Master {
					e.reply <- fmt.Errorf("vrrp_instance %q is %s, not MASTER: nothing to hand over", in.cfg.Name, in.m.State())
					break
				}
				in.log.Info("planned switchover: handing the virtual router over")
				in.apply(in.m.Step(vrrp.Switchover{}, in.node.now()))
				in.updateStatus() // before the answer: the caller reads the status next
				e.reply <- nil
			}
		case <-timer.C:
			now := in.node.now()
			in.apply(in.m.Step(vrrp.Timeout{}, now))
			in.periodic(now)
		}
		in.updateStatus()
	}
}

// nextWake is the earliest of the machine's deadline and the announce and
// reconcile schedules.
func (in *instance) nextWake() time.Time {
	next := in.m.Deadline()
	in.mu.Lock()
	epAt := in.eps.nextExpiry(in.quiet())
	in.mu.Unlock()
	for _, t := range []time.Time{in.garpAt, in.reconcileAt, epAt, in.servedAt} {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if next.IsZero() {
		next = in.node.now().Add(time.Hour)
	}
	return next
}

func (in *instance) read(ctx context.Context) {
	buf := make([]byte, 65535)
	for ctx.Err() == nil {
		p, err := in.tr.Read(buf, time.Now().Add(250*time.Millisecond))
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			if ctx.Err() == nil {
				in.log.Warn("reading adverts", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
			}
			continue
		}
		p.Data = append([]byte(nil), p.Data...)
		select {
		case in.pkts <- p:
		case <-ctx.Done():
			return
		}
	}
}

func (in *instance) receive(p vrrpnet.Packet) {
	adv, other, reason := check(in.cfg, in.tr.Src(), p)
	if other {
		return
	}
	if reason != "" {
		now := in.node.now()
		in.mu.Lock()
		if in.status.Rejected == nil {
			in.status.Rejected = map[string]uint64{}
		}
		in.status.Rejected[reason]++
		started := in.eps.observe(EpisodeConfigMismatch, now, p.Src, reason)
		in.mu.Unlock()
		if started {
			// once per episode, not per advert; the end is logged with the count
			in.log.Warn("split brain risk: rejecting adverts for our virtual router from a router configured differently; each side ignores the other",
				"episode", EpisodeConfigMismatch, "peer", p.Src, "reason", reason, "vrid", in.cfg.VRID)
		}
		return
	}
	in.mu.Lock()
	in.status.AdvertsReceived++
	in.mu.Unlock()
	in.apply(in.m.Step(vrrp.AdvertReceived{Src: p.Src, Priority: adv.Priority, Interval: adv.Interval}, in.node.now()))
}

func (in *instance) apply(acts []vrrp.Action) {
	for _, a := range acts {
		// a takeover's timeline starts before its first action is carried out
		if tr, ok := a.(vrrp.Transition); ok && tr.To == vrrp.Master {
			in.mu.Lock()
			in.cur = in.tl.begin(tr)
			in.mu.Unlock()
		}
	}
	for _, a := range acts {
		switch a := a.(type) {
		case vrrp.SendAdvert:
			in.send(a.Priority)
		case vrrp.AddVIPs:
			if err := in.node.vips.Set(in.vips, in.vips); err != nil {
				in.log.Error("adding virtual addresses", "err", err)
			}
			now := in.node.now()
			in.reconcileAt = now.Add(time.Second)
			if in.cur != 0 {
				in.mu.Lock()
				in.tl.stamp(in.cur, StageVIPsAdded, now)
				in.mu.Unlock()
				in.watchServed(now)
			}
		case vrrp.RemoveVIPs:
			in.burstGen.Add(1)
			if err := in.node.vips.Set(in.vips, nil); err != nil {
				in.log.Error("removing virtual addresses", "err", err)
			}
			in.garpAt, in.reconcileAt = time.Time{}, time.Time{}
		case vrrp.Announce:
			in.announceFor(in.cfg.GARPMasterRepeat, in.cur)
			in.garpRefresh = false
			if in.cfg.GARPMasterDelay > 0 {
				in.garpAt = in.node.now().Add(in.cfg.GARPMasterDelay)
			} else if in.cfg.GARPMasterRefresh > 0 {
				in.garpAt, in.garpRefresh = in.node.now().Add(in.cfg.GARPMasterRefresh), true
			}
		case vrrp.PeerMaster:
			in.peerMaster(a)
		case vrrp.Transition:
			if a.To != vrrp.Master {
				in.cur, in.servedAt = 0, time.Time{}
			}
			if a.From == vrrp.Master {
				in.mu.Lock()
				ep, ended := in.eps.end(EpisodeDualMaster, in.node.now())
				in.mu.Unlock()
				if ended {
					in.logEnded(ep)
				}
			}
			in.log.Info("state change", "from", a.From.String(), "to", a.To.String(), "priority", in.m.Priority(), "reason", a.Reason)
			in.mu.Lock()
			in.status.Since = in.node.now()
			ev := TransitionEvent{At: in.status.Since, From: a.From.String(), To: a.To.String(), Reason: a.Reason}
			if len(in.status.Transitions) >= maxTransitions {
				in.status.Transitions = append(in.status.Transitions[:0:0], in.status.Transitions[1:]...)
			}
			in.status.Transitions = append(in.status.Transitions, ev)
			in.mu.Unlock()
			in.node.synced(in, a.To)
			switch a.To {
			case vrrp.Master:
				in.notify("MASTER", in.cfg.Notify.Master)
			case vrrp.Backup:
				in.notify("BACKUP", in.cfg.Notify.Backup)
			case vrrp.Fault:
				in.notify("FAULT", in.cfg.Notify.Fault)
			}
		}
	}
}

func (in *instance) send(prio uint8) {
	for _, dst := range in.dsts {
		adv := advertFor(in.cfg, prio, in.tr.Src(), dst)
		msg, err := adv.MarshalBinary()
		if err == nil {
			err = in.tr.Write(msg, dst)
		}
		if err != nil {
			in.log.Warn("sending advert", "to", dst, "err", err)
			continue
		}
		in.mu.Lock()
		in.status.AdvertsSent++
		in.mu.Unlock()
	}
}

// burst is repeat rounds of GARP / NA for addrs, each followed by the gap of its
// family (vrrp_garp_interval for IPv4, vrrp_gna_interval for IPv6).
type burst struct {
	addrs          []vip.Addr
	repeat         int
	garpGap, naGap time.Duration
	gen            uint64
	seq            uint64 // the takeover this burst announces (0: a later burst)
}

// announce queues a burst of repeat rounds for the announcing goroutine, so that a
// vrrp_garp_interval never delays adverts.
func (in *instance) announce(repeat int) { in.announceFor(repeat, 0) }

// announceFor is announce for the takeover seq (0: none), whose first GARP it times.
func (in *instance) announceFor(repeat int, seq uint64) {
	b := burst{repeat: max(1, repeat), garpGap: in.garpGap, naGap: in.gnaGap, gen: in.burstGen.Load(), addrs: in.vips, seq: seq}
	select {
	case in.bursts <- b:
	default:
		in.log.Warn("announcements queued up; burst dropped")
	}
}

func (in *instance) announceLoop(ctx context.Context) {
	for {
		var b burst
		select {
		case <-ctx.Done():
			return
		case b = <-in.bursts:
		}
		for range b.repeat {
			for _, a := range b.addrs {
				if in.burstGen.Load() != b.gen || ctx.Err() != nil {
					break
				}
				if ann := in.anns[a.Dev]; ann != nil {
					if err := ann.Announce([]netip.Addr{a.Prefix.Addr()}); err != nil {
						in.log.Warn("announcing virtual address", "addr", a.Prefix.Addr(), "dev", a.Dev, "err", err)
					} else if b.seq != 0 {
						in.mu.Lock()
						in.tl.stamp(b.seq, StageFirstGARP, in.node.now())
						in.mu.Unlock()
						b.seq = 0
					}
				}
				gap := b.garpGap
				if a.Prefix.Addr().Is6() {
					gap = b.naGap
				}
				if gap > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(gap):
					}
				}
			}
		}
	}
}

// peerMaster counts and logs, once per episode, an advert from another master while
// this instance is MASTER.
func (in *instance) peerMaster(a vrrp.PeerMaster) {
	now := in.node.now()
	in.mu.Lock()
	in.status.PeerMasterAdverts++
	switch {
	case a.Returned:
		since := in.status.Since
		ep := in.eps.instant(EpisodeMasterReturned, now, a.Src,
			fmt.Sprintf("master %v (priority %d) advertises again; this node was MASTER since %s after it went silent, and yields",
				a.Src, a.Priority, since.UTC().Format(time.RFC3339Nano)))
		in.mu.Unlock()
		in.log.Warn("split brain healed: the master this node took over from advertises again (a partition healed, or it restarted); yielding",
			"episode", ep.Kind, "peer", a.Src, "peer_priority", a.Priority, "priority", a.Ours, "master_for", now.Sub(since).Round(time.Millisecond).String())
	case !a.Yield:
		started := in.eps.observe(EpisodeDualMaster, now, a.Src,
			fmt.Sprintf("%v advertises priority %d while this node is MASTER with %d; it should yield", a.Src, a.Priority, a.Ours))
		in.mu.Unlock()
		if a.Priority < a.Ours {
			// keepalived runs notify_master_rx_lower_pri, as written, for each such advert
			in.node.notifier.enqueue(in.cfg.Name, "MASTER_RX_LOWER_PRI", int(a.Ours), in.cfg.Notify.MasterRxLowerPri, "")
		}
		if started {
			in.log.Warn("split brain: another master advertises our virtual router and does not yield",
				"episode", EpisodeDualMaster, "peer", a.Src, "peer_priority", a.Priority, "priority", a.Ours, "vrid", in.cfg.VRID)
		}
	default:
		in.mu.Unlock() // a higher master preempts this one: the protocol at work
	}
}

// servedPoll is how often a new master asks the proxy whether a VIP served a
// connection yet, and servedFor how long it keeps asking.
const (
	servedPoll = 5 * time.Millisecond
	servedFor  = time.Minute
)

// watchServed starts polling the proxy for the first connection on the VIPs.
func (in *instance) watchServed(now time.Time) {
	served := in.node.opt.Served
	if served == nil {
		return
	}
	n, ok := served(vipAddrs(in))
	if !ok {
		return // no frontend binds a VIP: the proxy cannot tell
	}
	in.servedBase, in.servedAt, in.servedUntil = n, now.Add(servedPoll), now.Add(servedFor)
}

func (in *instance) pollServed(now time.Time) {
	if in.servedAt.IsZero() || now.Before(in.servedAt) {
		return
	}
	n, ok := in.node.opt.Served(vipAddrs(in))
	switch {
	case ok && n > in.servedBase:
		in.mu.Lock()
		in.tl.stamp(in.cur, StageFirstServed, now)
		in.mu.Unlock()
		in.servedAt = time.Time{}
	case !ok || now.After(in.servedUntil):
		in.servedAt = time.Time{}
	default:
		in.servedAt = now.Add(servedPoll)
	}
}

// checkPeers asks, once per advert interval of a unicast MASTER, whether each
// unicast_peer still answers ARP / ND; two intervals in a row without is a partition
// seen from this side (one episode, logged once).
func (in *instance) checkPeers(now time.Time) {
	if !in.cfg.Unicast() || now.Before(in.peersAt) {
		return
	}
	in.peersAt = now.Add(in.cfg.AdvertInterval - in.cfg.AdvertInterval/10)
	if in.unresolved == nil {
		in.unresolved = map[netip.Addr]int{}
	}
	for _, up := range in.cfg.UnicastPeers {
		ok, err := in.node.opt.NeighborResolved(in.cfg.Interface, up.Addr)
		if err != nil || ok {
			in.unresolved[up.Addr] = 0
			continue
		}
		in.unresolved[up.Addr]++
		if in.unresolved[up.Addr] < 2 {
			continue
		}
		in.mu.Lock()
		started := in.eps.observe(EpisodePeerUnreachable, now, up.Addr,
			fmt.Sprintf("unicast_peer %v does not answer ARP / neighbour solicitations on %s: the link to it is cut; it is likely MASTER too", up.Addr, in.cfg.Interface))
		in.mu.Unlock()
		if started {
			in.log.Warn("split brain likely: this MASTER's unicast peer does not answer ARP / neighbour solicitations; a partition",
				"episode", EpisodePeerUnreachable, "peer", up.Addr, "interface", in.cfg.Interface)
		}
	}
}

func (in *instance) logEnded(ep Episode) {
	in.log.Info("split brain episode ended", "episode", ep.Kind, "peer", ep.Peer, "adverts", ep.Adverts,
		"lasted", ep.End.Sub(ep.Start).Round(time.Millisecond).String())
}

// periodic runs the second GARP burst (garp_master_repeat rounds), the refresh
// bursts (garp_master_refresh_repeat rounds) and the VIP reconcile.
func (in *instance) periodic(now time.Time) {
	in.mu.Lock()
	ended := in.eps.expire(now, in.quiet())
	in.mu.Unlock()
	in.pollServed(now)
	for _, ep := range ended {
		in.logEnded(ep)
	}
	if in.m.State() != vrrp.Master {
		clear(in.unresolved)
		return
	}
	in.checkPeers(now)
	if !in.garpAt.IsZero() && !now.Before(in.garpAt) {
		if in.garpRefresh {
			in.announce(in.cfg.GARPMasterRefreshRepeat)
		} else {
			in.announce(in.cfg.GARPMasterRepeat)
		}
		in.garpAt, in.garpRefresh = time.Time{}, false
		if in.cfg.GARPMasterRefresh > 0 {
			in.garpAt, in.garpRefresh = now.Add(in.cfg.GARPMasterRefresh), true
		}
	}
	if !in.reconcileAt.IsZero() && !now.Before(in.reconcileAt) {
		if err := in.node.vips.Set(in.vips, in.vips); err != nil {
			in.log.Warn("re-applying virtual addresses", "err", err)
		}
		in.reconcileAt = now.Add(time.Second)
	}
}

func (in *instance) notify(state, script string) {
	in.node.notifier.enqueue(in.cfg.Name, state, int(in.m.Priority()), script, in.cfg.Notify.Any)
}

func (in *instance) updateStatus() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.status.State = in.m.State().String()
	in.status.Priority = int(in.m.Priority())
	in.status.Master = in.m.MasterAddr()
	in.status.HandingOver = in.m.HandingOver()
}

// awaitHandover waits (bounded by Master_Down_Interval and a margin) for the switchover
// the instance loop started to end: another router advertised (nil), or none did and
// this node is MASTER again.
func (in *instance) awaitHandover() error {
	bound := 4*in.cfg.AdvertInterval + 2*time.Second
	end := time.Now().Add(bound)
	for time.Now().Before(end) {
		st := in.snapshot()
		switch {
		case st.State == vrrp.Master.String():
			return fmt.Errorf("vrrp_instance %q: no router took over within Master_Down_Interval; this node is MASTER again (its addresses never left)", in.cfg.Name)
		case !st.HandingOver:
			return nil
		}
		select {
		case <-in.done:
			return fmt.Errorf("vrrp_instance %q stopped during the switchover", in.cfg.Name)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return fmt.Errorf("vrrp_instance %q: the switchover did not end within %v", in.cfg.Name, bound)
}

func (in *instance) snapshot() InstanceStatus {
	in.mu.Lock()
	defer in.mu.Unlock()
	s := in.status
	s.Transitions = append([]TransitionEvent(nil), in.status.Transitions...)
	s.Rejected = make(map[string]uint64, len(in.status.Rejected))
	for k, v := range in.status.Rejected {
		s.Rejected[k] = v
	}
	s.Episodes, s.EpisodeLog = in.eps.snapshot()
	s.Takeovers, s.StageHistograms = in.tl.snapshot()
	return s
}

// post hands an event to the instance loop without blocking past its stop.
func (in *instance) post(ev any) {
	select {
	case in.events <- ev:
	case <-in.done:
	}
}

// follow asks the instance to follow its sync group into state s.
func (in *instance) follow(s vrrp.State) {
	in.syncMu.Lock()
	in.syncWant = s
	in.syncMu.Unlock()
	select {
	case in.syncKick <- struct{}{}:
	default:
	}
}
