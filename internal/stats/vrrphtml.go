package stats

import (
	"fmt"
	"html"
	"strings"
	"time"
)

// splitBrainCell is the VRRP table's "Split brain" cell: episodes by kind since start,
// then the last three episodes, an episode under way first in bold.
func splitBrainCell(in VRRPInstance) string {
	e := html.EscapeString
	var lines []string
	for _, k := range VRRPEpisodeKinds {
		if n := in.Episodes[k]; n > 0 {
			lines = append(lines, fmt.Sprintf("%s: %d", k, n))
		}
	}
	for i := max(0, len(in.EpisodeLog)-3); i < len(in.EpisodeLog); i++ {
		ep := in.EpisodeLog[i]
		line := fmt.Sprintf("%s %s %s: %s", ep.Start.UTC().Format("2006-01-02 15:04:05"), e(ep.Kind), e(ep.Peer), e(ep.Detail))
		if ep.End.IsZero() {
			line = "<b>NOW " + line + fmt.Sprintf(" (%d adverts)</b>", ep.Adverts)
		} else {
			line += fmt.Sprintf(" (%d adverts, %s)", ep.Adverts, ep.End.Sub(ep.Start).Round(time.Millisecond))
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return "none"
	}
	return strings.Join(lines, "<br>")
}

// takeoverCell is the "Last takeover" cell: when the instance last became MASTER and
// each stage of that failover.
func takeoverCell(in VRRPInstance) string {
	if len(in.Takeovers) == 0 {
		return ""
	}
	k := in.Takeovers[len(in.Takeovers)-1]
	parts := []string{k.Master.UTC().Format("2006-01-02 15:04:05.000")}
	if !k.TimerFired.IsZero() && !k.LastAdvert.IsZero() {
		parts = append(parts, "master silent "+ms(k.TimerFired.Sub(k.LastAdvert)))
	}
	for _, st := range []struct {
		name string
		at   time.Time
	}{{"VIPs added", k.VIPsAdded}, {"first GARP", k.FirstGARP}, {"first connection served", k.FirstServed}} {
		if !st.at.IsZero() {
			parts = append(parts, st.name+" +"+ms(st.at.Sub(k.Master)))
		}
	}
	return strings.Join(parts, "<br>")
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}
