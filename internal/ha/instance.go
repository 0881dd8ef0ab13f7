package ha

import (
	"context"
	"errors"
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

	garpAt       time.Time     // next gratuitous ARP burst
	garpRefresh  bool          // the burst at garpAt is a garp_master_refresh one
	garpGap      time.Duration // vrrp_garp_interval: between two GARPs
	gnaGap       time.Duration // vrrp_gna_interval: between two unsolicited NAs
	bursts       chan burst    // to the announcing goroutine
	burstGen     atomic.Uint64 // bumped when the VIPs go: pending bursts stop
	reconcileAt  time.Time
	lastRejectAt map[string]time.Time

	mu     sync.Mutex // guards status
	status InstanceStatus

	cancel context.CancelFunc
	done   chan struct{}
}

type prioEvent struct{ prio int }
type faultEvent struct{ fault bool }

const rejectLogEvery = 10 * time.Second

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
	for _, t := range []time.Time{in.garpAt, in.reconcileAt} {
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
		in.mu.Lock()
		if in.status.Rejected == nil {
			in.status.Rejected = map[string]uint64{}
		}
		in.status.Rejected[reason]++
		in.mu.Unlock()
		now := in.node.now()
		if last, ok := in.lastRejectAt[reason]; !ok || now.Sub(last) >= rejectLogEvery {
			in.lastRejectAt[reason] = now
			in.log.Warn("rejected an advert for our virtual router", "from", p.Src, "reason", reason)
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
		switch a := a.(type) {
		case vrrp.SendAdvert:
			in.send(a.Priority)
		case vrrp.AddVIPs:
			if err := in.node.vips.Set(in.vips, in.vips); err != nil {
				in.log.Error("adding virtual addresses", "err", err)
			}
			in.reconcileAt = in.node.now().Add(time.Second)
		case vrrp.RemoveVIPs:
			in.burstGen.Add(1)
			if err := in.node.vips.Set(in.vips, nil); err != nil {
				in.log.Error("removing virtual addresses", "err", err)
			}
			in.garpAt, in.reconcileAt = time.Time{}, time.Time{}
		case vrrp.Announce:
			in.announce(in.cfg.GARPMasterRepeat)
			in.garpRefresh = false
			if in.cfg.GARPMasterDelay > 0 {
				in.garpAt = in.node.now().Add(in.cfg.GARPMasterDelay)
			} else if in.cfg.GARPMasterRefresh > 0 {
				in.garpAt, in.garpRefresh = in.node.now().Add(in.cfg.GARPMasterRefresh), true
			}
		case vrrp.Transition:
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
}

// announce queues a burst of repeat rounds for the announcing goroutine, so that a
// vrrp_garp_interval never delays adverts.
func (in *instance) announce(repeat int) {
	b := burst{repeat: max(1, repeat), garpGap: in.garpGap, naGap: in.gnaGap, gen: in.burstGen.Load(), addrs: in.vips}
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

// periodic runs the second GARP burst (garp_master_repeat rounds), the refresh
// bursts (garp_master_refresh_repeat rounds) and the VIP reconcile.
func (in *instance) periodic(now time.Time) {
	if in.m.State() != vrrp.Master {
		return
	}
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
