package metrics

import (
	"slices"
	"testing"

	"tandem/internal/ha"
)

// The exporter lists ha's episode kinds and takeover stages itself (so that every
// series exists from the start); they must stay the same.
func TestVRRPKindsMatchHA(t *testing.T) {
	if !slices.Equal(vrrpEpisodeKinds, ha.EpisodeKinds) {
		t.Errorf("episode kinds %v, ha has %v", vrrpEpisodeKinds, ha.EpisodeKinds)
	}
	if !slices.Equal(vrrpStages, ha.Stages) {
		t.Errorf("stages %v, ha has %v", vrrpStages, ha.Stages)
	}
}
