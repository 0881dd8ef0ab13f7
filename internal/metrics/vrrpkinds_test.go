package metrics

import (
	"slices"
	"testing"

	"tandem/internal/ha"
	"tandem/internal/stats"
)

// The outputs list ha's episode kinds and takeover stages from package stats (so that
// every series exists from the start); they must stay the same.
func TestVRRPKindsMatchHA(t *testing.T) {
	if !slices.Equal(stats.VRRPEpisodeKinds, ha.EpisodeKinds) {
		t.Errorf("episode kinds %v, ha has %v", stats.VRRPEpisodeKinds, ha.EpisodeKinds)
	}
	if !slices.Equal(stats.VRRPStages, ha.Stages) {
		t.Errorf("stages %v, ha has %v", stats.VRRPStages, ha.Stages)
	}
}
