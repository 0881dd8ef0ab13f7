package keepalived

import (
	"fmt"

	"tandem/internal/config"
)

// CrossCheckPeers relates the keepalived.conf of two nodes of one VRRP group
// (`tandem -c -k node1.conf -k node2.conf`): for each instance the two share (same
// VRID and address family), a tracked script whose failure cannot bring the usual
// master's priority below its peer's can never move the VIP. keepalived accepts such a
// pair silently; tandem warns, naming the script, the weights and the priorities.
func CrossCheckPeers(a, b *config.VRRP) (warns []*config.Error) {
	for _, x := range a.Instances {
		for _, y := range b.Instances {
			if x.VRID != y.VRID || x.IPv6() != y.IPv6() {
				continue
			}
			warns = append(warns, weightWarnings(a, x, b, y)...)
			warns = append(warns, weightWarnings(b, y, a, x)...)
		}
	}
	return warns
}

// weightWarnings checks x's trackers against peer y, when x is the master of the two
// with every tracker OK.
func weightWarnings(xc *config.VRRP, x *config.VRRPInstance, yc *config.VRRP, y *config.VRRPInstance) []*config.Error {
	if x.Priority == 255 || inSyncGroup(xc, x.Name) || inSyncGroup(yc, y.Name) {
		return nil // owners never yield; sync group members' weights count as 0
	}
	xBest, yBest := best(xc, x), best(yc, y)
	if xBest <= yBest {
		return nil // x is not the usual master: its trackers do not need to move anything
	}
	var out []*config.Error
	for i, t := range x.TrackScripts {
		w, rev := weightOf(xc, t)
		if w == 0 {
			continue // a zero weight puts the instance in FAULT: the VIP moves
		}
		base := xBest - delta(w, rev, true) // x's priority without this tracker's own part
		failed := base + delta(w, rev, false)
		if failed >= yBest {
			out = append(out, config.Errorf(x.TrackScripts[i].Pos,
				"vrrp_instance %q: track_script %q (weight %s): when it fails, priority %d is still not below the peer's %d (vrrp_instance %q at %s): the VIP never moves; weight -%d or lower would move it",
				x.Name, t.Name, signed(w, rev), failed, yBest, y.Name, y.Pos, base-yBest+1))
		}
	}
	return out
}

func inSyncGroup(c *config.VRRP, name string) bool {
	for _, g := range c.SyncGroups {
		for _, n := range g.Instances {
			if n == name {
				return true
			}
		}
	}
	return false
}

// weightOf is a tracked script's weight and reverse flag: the track_script line's own, or
// the vrrp_script's.
func weightOf(c *config.VRRP, t config.TrackRef) (int, bool) {
	if t.WeightSet {
		return t.Weight, t.Reverse
	}
	if s := c.Script(t.Name); s != nil {
		return s.Weight, s.Reverse
	}
	return 0, false
}

// delta is what a tracker adds to the priority, by keepalived's rules: a positive weight
// while OK, a negative one while failing; reverse flips the sign.
func delta(w int, rev, ok bool) int {
	if !(w > 0 && ok || w < 0 && !ok) {
		return 0
	}
	if rev {
		return -w
	}
	return w
}

// best is an instance's priority with every tracked script OK.
func best(c *config.VRRP, in *config.VRRPInstance) int {
	p := int(in.Priority)
	for _, t := range in.TrackScripts {
		w, rev := weightOf(c, t)
		p += delta(w, rev, true)
	}
	return p
}

func signed(w int, rev bool) string {
	if rev {
		return fmt.Sprintf("%d reverse", w)
	}
	return fmt.Sprint(w)
}
