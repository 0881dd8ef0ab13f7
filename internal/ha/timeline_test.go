package ha

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"tandem/internal/vrrp"
)

// A takeover by the Master_Down_Timer is timed from the last advert heard; each later
// stage is stamped once, relative to becoming MASTER, into its histogram.
func TestTimelineStages(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tl := newTimeline()
	seq := tl.begin(vrrp.Transition{From: vrrp.Backup, To: vrrp.Master, Reason: "r", At: t0.Add(3 * time.Second), LastAdvert: t0, ByTimer: true})
	tl.stamp(seq, StageVIPsAdded, t0.Add(3*time.Second+2*time.Millisecond))
	tl.stamp(seq, StageFirstGARP, t0.Add(3*time.Second+3*time.Millisecond))
	tl.stamp(seq, StageFirstGARP, t0.Add(4*time.Second)) // a later GARP: not the first
	tl.stamp(seq, StageFirstServed, t0.Add(3*time.Second+40*time.Millisecond))
	list, hs := tl.snapshot()
	if len(list) != 1 {
		t.Fatalf("takeovers %+v", list)
	}
	tk := list[0]
	if tk.TimerFired != t0.Add(3*time.Second) || tk.FirstGARP != t0.Add(3*time.Second+3*time.Millisecond) {
		t.Errorf("takeover %+v", tk)
	}
	want := map[string]struct {
		bucket int // index in StageBounds
		sum    float64
	}{
		StageDetect:      {len(StageBounds) - 2, 3}, // 3s: in (2.5, 5]
		StageVIPsAdded:   {1, 0.002},                // (0.001, 0.0025]
		StageFirstGARP:   {2, 0.003},                // (0.0025, 0.005]
		StageFirstServed: {5, 0.04},                 // (0.025, 0.05]
	}
	for stage, w := range want {
		h := hs[stage]
		if h.Count != 1 || h.Counts[w.bucket] != 1 || h.Sum < w.sum-1e-9 || h.Sum > w.sum+1e-9 {
			t.Errorf("%s: %+v, want 1 in bucket %d, sum %v", stage, h, w.bucket, w.sum)
		}
	}
	// a preemption or an owner's start has no detect stage
	tl.begin(vrrp.Transition{From: vrrp.Backup, To: vrrp.Master, At: t0.Add(time.Minute), LastAdvert: t0.Add(50 * time.Second)})
	if _, hs := tl.snapshot(); hs[StageDetect].Count != 1 {
		t.Errorf("detect counted for a takeover that is not the timer's")
	}
}

// On a real failover each stage is stamped in order: the master went silent, the
// timer fired, the VIPs were added, the first GARP went out, the proxy served.
func TestTakeoverTimelineEndToEnd(t *testing.T) {
	h := &hub{}
	a := start(t, h, "198.18.0.1", conf(t, 101, ""))
	var served atomic.Uint64
	b := start(t, h, "198.18.0.2", conf(t, 100, ""), func(o *Options) {
		o.Served = func(addrs []netip.Addr) (uint64, bool) {
			if len(addrs) != 1 || addrs[0] != netip.MustParseAddr("198.18.0.100") {
				return 0, false
			}
			return served.Load(), true
		}
	})
	waitFor(t, 2*time.Second, "A master and B backup", func() bool { return a.state() == "MASTER" && b.state() == "BACKUP" })
	h.setCut(true) // A goes silent for B
	waitFor(t, 2*time.Second, "B master", func() bool { return b.state() == "MASTER" })
	time.Sleep(30 * time.Millisecond)
	served.Add(1)
	var tk Takeover
	waitFor(t, 2*time.Second, "first served stamped", func() bool {
		st := b.node.Status()[0]
		if len(st.Takeovers) == 0 {
			return false
		}
		tk = st.Takeovers[len(st.Takeovers)-1]
		return !tk.FirstServed.IsZero() && !tk.FirstGARP.IsZero()
	})
	h.setCut(false)
	order := []time.Time{tk.LastAdvert, tk.TimerFired, tk.VIPsAdded, tk.FirstGARP}
	for i := 1; i < len(order); i++ {
		if order[i-1].IsZero() || order[i].Before(order[i-1]) {
			t.Fatalf("stages out of order: %+v", tk)
		}
	}
	if tk.TimerFired != tk.Master || tk.FirstServed.Sub(tk.Master) < 30*time.Millisecond {
		t.Errorf("timer %v master %v served %v", tk.TimerFired, tk.Master, tk.FirstServed)
	}
	// v3 at 50ms, priority 100: Master_Down_Interval is 150ms + 30ms skew
	if d := tk.TimerFired.Sub(tk.LastAdvert); d < 150*time.Millisecond || d > time.Second {
		t.Errorf("detect took %v", d)
	}
	if hs := b.node.Status()[0].StageHistograms; hs[StageFirstServed].Count != 1 || hs[StageDetect].Count != 1 {
		t.Errorf("histograms %+v", hs)
	}
}
