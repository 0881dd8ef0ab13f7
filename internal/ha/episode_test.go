package ha

import (
	"net/netip"
	"testing"
	"time"
)

// An episode is counted once when it starts, takes in every later sign, and ends after
// the quiet time without one; a new sign after that is a new episode.
func TestEpisodesOncePerEpisode(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	peer := netip.MustParseAddr("198.18.0.2")
	quiet := 4 * time.Second
	e := newEpisodes()
	steps := []struct {
		at      time.Duration
		observe bool // else expire
		started bool
		ended   int
	}{
		{0, true, true, 0},
		{time.Second, true, false, 0},
		{4 * time.Second, false, false, 0}, // 3s since the last sign
		{5 * time.Second, false, false, 1}, // 4s: ended
		{5 * time.Second, false, false, 0}, // nothing left
		{6 * time.Second, true, true, 0},   // a new episode
	}
	for i, s := range steps {
		now := t0.Add(s.at)
		if s.observe {
			if got := e.observe(EpisodeDualMaster, now, peer, "x"); got != s.started {
				t.Fatalf("step %d: started = %v", i, got)
			}
			continue
		}
		if got := e.expire(now, quiet); len(got) != s.ended {
			t.Fatalf("step %d: ended %d", i, len(got))
		}
	}
	counts, list := e.snapshot()
	if counts[EpisodeDualMaster] != 2 || len(list) != 2 {
		t.Fatalf("counts %v, list %+v", counts, list)
	}
	if first := list[0]; first.Adverts != 2 || first.Start != t0 || first.End != t0.Add(time.Second) {
		t.Errorf("first episode %+v: want 2 adverts from 0s to 1s", first)
	}
	if !list[1].End.IsZero() {
		t.Errorf("second episode should be active: %+v", list[1])
	}
	if next := e.nextExpiry(quiet); next != t0.Add(10*time.Second) {
		t.Errorf("next expiry %v", next)
	}
	if ep, ok := e.end(EpisodeDualMaster, t0.Add(7*time.Second)); !ok || ep.End != t0.Add(7*time.Second) {
		t.Errorf("end = %+v, %v", ep, ok)
	}
	for range maxEpisodes + 3 {
		e.instant(EpisodeMasterReturned, t0, peer, "y")
	}
	if _, list := e.snapshot(); len(list) != maxEpisodes {
		t.Errorf("kept %d episodes, want the last %d", len(list), maxEpisodes)
	}
}
