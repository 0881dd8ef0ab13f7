package config

import "testing"

func TestClosest(t *testing.T) {
	for _, tt := range []struct {
		s     string
		cands []string
		want  string
	}{
		{"wieght", []string{"weight", "backup", "maxconn"}, "weight"},
		{"srever", []string{"server", "default-server"}, "server"},
		{"weight", []string{"weight"}, ""},                      // exact: nothing to suggest
		{"xyz", []string{"weight", "server"}, ""},               // too far
		{"ab", []string{"cd"}, ""},                              // as far as it is long
		{"maxconnn", []string{"maxconn", "maxconx"}, "maxconn"}, // tie-free nearest
		{"roundrobbin", []string{"roundrobin", "static-rr"}, "roundrobin"},
	} {
		if got := Closest(tt.s, tt.cands); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.s, got, tt.want)
		}
	}
	if d := editDistance("wieght", "weight"); d != 2 {
		t.Errorf("editDistance(wieght, weight) = %d, want 2", d)
	}
	if d := editDistance("", "abc"); d != 3 {
		t.Errorf("editDistance(\"\", abc) = %d, want 3", d)
	}
}
