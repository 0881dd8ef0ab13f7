package runtimeapi

import (
	"errors"
	"strings"
	"testing"
	"time"

	"tandem/internal/stats"
)

func TestShowVRRP(t *testing.T) {
	src := newSource(t)
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	src.Now = func() time.Time { return t0.Add(time.Minute) }
	src.VRRP = func() ([]stats.VRRPInstance, bool) {
		return []stats.VRRPInstance{{Name: "VI_1", Interface: "eth0", VRID: 51, State: "MASTER", Since: t0, Priority: 100, BasePriority: 100,
			Master: "198.18.0.2", VIPs: []string{"198.18.0.100/32"}, AdvertsSent: 9, AdvertsReceived: 4,
			Episodes: map[string]uint64{"master_returned": 1, "config_mismatch": 2},
			EpisodeLog: []stats.VRRPEpisode{
				{Kind: "master_returned", Start: t0, End: t0, Peer: "198.18.0.1", Adverts: 1, Detail: "master came back"},
				{Kind: "config_mismatch", Start: t0.Add(time.Second), Peer: "198.18.0.3", Adverts: 7, Detail: "wrong auth_pass"},
			},
			Takeovers: []stats.VRRPTakeover{{From: "BACKUP", Reason: "no advertisement", Master: t0, LastAdvert: t0.Add(-3609 * time.Millisecond),
				TimerFired: t0, VIPsAdded: t0.Add(1500 * time.Microsecond), FirstGARP: t0.Add(2 * time.Millisecond)}},
		}}, true
	}
	tests := []struct{ cmd, want string }{
		{"show vrrp", "# name interface vrid state since_s priority base_priority master vips adverts_sent adverts_received dual_master master_returned config_mismatch peer_unreachable\n" +
			"VI_1 eth0 51 MASTER 60 100 100 198.18.0.2 198.18.0.100/32 9 4 0 1 2 0\n"},
		{"show vrrp episodes", "# name kind start end peer adverts detail\n" +
			"VI_1 master_returned 2026-01-01T10:00:00.000Z 2026-01-01T10:00:00.000Z 198.18.0.1 1 master came back\n" +
			"VI_1 config_mismatch 2026-01-01T10:00:01.000Z - 198.18.0.3 7 wrong auth_pass\n"},
		{"show vrrp timeline", "# name from master_at last_advert_ms timer_fired_ms vips_added_ms first_garp_ms first_served_ms reason\n" +
			"VI_1 BACKUP 2026-01-01T10:00:00.000Z -3609.000 0.000 1.500 2.000 - no advertisement\n"},
		{"show vrrp nope", "'show vrrp' expects nothing, 'episodes' or 'timeline'.\n"},
	}
	for _, tt := range tests {
		if got := Do(src, LevelUser, tt.cmd); got != tt.want+"\n" { // Do ends each answer with an empty line
			t.Errorf("%s:\n%s\nwant:\n%s", tt.cmd, got, tt.want)
		}
	}
}

func TestVRRPSwitchover(t *testing.T) {
	src := newSource(t)
	var asked []string
	src.VRRPSwitchover = func(name string) error {
		asked = append(asked, name)
		if name == "VI_2" {
			return errors.New(`vrrp_instance "VI_2" is BACKUP, not MASTER: nothing to hand over`)
		}
		return nil
	}
	tests := []struct {
		level     Level
		cmd, want string
	}{
		{LevelOperator, "vrrp switchover", "Permission denied\n"},
		{LevelAdmin, "vrrp switchover", ""},
		{LevelAdmin, "vrrp switchover VI_1", ""},
		{LevelAdmin, "vrrp switchover VI_2", `vrrp_instance "VI_2" is BACKUP, not MASTER: nothing to hand over` + "\n"},
	}
	for _, tt := range tests {
		if got := Do(src, tt.level, tt.cmd); got != tt.want+"\n" {
			t.Errorf("%s at level %v: %q, want %q", tt.cmd, tt.level, got, tt.want+"\n")
		}
	}
	if strings.Join(asked, ",") != ",VI_1,VI_2" {
		t.Errorf("switchovers asked: %q", asked)
	}
}
