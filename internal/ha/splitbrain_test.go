package ha

import (
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tandem/internal/vrrp"
)

// Issue 14 "split brain caught": the link between two nodes is cut, both become
// MASTER; when it heals the lower priority yields (RFC 5798 §6.4.3) and says the
// master it took over from came back, once per episode, however long the cut lasted.
func TestPartitionEpisodeCountedAndLoggedOnce(t *testing.T) {
	h := &hub{}
	a := start(t, h, "198.18.0.1", conf(t, 101, "advert_int 0.2\n"))
	b := start(t, h, "198.18.0.2", conf(t, 100, "advert_int 0.2\n"))
	waitFor(t, 3*time.Second, "A master and B backup", func() bool { return a.state() == "MASTER" && b.state() == "BACKUP" })
	// both may have been MASTER for an instant at start (their skews differ by 1ms)
	base := a.node.Status()[0].Episodes[EpisodeDualMaster]
	for round := 1; round <= 2; round++ {
		h.setCut(true)
		waitFor(t, 3*time.Second, "both MASTER while cut", func() bool { return a.state() == "MASTER" && b.state() == "MASTER" })
		time.Sleep(time.Second) // five advert intervals of two masters
		h.setCut(false)
		waitFor(t, 3*time.Second, "one master once healed", func() bool { return a.state() == "MASTER" && b.state() == "BACKUP" })
		st := b.node.Status()[0]
		if got := st.Episodes[EpisodeMasterReturned]; got != uint64(round) {
			t.Fatalf("round %d: master_returned episodes %d", round, got)
		}
		if got := b.logs.count("split brain healed"); got != round {
			t.Fatalf("round %d: logged %d times\n%s", round, got, b.logs.b.String())
		}
		if last := st.EpisodeLog[len(st.EpisodeLog)-1]; last.Kind != EpisodeMasterReturned || last.Peer != netip.MustParseAddr("198.18.0.1") {
			t.Errorf("last episode %+v", last)
		}
		if a.vips.holds(vipA) == b.vips.holds(vipA) {
			t.Errorf("VIP held by A %v, B %v", a.vips.holds(vipA), b.vips.holds(vipA))
		}
	}
	// A saw B's adverts at most as one episode per heal, never one per advert
	if n := a.node.Status()[0].Episodes[EpisodeDualMaster] - base; n > 2 {
		t.Errorf("A counted %d dual-master episodes over 2 heals", n)
	}
}

// Equal priorities and no preemption settle with one master; a peer that keeps
// advertising while it should yield (here: it never hears us) is one dual_master
// episode, which ends when it stops.
func TestDualMasterEpisode(t *testing.T) {
	h := &hub{}
	a := start(t, h, "198.18.0.2", conf(t, 150, "advert_int 0.5\nnotify_master_rx_lower_pri \"/bin/lower me\"\n")) // an episode outlives 2s of silence
	waitFor(t, 4*time.Second, "A master", func() bool { return a.state() == "MASTER" })
	// a deaf peer with lower priority that believes it is master: adverts every 50ms
	peer := h.attach("198.18.0.9")
	cfg := conf(t, 100, "").Instances[0]
	adv := advertFor(cfg, 100, peer.Src(), vrrp.GroupV4)
	msg, err := adv.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		_ = peer.Write(msg, vrrp.GroupV4)
		time.Sleep(50 * time.Millisecond)
	}
	st := a.node.Status()[0]
	if st.Episodes[EpisodeDualMaster] != 1 || a.logs.count("another master advertises") != 1 || st.PeerMasterAdverts < 5 {
		t.Fatalf("episodes %v, logged %d, adverts %d\n%s", st.Episodes, a.logs.count("another master advertises"), st.PeerMasterAdverts, a.logs.b.String())
	}
	if a.state() != "MASTER" {
		t.Errorf("A yielded to a lower priority")
	}
	// keepalived's notify_master_rx_lower_pri runs as written for each lower advert
	lower := 0
	for len(a.execs) > 0 {
		if argv := <-a.execs; strings.Join(argv, " ") == "/bin/lower me" {
			lower++
		}
	}
	if lower < 5 {
		t.Errorf("notify_master_rx_lower_pri ran %d times for %d adverts", lower, st.PeerMasterAdverts)
	}
	waitFor(t, 5*time.Second, "the episode ends", func() bool { return a.logs.count("split brain episode ended") == 1 })
}

// A unicast MASTER whose peer stops answering ARP for two advert intervals sees the
// partition while it lasts: one peer_unreachable episode, logged once, that ends once
// the peer answers again. A multicast instance never asks.
func TestUnicastPeerUnreachableEpisode(t *testing.T) {
	var unresolved atomic.Bool
	var asked atomic.Int64
	resolve := func(o *Options) {
		o.NeighborResolved = func(ifname string, addr netip.Addr) (bool, error) {
			asked.Add(1)
			if ifname != "eth0" || addr != netip.MustParseAddr("198.18.0.2") {
				t.Errorf("asked for %s %v", ifname, addr)
			}
			return !unresolved.Load(), nil
		}
	}
	a := start(t, &hub{}, "198.18.0.1", conf(t, 150, "advert_int 0.1\nunicast_peer {\n198.18.0.2\n}\n"), resolve)
	waitFor(t, 2*time.Second, "A master", func() bool { return a.state() == "MASTER" })
	time.Sleep(300 * time.Millisecond)
	if n := a.node.Status()[0].Episodes[EpisodePeerUnreachable]; n != 0 || asked.Load() == 0 {
		t.Fatalf("before the cut: %d episodes, asked %d times", n, asked.Load())
	}
	unresolved.Store(true)
	waitFor(t, 2*time.Second, "the episode", func() bool { return a.node.Status()[0].Episodes[EpisodePeerUnreachable] == 1 })
	time.Sleep(time.Second) // ten intervals of an unreachable peer: still one episode
	if n, logged := a.node.Status()[0].Episodes[EpisodePeerUnreachable], a.logs.count("split brain likely"); n != 1 || logged != 1 {
		t.Fatalf("%d episodes, logged %d times", n, logged)
	}
	unresolved.Store(false)
	waitFor(t, 2*time.Second, "the episode ends", func() bool { return a.logs.count("split brain episode ended") == 1 })

	var multicastAsked atomic.Int64
	m := start(t, &hub{}, "198.18.0.5", conf(t, 150, "advert_int 0.1\n"), func(o *Options) {
		o.NeighborResolved = func(string, netip.Addr) (bool, error) { multicastAsked.Add(1); return false, nil }
	})
	waitFor(t, 2*time.Second, "M master", func() bool { return m.state() == "MASTER" })
	time.Sleep(300 * time.Millisecond)
	if multicastAsked.Load() != 0 {
		t.Errorf("a multicast instance asked for neighbours")
	}
}
