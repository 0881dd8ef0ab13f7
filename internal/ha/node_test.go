package ha

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tandem/internal/config"
	"tandem/internal/config/keepalived"
	"tandem/internal/vip"
	"tandem/internal/vrrp"
	"tandem/internal/vrrpnet"
)

// hub is an in-memory link: what one transport writes, the others read, as a
// switch would deliver multicast.
type hub struct {
	mu    sync.Mutex
	ports []*port
	cut   bool // the link is cut: every packet is lost
}

func (h *hub) setCut(cut bool) {
	h.mu.Lock()
	h.cut = cut
	h.mu.Unlock()
}

type port struct {
	h      *hub
	src    netip.Addr
	in     chan vrrpnet.Packet
	down   bool
	closed chan struct{}
}

func (h *hub) attach(src string) *port {
	p := &port{h: h, src: netip.MustParseAddr(src), in: make(chan vrrpnet.Packet, 256), closed: make(chan struct{})}
	h.mu.Lock()
	h.ports = append(h.ports, p)
	h.mu.Unlock()
	return p
}

func (p *port) Read(buf []byte, deadline time.Time) (vrrpnet.Packet, error) {
	select {
	case pk := <-p.in:
		return pk, nil
	case <-p.closed:
		return vrrpnet.Packet{}, net.ErrClosed
	case <-time.After(time.Until(deadline)):
		return vrrpnet.Packet{}, os.ErrDeadlineExceeded
	}
}

func (p *port) Write(msg []byte, dst netip.Addr) error {
	p.h.mu.Lock()
	defer p.h.mu.Unlock()
	if p.down || p.h.cut {
		return nil
	}
	for _, o := range p.h.ports {
		if o != p && !o.down && (dst == o.src || dst.IsMulticast()) {
			select {
			case o.in <- vrrpnet.Packet{Src: p.src, Dst: dst, TTL: 255, Data: append([]byte(nil), msg...)}:
			default:
			}
		}
	}
	return nil
}

func (p *port) Src() netip.Addr { return p.src }
func (p *port) Close() error {
	p.h.mu.Lock()
	if !p.down {
		p.down = true
		close(p.closed)
	}
	p.h.mu.Unlock()
	return nil
}

// addrs records the VIPs a node holds.
type addrs struct {
	mu   sync.Mutex
	held map[netip.Prefix]bool
}

func (a *addrs) Set(managed, desired []vip.Addr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.held == nil {
		a.held = map[netip.Prefix]bool{}
	}
	for _, m := range managed {
		delete(a.held, m.Prefix)
	}
	for _, d := range desired {
		a.held[d.Prefix] = true
	}
	return nil
}

func (a *addrs) holds(p string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.held[netip.MustParsePrefix(p)]
}

// countAnnouncer counts announced addresses.
type countAnnouncer struct{ n *atomic.Int64 }

func (a countAnnouncer) Announce(addrs []netip.Addr) error { a.n.Add(int64(len(addrs))); return nil }
func (countAnnouncer) Close() error                        { return nil }

type testNode struct {
	linkMu sync.Mutex
	down   map[string]bool // interfaces reported down
	node   *Node
	vips   *addrs
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	err    error
	t      *testing.T
	execs  chan []string
	garps  atomic.Int64
	logs   logBuf
}

// logBuf collects a node's log lines.
type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// count is how many lines contain sub.
func (l *logBuf) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), sub)
}

func conf(t *testing.T, prio int, extra string) *config.VRRP {
	t.Helper()
	return confWith(t, "", prio, extra)
}

