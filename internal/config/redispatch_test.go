package config

import "testing"

func TestRedispatchOn(t *testing.T) {
	tests := []struct {
		every, retries int
		want           []bool // retries 1..n
	}{
		{0, 3, []bool{false, false, true}},
		{-1, 3, []bool{false, false, true}},
		{-2, 3, []bool{false, true, false}},
		{1, 3, []bool{true, true, true}},
		{2, 4, []bool{false, true, false, true}},
	}
	for _, tt := range tests {
		be := &Backend{Redispatch: true, Retries: tt.retries, RedispatchEvery: tt.every}
		for n := 1; n <= tt.retries; n++ {
			if got := be.RedispatchOn(n); got != tt.want[n-1] {
				t.Errorf("redispatch %d, retries %d: retry %d = %v, want %v", tt.every, tt.retries, n, got, tt.want[n-1])
			}
		}
	}
}

// TestRedispatchOnNeedsTheOption: without option redispatch no retry moves.
func TestRedispatchOnNeedsTheOption(t *testing.T) {
	be := &Backend{Retries: 3}
	for n := 1; n <= 3; n++ {
		if be.RedispatchOn(n) {
			t.Fatalf("retry %d redispatches without option redispatch", n)
		}
	}
}
