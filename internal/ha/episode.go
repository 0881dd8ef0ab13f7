package ha

import (
	"net/netip"
	"time"
)

// Split-brain episode kinds: what an instance saw that means, or may mean, that two
// nodes held one virtual router at once, or could not agree on it.
const (
	// EpisodeDualMaster: while this node was MASTER, another master advertised the
	// VRID and did not yield (lower or equal priority, so RFC 5798 §6.4.3 has it step
	// down; it kept advertising).
	EpisodeDualMaster = "dual_master"
	// EpisodeMasterReturned: this node took over because its master went silent (no
	// priority 0); that master, or a higher one, advertised again and this node
	// yielded. A healed partition and a restarted master look the same on the wire.
	EpisodeMasterReturned = "master_returned"
	// EpisodeConfigMismatch: adverts for the VRID were rejected because the sender is
	// configured differently (auth, version, interval, virtual addresses, TTL). Each
	// side then ignores the other and both may be MASTER. keepalived drops them and
	// logs that only at debug level.
	EpisodeConfigMismatch = "config_mismatch"
	// EpisodePeerUnreachable: a MASTER of a unicast instance whose unicast_peer does
	// not answer ARP / neighbour solicitations for two advert intervals in a row: the
	// link to it is cut, so it cannot hear this master and is likely MASTER too. This
	// is the partition seen while it lasts, where multicast shows nothing.
	EpisodePeerUnreachable = "peer_unreachable"
)

// EpisodeKinds lists the kinds, in the order the pages show them.
var EpisodeKinds = []string{EpisodeDualMaster, EpisodeMasterReturned, EpisodeConfigMismatch, EpisodePeerUnreachable}

// Episode is one split-brain episode of an instance.
type Episode struct {
	Kind    string
	Start   time.Time
	End     time.Time // zero while it lasts
	Peer    netip.Addr
	Detail  string // what was seen first, in words
	Adverts uint64 // adverts that were part of it
}

// maxEpisodes bounds the ended episodes kept per instance.
const maxEpisodes = 10

// episodes follows the episodes of one instance. An episode starts at the first sign,
// takes in every further one, and ends when none came for the quiet time, so that it
// is counted and logged once however many adverts make it. It reads no clock.
type episodes struct {
	active map[string]*Episode
	last   map[string]time.Time // latest sign of each active episode
	counts map[string]uint64    // episodes started, by kind
	ended  []Episode            // the last maxEpisodes, oldest first
}

func newEpisodes() *episodes {
	return &episodes{active: map[string]*Episode{}, last: map[string]time.Time{}, counts: map[string]uint64{}}
}

// observe records one sign of an episode of kind; it reports whether that started a
// new episode (to log and notify once).
func (e *episodes) observe(kind string, now time.Time, peer netip.Addr, detail string) bool {
	e.last[kind] = now
	if ep := e.active[kind]; ep != nil {
		ep.Adverts++
		return false
	}
	e.active[kind] = &Episode{Kind: kind, Start: now, Peer: peer, Detail: detail, Adverts: 1}
	e.counts[kind]++
	return true
}

// instant records an episode that starts and ends at once.
func (e *episodes) instant(kind string, now time.Time, peer netip.Addr, detail string) Episode {
	e.counts[kind]++
	ep := Episode{Kind: kind, Start: now, End: now, Peer: peer, Detail: detail, Adverts: 1}
	e.keep(ep)
	return ep
}

// expire ends the episodes with no sign for quiet, and returns them.
func (e *episodes) expire(now time.Time, quiet time.Duration) []Episode {
	var out []Episode
	for _, kind := range EpisodeKinds {
		ep := e.active[kind]
		if ep == nil || now.Sub(e.last[kind]) < quiet {
			continue
		}
		ep.End = e.last[kind]
		e.keep(*ep)
		out = append(out, *ep)
		delete(e.active, kind)
		delete(e.last, kind)
	}
	return out
}

// end ends an active episode of kind at now (the instance left the state it needs).
func (e *episodes) end(kind string, now time.Time) (Episode, bool) {
	ep := e.active[kind]
	if ep == nil {
		return Episode{}, false
	}
	ep.End = now
	e.keep(*ep)
	delete(e.active, kind)
	delete(e.last, kind)
	return *ep, true
}

// nextExpiry is when the earliest active episode ends if nothing more comes; zero
// when none is active.
func (e *episodes) nextExpiry(quiet time.Duration) time.Time {
	var next time.Time
	for _, t := range e.last {
		if at := t.Add(quiet); next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next
}

func (e *episodes) keep(ep Episode) {
	if len(e.ended) >= maxEpisodes {
		e.ended = append(e.ended[:0:0], e.ended[1:]...)
	}
	e.ended = append(e.ended, ep)
}

// snapshot copies the counts and the episodes, ended then active, oldest first.
func (e *episodes) snapshot() (map[string]uint64, []Episode) {
	counts := make(map[string]uint64, len(e.counts))
	for k, v := range e.counts {
		counts[k] = v
	}
	list := append([]Episode(nil), e.ended...)
	for _, kind := range EpisodeKinds {
		if ep := e.active[kind]; ep != nil {
			list = append(list, *ep)
		}
	}
	return counts, list
}
