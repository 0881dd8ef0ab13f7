package stick

import "testing"

// TestFreqCtrMatchesHAProxy replays event sequences through a frequency counter and
// reads it at given times. The expected values follow HAProxy 2.6's freq_ctr: the
// window starts at the first event and moves by whole periods; a read is the previous
// period's count weighted by the remaining fraction of the window plus the current
// count; a lone event (previous count ≤ 1, nothing current) does not fade.
func TestFreqCtrMatchesHAProxy(t *testing.T) {
	type ev struct{ at, n int64 }
	type rd struct{ at, want int64 }
	const start = tickBase + 10_000 // even, as HAProxy's ticks
	cases := []struct {
		name   string
		period uint32
		events []ev
		reads  []rd
	}{
		{"empty", 1000, nil, []rd{{0, 0}, {5000, 0}}},
		{"one period counts everything", 1000,
			[]ev{{0, 1}, {100, 1}, {200, 1}},
			[]rd{{200, 3}, {999, 3}}},
		{"previous period weighted by what is left of the window", 1000,
			[]ev{{0, 1}, {100, 1}, {200, 1}, {1300, 1}, {1400, 1}},
			// at 1550: window [550, 1550]; period [0,1000) had 3, 450 ms of it left:
			// 3*450/1000 + 2 = 3.35 -> 3
			[]rd{{1400, 2 + 3*600/1000}, {1550, 3}, {1999, 2}}},
		{"after the period, the count fades over the next one", 1000,
			[]ev{{0, 10}},
			[]rd{{500, 10}, {1000, 10}, {1250, 7}, {1750, 2}, {2000, 0}, {3000, 0}}},
		{"a lone event does not fade", 1000,
			[]ev{{0, 1}},
			[]rd{{1500, 1}, {1999, 1}, {2000, 1}, {2001, 0}}},
		{"two idle periods reset the window to the next event", 1000,
			[]ev{{0, 5}, {2500, 1}},
			// 2500 is past two periods: the old count is gone, a new window starts at 2500
			[]rd{{2500, 1}, {3400, 1}, {3600, 1}}},
		{"rotation keeps the grid of whole periods", 1000,
			[]ev{{0, 4}, {1900, 2}},
			// new period starts at 1000 (not 1900): at 1900, 100 ms of [0,1000) left
			[]rd{{1900, 2 + 4*100/1000}, {1950, 2}, {2100, 2 * 900 / 1000}}},
		{"10 s period, 200 events per second", 10000,
			func() []ev {
				var out []ev
				for i := int64(0); i < 4000; i++ { // 20 s of 200/s
					out = append(out, ev{i * 5, 1})
				}
				return out
			}(),
			// at 19995: period [10000,20000) holds 2000; [0,10000) 2000 with 5 ms left
			[]rd{{19995, 2000 + 2000*5/10000}, {25000, 2000 * 5000 / 10000}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var f freqCtr
			ei := 0
			for _, r := range c.reads {
				for ei < len(c.events) && c.events[ei].at <= r.at {
					f.add(start+c.events[ei].at, c.period, uint32(c.events[ei].n))
					ei++
				}
				if got := f.read(start+r.at, c.period); int64(got) != r.want {
					t.Errorf("read at +%d ms = %d, want %d (counter %+v)", r.at, got, r.want, f)
				}
			}
		})
	}
}

// TestFreqCtrSet: `set table … data.http_req_rate 10` reports 10 for a period, then
// fades (measured on haproxy 2.6: 10 at +0.5 s, 7 at +1.27 s, 2 at +1.77 s for 1 s).
func TestFreqCtrSet(t *testing.T) {
	var f freqCtr
	const at = tickBase + 777
	f.set(at, 10)
	for _, r := range []struct{ at, want int64 }{{500, 10}, {1270, 7}, {1770, 2}, {2100, 0}} {
		if got := f.read(at+r.at, 1000); int64(got) != r.want {
			t.Errorf("+%d ms: %d, want %d", r.at, got, r.want)
		}
	}
}

// TestFreqCtrWraps: counts are 32-bit, as HAProxy's.
func TestFreqCtrWraps(t *testing.T) {
	var f freqCtr
	f.add(tickBase, 1000, 0xffffffff)
	f.add(tickBase+1, 1000, 2)
	if got := f.read(tickBase+2, 1000); got != 1 {
		t.Errorf("got %d, want 1 (wrapped)", got)
	}
}