func confWith(t *testing.T, pre string, prio int, extra string) *config.VRRP {
	t.Helper()
	src := pre + `vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority ` + strconv.Itoa(prio) + `
    version 3
    advert_int 0.05
    virtual_ipaddress {
        198.18.0.100
    }
` + extra + `
}
`
	v, err := keepalived.Parse("test.conf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func start(t *testing.T, h *hub, src string, cfg *config.VRRP, tweak ...func(*Options)) *testNode {
	t.Helper()
	tn := &testNode{t: t, vips: &addrs{}, done: make(chan struct{}), execs: make(chan []string, 64), down: map[string]bool{}}
	opt := Options{
		Logger:    slog.New(slog.NewTextHandler(&tn.logs, nil)),
		Listen:    func(*config.VRRPInstance) (Transport, error) { return h.attach(src), nil },
		Announcer: func(string) (Announcer, error) { return countAnnouncer{&tn.garps}, nil },
		VIPs:      tn.vips,
		LinkPoll:  10 * time.Millisecond,
		LinkUp: func(name string) (bool, error) {
			tn.linkMu.Lock()
			defer tn.linkMu.Unlock()
			return !tn.down[name], nil
		},
		Exec: func(_ context.Context, c Command) error {
			argv := c.Argv
			tn.execs <- argv
			if argv[0] == "false" {
				return os.ErrInvalid
			}
			return nil
		},
	}
	for _, f := range tweak {
		f(&opt)
	}
	n, err := New(cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	tn.node = n
	ctx, cancel := context.WithCancel(context.Background())
	tn.cancel = cancel
	go func() {
		tn.err = n.Run(ctx)
		close(tn.done)
	}()
	t.Cleanup(tn.stop)
	return tn
}

func (tn *testNode) setLink(name string, up bool) {
	tn.linkMu.Lock()
	defer tn.linkMu.Unlock()
	tn.down[name] = !up
}

func (tn *testNode) stop() {
	tn.cancel()
	select {
	case <-tn.done:
		if tn.err != nil {
			tn.t.Errorf("Run: %v", tn.err)
		}
	case <-time.After(2 * time.Second):
		tn.t.Errorf("Run did not return within 2s of cancel")
	}
}

func (tn *testNode) state() string {
	st := tn.node.Status()
	if len(st) == 0 {
		return ""
	}
	return st[0].State
}

// waitFor polls cond (bounded) and fails with what if it never holds.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(within)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("after %v: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const vipA = "198.18.0.100/32"

func TestTwoNodesOneMasterAndCleanFailover(t *testing.T) {
	h := &hub{}
	a := start(t, h, "198.18.0.1", conf(t, 101, ""))
	b := start(t, h, "198.18.0.2", conf(t, 100, ""))
	waitFor(t, 2*time.Second, "A master and B backup", func() bool { return a.state() == "MASTER" && b.state() == "BACKUP" })
	if !a.vips.holds(vipA) || b.vips.holds(vipA) {
		t.Fatalf("VIP held by A %v B %v", a.vips.holds(vipA), b.vips.holds(vipA))
	}
	stopped := time.Now()
	a.stop()
	if a.vips.holds(vipA) {
		t.Errorf("A still holds the VIP after stop")
	}
	waitFor(t, time.Second, "B master after A's priority-0 advert", func() bool { return b.state() == "MASTER" })
	// priority 0 makes B wait only Skew_Time (0.61 * 50ms), not 3 intervals
	if d := time.Since(stopped); d > 150*time.Millisecond {
		t.Errorf("failover after clean stop took %v", d)
	}
	if !b.vips.holds(vipA) {
		t.Errorf("B does not hold the VIP")
	}
}

func TestRejectedAdvertsAreCountedAndNeverSilent(t *testing.T) {
	h := &hub{}
	// 0.2s adverts: an episode outlives 0.8s without a rejected advert, even on a busy machine
	a := start(t, h, "198.18.0.1", conf(t, 101, "advert_int 0.2\n"))
	// B has another VIP list: keepalived (and tandem) must drop A's adverts.
	cfgB := conf(t, 100, "advert_int 0.2\n")
	cfgB.Instances[0].VIPs[0].Prefix = netip.MustParsePrefix("198.18.0.200/32")
	b := start(t, h, "198.18.0.2", cfgB)
	waitFor(t, 5*time.Second, "B counts rejected adverts", func() bool {
		st := b.node.Status()
		return len(st) == 1 && st[0].Rejected["virtual address 198.18.0.200 missing from the advert"] > 5
	})
	// many rejected adverts, one episode, logged once
	st := b.node.Status()[0]
	if st.Episodes[EpisodeConfigMismatch] != 1 || b.logs.count("split brain risk") != 1 {
		t.Errorf("config mismatch episodes %d, logged %d times; want 1 and 1", st.Episodes[EpisodeConfigMismatch], b.logs.count("split brain risk"))
	}
	if n := len(st.EpisodeLog); n != 1 || st.EpisodeLog[0].Peer != netip.MustParseAddr("198.18.0.1") || !st.EpisodeLog[0].End.IsZero() {
		t.Errorf("episode log = %+v, want one active episode from A", st.EpisodeLog)
	}
	// A stops: the episode ends after four intervals without a rejected advert
	a.stop()
	waitFor(t, 3*time.Second, "the episode ends", func() bool { return b.logs.count("split brain episode ended") == 1 })
	if st := b.node.Status()[0]; len(st.EpisodeLog) != 1 || st.EpisodeLog[0].End.IsZero() || st.Episodes[EpisodeConfigMismatch] != 1 {
		t.Errorf("after the end: %+v", st.EpisodeLog)
	}
}

func TestScriptTrackingMovesMastership(t *testing.T) {
	h := &hub{}
	extra := "track_script {\n chk\n}\n"
	mk := func(prio int, cmd string) *config.VRRP {
		v := confWith(t, "vrrp_script chk {\n script "+cmd+"\n fall 2\n weight -10\n}\n", prio, extra)
		v.Scripts[0].Interval = 20 * time.Millisecond
		return v
	}
	a := start(t, h, "198.18.0.1", mk(105, "false"))
	b := start(t, h, "198.18.0.2", mk(100, "true"))
	// A's check fails twice (fall 2): 105-10 = 95 < 100, so B preempts.
	waitFor(t, 3*time.Second, "B master after A's script fails", func() bool { return b.state() == "MASTER" && a.state() == "BACKUP" })
	if st := a.node.Status()[0]; st.Priority != 95 {
		t.Errorf("A priority = %d, want 95", st.Priority)
	}
	// SetTracker (the in-process hook) moves it back: 105 > 100, A preempts.
	a.node.SetTracker("chk", true)
	waitFor(t, 3*time.Second, "A master again after SetTracker(chk, true)", func() bool { return a.state() == "MASTER" && b.state() == "BACKUP" })
}

func TestNotifyScriptsInOrderWithKeepalivedArguments(t *testing.T) {
	h := &hub{}
	a := start(t, h, "198.18.0.1", conf(t, 101, "notify_master \"/bin/m arg\"\nnotify_backup /bin/b\nnotify /bin/any\n"))
	var got [][]string
	waitFor(t, 2*time.Second, "notify on BACKUP then MASTER", func() bool {
		for {
			select {
			case argv := <-a.execs:
				got = append(got, argv)
				continue
			default:
			}
			return len(got) >= 4
		}
	})
	want := [][]string{{"/bin/b"}, {"/bin/any", "INSTANCE", "VI_1", "BACKUP", "101"},
		{"/bin/m", "arg"}, {"/bin/any", "INSTANCE", "VI_1", "MASTER", "101"}}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("notify %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestReloadUnchangedInstanceKeepsState(t *testing.T) {
	h := &hub{}
	a := start(t, h, "198.18.0.1", conf(t, 101, ""))
	waitFor(t, 2*time.Second, "A master", func() bool { return a.state() == "MASTER" })
	since := a.node.Status()[0].Since
	// Same instance, written elsewhere in the file (positions differ).
	v, err := keepalived.Parse("other.conf", []byte("\n\n"+confText(101)))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.node.Reload(v); err != nil {
		t.Fatal(err)
	}
	st := a.node.Status()[0]
	if st.State != "MASTER" || !st.Since.Equal(since) || !a.vips.holds(vipA) {
		t.Errorf("after reload: %+v (since %v before)", st, since)
	}
	// A changed priority restarts the instance (it goes through BACKUP again).
	if err := a.node.Reload(conf(t, 50, "")); err != nil {
		t.Fatal(err)
	}
	if st := a.node.Status()[0]; st.BasePriority != 50 {
		t.Errorf("after changing reload: %+v", st)
	}
}

func confText(prio int) string {
	return "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority " + strconv.Itoa(prio) +
		"\n version 3\n advert_int 0.05\n virtual_ipaddress {\n 198.18.0.100\n }\n}\n"
}

func TestCheckMatchesKeepalivedRules(t *testing.T) {
	v, err := keepalived.Parse("k.conf", []byte(`vrrp_instance V {
 interface eth0
 virtual_router_id 51
 priority 100
 advert_int 1
 authentication {
  auth_type PASS
  auth_pass 1111
 }
 virtual_ipaddress {
  198.18.0.100
 }
}`))
	if err != nil {
		t.Fatal(err)
	}
	in := v.Instances[0]
	self, peer := netip.MustParseAddr("198.18.0.2"), netip.MustParseAddr("198.18.0.1")
	mk := func(mod func(*vrrp.Advert)) []byte {
		a := advertFor(in, 101, peer, vrrp.GroupV4)
		mod(&a)
		b, err := a.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name   string
		data   []byte
		ttl    int
		src    netip.Addr
		other  bool
		reason string
	}{
		{"valid", mk(func(*vrrp.Advert) {}), 255, peer, false, ""},
		{"own advert", mk(func(*vrrp.Advert) {}), 255, self, true, ""},
		{"other vrid", mk(func(a *vrrp.Advert) { a.VRID = 52 }), 255, peer, true, ""},
		{"ttl", mk(func(*vrrp.Advert) {}), 254, peer, false, "TTL 254, must be 255"},
		{"password", mk(func(a *vrrp.Advert) { a.AuthData = [8]byte{'2'} }), 255, peer, false, "wrong auth_pass"},
		{"auth type", mk(func(a *vrrp.Advert) { a.AuthType = 0 }), 255, peer, false, "auth type 0, configured 1"},
		{"interval", mk(func(a *vrrp.Advert) { a.Interval = 2 * time.Second }), 255, peer, false, "advert interval 2s, configured 1s"},
		{"vip count", mk(func(a *vrrp.Advert) { a.Addrs = append(a.Addrs, peer) }), 255, peer, false, "2 virtual addresses, configured 1"},
		{"version", func() []byte {
			a := advertFor(in, 101, peer, vrrp.GroupV4)
			a.Version, a.AuthType, a.AuthData = 3, 0, [8]byte{}
			b, _ := a.MarshalBinary()
			return b
		}(), 255, peer, false, "version 3, configured 2"},
		{"checksum", func() []byte { b := mk(func(*vrrp.Advert) {}); b[6]++; return b }(), 255, peer, false, "bad checksum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, other, reason := check(in, self, vrrpnet.Packet{Src: tt.src, Dst: vrrp.GroupV4, TTL: tt.ttl, Data: tt.data})
			if other != tt.other || reason != tt.reason {
				t.Errorf("other %v reason %q, want %v %q", other, reason, tt.other, tt.reason)
			}
			if reason != "" && RejectClass(reason) == "other" {
				t.Errorf("reason %q has no class for the metric", reason)
			}
		})
	}
	for reason, class := range map[string]string{"TTL 254, must be 255": "ttl", "wrong auth_pass": "auth", "auth type 0, configured 1": "auth",
		"advert interval 2s, configured 1s": "interval", "2 virtual addresses, configured 1": "addresses", "virtual address 198.18.0.9 missing from the advert": "addresses",
		"version 3, configured 2": "version", "bad checksum": "checksum", "malformed: short": "malformed"} {
		if got := RejectClass(reason); got != class {
			t.Errorf("RejectClass(%q) = %q, want %q", reason, got, class)
		}
	}
}

// keepalived: an instance whose interface goes down enters FAULT (a master
// sends priority 0 and drops its VIPs); track_interface with a weight moves
// the priority instead.
func TestInterfaceTracking(t *testing.T) {
	h := &hub{}
	a := start(t, h, "198.18.0.1", conf(t, 101, "track_interface {\n eth1 weight -5\n}\n"))
	b := start(t, h, "198.18.0.2", conf(t, 100, ""))
	waitFor(t, 2*time.Second, "A master", func() bool { return a.state() == "MASTER" && b.state() == "BACKUP" })

	a.setLink("eth1", false) // 101-5 = 96 < 100: B preempts
	waitFor(t, 2*time.Second, "B master after A's tracked interface went down", func() bool { return b.state() == "MASTER" && a.state() == "BACKUP" })
	if p := a.node.Status()[0].Priority; p != 96 {
		t.Errorf("A priority = %d, want 96", p)
	}
	a.setLink("eth1", true)
	waitFor(t, 2*time.Second, "A master again", func() bool { return a.state() == "MASTER" && b.state() == "BACKUP" })

	a.setLink("eth0", false) // the instance's own interface: FAULT
	waitFor(t, time.Second, "A in FAULT without the VIP, B master", func() bool {
		return a.state() == "FAULT" && !a.vips.holds(vipA) && b.state() == "MASTER"
	})
	a.setLink("eth0", true)
	waitFor(t, 2*time.Second, "A leaves FAULT and preempts", func() bool { return a.state() == "MASTER" && b.state() == "BACKUP" })
}

func groupConf(t *testing.T, prio int) *config.VRRP {
	t.Helper()
	src := ""
	for i, ifname := range []string{"eth0", "eth1"} {
		src += "vrrp_instance VI_" + strconv.Itoa(i+1) + " {\n interface " + ifname + "\n virtual_router_id " + strconv.Itoa(51+i) +
			"\n priority " + strconv.Itoa(prio) + "\n version 3\n advert_int 0.05\n virtual_ipaddress {\n 198.18.0." + strconv.Itoa(100+i) + "\n }\n}\n"
	}
	src += "vrrp_sync_group G {\n group {\n VI_1\n VI_2\n }\n notify_master /bin/gm\n notify /bin/gany\n}\n"
	v, err := keepalived.Parse("group.conf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func states(tn *testNode) []string {
	var out []string
	for _, st := range tn.node.Status() {
		out = append(out, st.State)
	}
	return out
}

// keepalived vrrp_sync_group: a fault of one member is a fault of the whole
// group, so the peer takes over every member; group notify scripts get
// GROUP NAME STATE PRIORITY.
func TestSyncGroupFollowsTogether(t *testing.T) {
	h := &hub{}
	a := start(t, h, "198.18.0.1", groupConf(t, 101))
	b := start(t, h, "198.18.0.2", groupConf(t, 100))
	both := func(tn *testNode, s string) bool { return slices.Equal(states(tn), []string{s, s}) }
	waitFor(t, 2*time.Second, "A master of both", func() bool { return both(a, "MASTER") && both(b, "BACKUP") })

	a.setLink("eth1", false) // only VI_2's interface
	waitFor(t, 2*time.Second, "A FAULT in both, B master of both", func() bool { return both(a, "FAULT") && both(b, "MASTER") })
	if a.vips.holds("198.18.0.100/32") || !b.vips.holds("198.18.0.100/32") || !b.vips.holds("198.18.0.101/32") {
		t.Errorf("VIPs not moved together")
	}
	var got [][]string
	waitFor(t, time.Second, "B's group notify", func() bool {
		for {
			select {
			case argv := <-b.execs:
				got = append(got, argv)
				continue
			default:
			}
			return slices.ContainsFunc(got, func(a []string) bool { return slices.Equal(a, []string{"/bin/gany", "GROUP", "G", "MASTER", "100"}) })
		}
	})
	if !slices.ContainsFunc(got, func(a []string) bool { return slices.Equal(a, []string{"/bin/gm"}) }) {
		t.Errorf("notify_master of the group not run: %q", got)
	}
	a.setLink("eth1", true)
	waitFor(t, 2*time.Second, "A master of both again", func() bool { return both(a, "MASTER") && both(b, "BACKUP") })
}

// "transition of one instance will be reflected to others group members": VI_2
// (advert_int 5, so 15s before it would take over alone) becomes master with
// VI_1 (advert_int 0.05).
func TestSyncGroupMemberFollowsIntoMaster(t *testing.T) {
	v := groupConf(t, 101)
	v.Instances[1].AdvertInterval = 5 * time.Second
	a := start(t, &hub{}, "198.18.0.1", v)
	waitFor(t, time.Second, "both members master", func() bool { return slices.Equal(states(a), []string{"MASTER", "MASTER"}) })
}

// An in-process tracker (vrrp_script "tandem:backend app min 2") is evaluated by
// Options.Check on its interval with fall/rise, no fork/exec.
func TestInProcessTracker(t *testing.T) {
	h := &hub{}
	pre := "vrrp_script proxy {\n script \"tandem:backend app min 2\"\n interval 0.02\n fall 2\n rise 2\n weight -10\n}\n"
	cfgA := confWith(t, pre, 105, "track_script {\n proxy\n}\n")
	var mu sync.Mutex
	up := 2
	var seen config.InProcessCheck
	a, err := New(cfgA, Options{
		Listen:    func(*config.VRRPInstance) (Transport, error) { return h.attach("198.18.0.1"), nil },
		Announcer: func(string) (Announcer, error) { return countAnnouncer{new(atomic.Int64)}, nil },
		VIPs:      &addrs{},
		LinkUp:    func(string) (bool, error) { return true, nil },
		Exec:      func(context.Context, Command) error { t.Error("in-process tracker was exec'ed"); return nil },
		Check: func(_ context.Context, c config.InProcessCheck) error {
			mu.Lock()
			defer mu.Unlock()
			seen = c
			if up < c.MinUp {
				return os.ErrNotExist
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = a.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	b := start(t, h, "198.18.0.2", conf(t, 100, ""))
	aState := func() string { return a.Status()[0].State }
	waitFor(t, 2*time.Second, "A master", func() bool { return len(a.Status()) == 1 && aState() == "MASTER" })
	mu.Lock()
	up = 1 // the backend lost a server: 105-10 = 95 < 100
	mu.Unlock()
	waitFor(t, 3*time.Second, "B master after A's backend lost servers", func() bool { return b.state() == "MASTER" && aState() == "BACKUP" })
	mu.Lock()
	if seen != (config.InProcessCheck{Kind: "backend", Name: "app", MinUp: 2}) {
		t.Errorf("Check got %+v", seen)
	}
	mu.Unlock()

	// A reload with the same file (parsed again: a new InProcessCheck value) keeps the
	// instance as it is, and the restarted tracker goes on from its failed result, so
	// the backend coming back raises the priority again.
	since := a.Status()[0].Since
	if err := a.Reload(confWith(t, pre, 105, "track_script {\n proxy\n}\n")); err != nil {
		t.Fatal(err)
	}
	if st := a.Status()[0]; st.State != "BACKUP" || !st.Since.Equal(since) {
		t.Errorf("after reloading the same config: %+v (since %v before)", st, since)
	}
	mu.Lock()
	up = 2
	mu.Unlock()
	waitFor(t, 3*time.Second, "A master again after its backend recovered (after a reload)", func() bool { return aState() == "MASTER" })

	if _, err := New(cfgA, Options{}); err == nil || !strings.Contains(err.Error(), "needs the proxy") {
		t.Errorf("New without Check: %v", err)
	}
}

// "Becoming master: ... send garp_master_repeat gratuitous ARPs per VIP at once
// and again after garp_master_delay"; a master re-adds a VIP someone removed.
func TestGARPScheduleAndReconcile(t *testing.T) {
	a := start(t, &hub{}, "198.18.0.1", conf(t, 255, "garp_master_repeat 3\ngarp_master_delay 1\n"))
	waitFor(t, time.Second, "3 GARPs at once", func() bool { return a.garps.Load() == 3 })
	became := time.Now()
	waitFor(t, 2*time.Second, "3 more after garp_master_delay", func() bool { return a.garps.Load() == 6 })
	if d := time.Since(became); d < 900*time.Millisecond {
		t.Errorf("second burst after %v, want about 1s", d)
	}
	_ = a.vips.Set([]vip.Addr{{Prefix: netip.MustParsePrefix(vipA)}}, nil)
	waitFor(t, 2*time.Second, "the removed VIP re-added", func() bool { return a.vips.holds(vipA) })
}

// A VIP with `dev` goes on that interface and is announced there.
func TestVIPOnAnotherInterface(t *testing.T) {
	v, err := keepalived.Parse("k.conf", []byte("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 255\n"+
		" virtual_ipaddress {\n 198.18.0.100 dev eth1 label eth1:v\n }\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var opened []string
	var set []vip.Addr
	n, err := New(v, Options{
		Listen: func(*config.VRRPInstance) (Transport, error) { return (&hub{}).attach("198.18.0.1"), nil },
		Announcer: func(dev string) (Announcer, error) {
			mu.Lock()
			defer mu.Unlock()
			opened = append(opened, dev)
			return countAnnouncer{new(atomic.Int64)}, nil
		},
		VIPs: setFunc(func(_, desired []vip.Addr) error {
			mu.Lock()
			defer mu.Unlock()
			if len(desired) > 0 {
				set = desired
			}
			return nil
		}),
		LinkUp: func(string) (bool, error) { return true, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = n.Run(ctx); close(done) }()
	waitFor(t, time.Second, "VIP set", func() bool { mu.Lock(); defer mu.Unlock(); return len(set) > 0 })
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(opened, []string{"eth0", "eth1"}) {
		t.Errorf("announcers opened on %v", opened)
	}
	if set[0].Dev != "eth1" || set[0].Label != "eth1:v" {
		t.Errorf("VIP set as %+v", set[0])
	}
}

type setFunc func(managed, desired []vip.Addr) error

func (f setFunc) Set(managed, desired []vip.Addr) error { return f(managed, desired) }

// keepalived.conf(5): garp_master_refresh sends garp_master_refresh_repeat GARPs per
// VIP at each refresh (default 1), not garp_master_repeat.
func TestGARPRefreshRepeat(t *testing.T) {
	a := start(t, &hub{}, "198.18.0.1", conf(t, 255, "garp_master_repeat 3\ngarp_master_delay 0\ngarp_master_refresh 1\ngarp_master_refresh_repeat 2\n"))
	waitFor(t, time.Second, "3 GARPs at once", func() bool { return a.garps.Load() == 3 })
	waitFor(t, 2*time.Second, "2 more at the first refresh", func() bool { return a.garps.Load() == 5 })
	waitFor(t, 2*time.Second, "2 more at the second refresh", func() bool { return a.garps.Load() == 7 })
}

// timedAnnouncer records when each address was announced.
type timedAnnouncer struct {
	mu *sync.Mutex
	at map[netip.Addr][]time.Time
}

func (a timedAnnouncer) Announce(addrs []netip.Addr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, x := range addrs {
		a.at[x] = append(a.at[x], time.Now())
	}
	return nil
}
func (timedAnnouncer) Close() error { return nil }

// keepalived.conf(5): vrrp_garp_interval spaces GARPs, vrrp_gna_interval spaces
// unsolicited NAs; each applies to its own family only.
func TestGNAIntervalSpacesOnlyNAs(t *testing.T) {
	v, err := keepalived.Parse("k.conf", []byte("global_defs {\n vrrp_gna_interval 0.1\n}\n"+
		"vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 255\n garp_master_repeat 3\n garp_master_delay 0\n"+
		" virtual_ipaddress {\n 198.18.0.100\n }\n virtual_ipaddress_excluded {\n 2001:db8::100\n }\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ann := timedAnnouncer{mu: &sync.Mutex{}, at: map[netip.Addr][]time.Time{}}
	n, err := New(v, Options{
		Listen:    func(*config.VRRPInstance) (Transport, error) { return (&hub{}).attach("198.18.0.1"), nil },
		Announcer: func(string) (Announcer, error) { return ann, nil },
		VIPs:      &addrs{},
		LinkUp:    func(string) (bool, error) { return true, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = n.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	v4, v6 := netip.MustParseAddr("198.18.0.100"), netip.MustParseAddr("2001:db8::100")
	waitFor(t, 2*time.Second, "3 rounds", func() bool { ann.mu.Lock(); defer ann.mu.Unlock(); return len(ann.at[v6]) == 3 })
	ann.mu.Lock()
	defer ann.mu.Unlock()
	// each round: GARP for v4 (no gap), NA for v6, then 100ms; so two gaps between the
	// first and the third NA, and the GARPs are spaced by the NA gap alone
	if d := ann.at[v6][2].Sub(ann.at[v6][0]); d < 190*time.Millisecond {
		t.Errorf("3 NAs within %v, want them 100ms apart", d)
	}
	if len(ann.at[v4]) != 3 {
		t.Errorf("%d GARPs, want 3", len(ann.at[v4]))
	}
}
