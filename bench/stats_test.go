package main

import (
	"math"
	"testing"
)

var nan = math.NaN()

func same(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"empty", nil, nan},
		{"only NaN", []float64{nan, nan}, nan},
		{"one", []float64{3}, 3},
		{"odd count unsorted", []float64{5, 1, 3}, 3},
		{"even count averages the middle two", []float64{4, 1, 3, 2}, 2.5},
		{"NaN (failed rounds) ignored", []float64{nan, 10, 1, nan, 7}, 7},
	}
	for _, tt := range tests {
		if got := median(tt.in); !same(got, tt.want) {
			t.Errorf("%s: median(%v) = %v, want %v", tt.name, tt.in, got, tt.want)
		}
	}
	in := []float64{3, 1, 2}
	median(in)
	if in[0] != 3 || in[1] != 1 {
		t.Errorf("median reordered its input: %v", in)
	}
}

func TestRatioAndSpan(t *testing.T) {
	ratios := []struct{ a, b, want float64 }{
		{9, 10, 0.9}, {1, 0, nan}, {nan, 1, nan}, {1, nan, nan}, {0, 5, 0},
	}
	for _, tt := range ratios {
		if got := ratio(tt.a, tt.b); !same(got, tt.want) {
			t.Errorf("ratio(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
	lo, hi := span([]float64{nan, 1.2, 0.8, 1.0})
	if lo != 0.8 || hi != 1.2 {
		t.Errorf("span = %v, %v; want 0.8, 1.2", lo, hi)
	}
	lo, hi = span([]float64{nan})
	if !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Errorf("span of nothing = %v, %v; want NaN, NaN", lo, hi)
	}
	got := pairRatios([]float64{10, 20, nan}, []float64{9, 30, 5})
	want := []float64{0.9, 1.5, nan}
	for i := range want {
		if !same(got[i], want[i]) {
			t.Errorf("pairRatios[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}
