package runtimeapi

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"tandem/internal/stats"
)

// showVRRP is `show vrrp [episodes|timeline]`: one line per instance, or its split-brain
// episodes, or the timeline of its last takeovers.
func (s *session) showVRRP(out *bytes.Buffer, args []string) {
	var ins []stats.VRRPInstance
	ok := false
	if s.src.VRRP != nil {
		ins, ok = s.src.VRRP()
	}
	if !ok {
		out.WriteString("VRRP is not running (start tandem with -k keepalived.conf).\n")
		return
	}
	switch arg(args, 0) {
	case "":
		showVRRPTable(out, ins, s.now())
	case "episodes":
		showVRRPEpisodes(out, ins)
	case "timeline":
		showVRRPTimeline(out, ins)
	default:
		out.WriteString("'show vrrp' expects nothing, 'episodes' or 'timeline'.\n")
	}
}

func showVRRPTable(out *bytes.Buffer, ins []stats.VRRPInstance, now time.Time) {
	out.WriteString("# name interface vrid state since_s priority base_priority master vips adverts_sent adverts_received " +
		strings.Join(stats.VRRPEpisodeKinds, " ") + "\n")
	for _, in := range ins {
		since := int64(-1)
		if !in.Since.IsZero() {
			since = int64(now.Sub(in.Since).Seconds())
		}
		fmt.Fprintf(out, "%s %s %d %s %d %d %d %s %s %d %d", in.Name, in.Interface, in.VRID, in.State, since,
			in.Priority, in.BasePriority, dash(in.Master), dash(strings.Join(in.VIPs, ",")), in.AdvertsSent, in.AdvertsReceived)
		for _, k := range stats.VRRPEpisodeKinds { // episodes by kind
			fmt.Fprintf(out, " %d", in.Episodes[k])
		}
		out.WriteByte('\n')
	}
}

// showVRRPEpisodes lists each instance's last split-brain episodes, oldest first; an
// episode under way has end "-".
func showVRRPEpisodes(out *bytes.Buffer, ins []stats.VRRPInstance) {
	out.WriteString("# name kind start end peer adverts detail\n")
	for _, in := range ins {
		for _, e := range in.EpisodeLog {
			end := "-"
			if !e.End.IsZero() {
				end = stamp(e.End)
			}
			fmt.Fprintf(out, "%s %s %s %s %s %d %s\n", in.Name, e.Kind, stamp(e.Start), end, dash(e.Peer), e.Adverts, dash(e.Detail))
		}
	}
}

// showVRRPTimeline lists each instance's last takeovers: when it became MASTER, and each
// stage in milliseconds from then (negative before it; "-" when not reached or not known).
func showVRRPTimeline(out *bytes.Buffer, ins []stats.VRRPInstance) {
	out.WriteString("# name from master_at last_advert_ms timer_fired_ms vips_added_ms first_garp_ms first_served_ms reason\n")
	for _, in := range ins {
		for _, k := range in.Takeovers {
			fmt.Fprintf(out, "%s %s %s %s %s %s %s %s %s\n", in.Name, k.From, stamp(k.Master), offset(k.Master, k.LastAdvert),
				offset(k.Master, k.TimerFired), offset(k.Master, k.VIPsAdded), offset(k.Master, k.FirstGARP), offset(k.Master, k.FirstServed), dash(k.Reason))
		}
	}
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// offset is t - ref in milliseconds with three decimals, or "-" for a zero t.
func offset(ref, t time.Time) string {
	if t.IsZero() || ref.IsZero() {
		return "-"
	}
	return strconv.FormatFloat(float64(t.Sub(ref))/float64(time.Millisecond), 'f', 3, 64)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// vrrpSwitchover is `vrrp switchover [INSTANCE]`: the MASTER hands its VIPs over (a
// priority 0 advert) and does not preempt back. It answers nothing on success, as
// HAProxy's commands that change state do.
func (s *session) vrrpSwitchover(out *bytes.Buffer, args []string) {
	if s.src.VRRPSwitchover == nil {
		out.WriteString("VRRP is not running (start tandem with -k keepalived.conf).\n")
		return
	}
	if err := s.src.VRRPSwitchover(arg(args, 0)); err != nil {
		out.WriteString(err.Error() + "\n")
	}
}
