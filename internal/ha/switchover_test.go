package ha

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A planned switchover moves the VIP to the backup at once (priority 0: Skew_Time), and
// the old master, of higher priority, does not take it back; a switchover the other way
// returns it.
func TestSwitchoverHandsOverAndStays(t *testing.T) {
	h := &hub{}
	// 0.2s adverts: slow enough for a busy machine (and -race)
	a := start(t, h, "198.18.0.1", conf(t, 150, "advert_int 0.2\n"))
	b := start(t, h, "198.18.0.2", conf(t, 100, "advert_int 0.2\n"))
	waitFor(t, 3*time.Second, "A master and B backup", func() bool { return a.state() == "MASTER" && b.state() == "BACKUP" })
	time.Sleep(400 * time.Millisecond) // two intervals: past a double MASTER at start
	if a.state() != "MASTER" || b.state() != "BACKUP" {
		t.Fatalf("not settled: A %s, B %s", a.state(), b.state())
	}
	if err := b.node.Switchover("VI_1"); err == nil || !strings.Contains(err.Error(), "not MASTER") {
		t.Errorf("switchover of a BACKUP: %v", err)
	}
	if err := a.node.Switchover("nope"); err == nil {
		t.Errorf("switchover of an unknown instance succeeded")
	}
	handed := time.Now()
	if err := a.node.Switchover(""); err != nil {
		t.Fatal(err)
	}
	if a.vips.holds(vipA) || !b.vips.holds(vipA) || b.state() != "MASTER" {
		t.Errorf("when Switchover returns: A holds the VIP %v, B %v (%s)", a.vips.holds(vipA), b.vips.holds(vipA), b.state())
	}
	if d := time.Since(handed); d > 800*time.Millisecond { // B's Skew_Time is 0.12s
		t.Errorf("B took over %v after the switchover", d)
	}
	time.Sleep(1500 * time.Millisecond) // past A's Master_Down_Interval (0.68s): A must not preempt
	if a.state() != "BACKUP" || b.state() != "MASTER" {
		t.Fatalf("after 1.5s: A %s, B %s", a.state(), b.state())
	}
	if err := b.node.Switchover(""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "A master again", func() bool { return a.state() == "MASTER" && a.vips.holds(vipA) && b.state() == "BACKUP" })
}

// A switchover nobody takes (no peer) fails and leaves the node MASTER with its VIP,
// which it never removed.
func TestSwitchoverWithoutPeerKeepsTheVIP(t *testing.T) {
	a := start(t, &hub{}, "198.18.0.1", conf(t, 150, ""))
	waitFor(t, 2*time.Second, "A master", func() bool { return a.state() == "MASTER" })
	var removed atomic.Bool
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				if !a.vips.holds(vipA) {
					removed.Store(true)
				}
			}
		}
	}()
	err := a.node.Switchover("VI_1")
	close(stop)
	<-watched
	if err == nil || !strings.Contains(err.Error(), "MASTER again") {
		t.Fatalf("switchover without a peer: %v", err)
	}
	if removed.Load() || a.state() != "MASTER" {
		t.Errorf("VIP removed at some point %v; state %s", removed.Load(), a.state())
	}
}
