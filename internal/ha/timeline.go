package ha

import (
	"net/netip"
	"time"

	"tandem/internal/vrrp"
)

// Takeover is the timeline of one transition to MASTER, stage by stage. A stage not
// reached (or not known) is the zero time.
type Takeover struct {
	Seq        uint64
	From       string
	Reason     string
	LastAdvert time.Time // the last advert heard from another router before
	TimerFired time.Time // the Master_Down_Timer fired (timer takeovers only)
	Master     time.Time // the instance became MASTER
	VIPsAdded  time.Time // the virtual addresses were on the interfaces
	FirstGARP  time.Time // the first gratuitous ARP / unsolicited NA was sent
	// FirstServed is when a frontend bound to one of the VIPs accepted its first
	// connection after the takeover (Options.Served; zero when it cannot tell).
	FirstServed time.Time
}

// Takeover stages, as the metrics label them.
const (
	StageDetect      = "detect"       // TimerFired - LastAdvert: how long the master was silent before the timer fired
	StageVIPsAdded   = "vips_added"   // VIPsAdded - Master
	StageFirstGARP   = "first_garp"   // FirstGARP - Master
	StageFirstServed = "first_served" // FirstServed - Master
)

// Stages lists the stages in timeline order.
var Stages = []string{StageDetect, StageVIPsAdded, StageFirstGARP, StageFirstServed}

// StageBounds are the upper bounds, in seconds, of the stage histograms' buckets.
var StageBounds = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Histogram counts observations in buckets: Counts[i] holds those <= Bounds[i] and
// above the bound before; the last element those above every bound.
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Sum    float64 // seconds
	Count  uint64
}

func (h *Histogram) observe(d time.Duration) {
	if h.Counts == nil {
		h.Bounds = StageBounds
		h.Counts = make([]uint64, len(StageBounds)+1)
	}
	s := d.Seconds()
	i := 0
	for i < len(h.Bounds) && s > h.Bounds[i] {
		i++
	}
	h.Counts[i]++
	h.Sum += s
	h.Count++
}

func (h Histogram) clone() Histogram {
	h.Counts = append([]uint64(nil), h.Counts...)
	return h
}

// maxTakeovers bounds the takeovers kept per instance.
const maxTakeovers = 10

// timeline keeps the last takeovers of an instance and a histogram per stage. Stage
// times are given to it; it reads no clock.
type timeline struct {
	seq   uint64
	list  []Takeover
	hists map[string]*Histogram
}

func newTimeline() *timeline { return &timeline{hists: map[string]*Histogram{}} }

// begin starts the takeover tr reports; it returns its Seq.
func (tl *timeline) begin(tr vrrp.Transition) uint64 {
	tl.seq++
	t := Takeover{Seq: tl.seq, From: tr.From.String(), Reason: tr.Reason, LastAdvert: tr.LastAdvert, Master: tr.At}
	if tr.ByTimer {
		t.TimerFired = tr.At
		if !tr.LastAdvert.IsZero() {
			tl.hist(StageDetect).observe(tr.At.Sub(tr.LastAdvert))
		}
	}
	if len(tl.list) >= maxTakeovers {
		tl.list = append(tl.list[:0:0], tl.list[1:]...)
	}
	tl.list = append(tl.list, t)
	return tl.seq
}

// stamp sets a stage of takeover seq, once, and observes it in the stage's histogram.
func (tl *timeline) stamp(seq uint64, stage string, at time.Time) {
	for i := range tl.list {
		t := &tl.list[i]
		if t.Seq != seq {
			continue
		}
		var field *time.Time
		switch stage {
		case StageVIPsAdded:
			field = &t.VIPsAdded
		case StageFirstGARP:
			field = &t.FirstGARP
		case StageFirstServed:
			field = &t.FirstServed
		default:
			return
		}
		if field.IsZero() {
			*field = at
			tl.hist(stage).observe(at.Sub(t.Master))
		}
		return
	}
}

func (tl *timeline) hist(stage string) *Histogram {
	h := tl.hists[stage]
	if h == nil {
		h = &Histogram{}
		tl.hists[stage] = h
	}
	return h
}

func (tl *timeline) snapshot() ([]Takeover, map[string]Histogram) {
	hs := make(map[string]Histogram, len(tl.hists))
	for k, h := range tl.hists {
		hs[k] = h.clone()
	}
	return append([]Takeover(nil), tl.list...), hs
}

// vipAddrs lists the addresses of an instance's VIPs, for Options.Served.
func vipAddrs(in *instance) []netip.Addr {
	out := make([]netip.Addr, 0, len(in.vips))
	for _, v := range in.vips {
		out = append(out, v.Prefix.Addr())
	}
	return out
}
