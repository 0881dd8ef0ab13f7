package stick

// freqCtr is a frequency counter over a sliding window of one period, as HAProxy's
// freq_ctr: events are counted in the current period, which starts at tick; when an
// event arrives a period or more after tick the current count becomes the previous one
// (or zero when two periods or more went by) and a new period starts. The rate read at
// a time is the previous period's count weighted by the part of the window that still
// overlaps it, plus the current count.
//
// Ticks are milliseconds. Counts are 32-bit and wrap, as HAProxy's. A zero freqCtr is
// empty.
type freqCtr struct {
	tick       int64 // start of the current period, ms (always even, as HAProxy's)
	curr, prev uint32
}

// add counts inc events at now over period ms.
func (f *freqCtr) add(now int64, period uint32, inc uint32) {
	p := int64(period)
	if now-f.tick < p {
		f.curr += inc
		return
	}
	// The period is over: the current count becomes the previous one.
	f.prev, f.curr = f.curr, inc
	f.tick += p
	if now-f.tick >= p {
		// At least two periods went by: nothing of them is left in the window.
		f.prev = 0
		f.tick = now
	}
	f.tick &^= 1
}

// set makes the counter report v for the whole current period, then fade out, as the
// runtime API's `set table … data.<rate> v` does.
func (f *freqCtr) set(now int64, v uint32) {
	f.tick = now &^ 1
	f.prev = 0
	f.curr = v
}

// read returns the events per period at now.
func (f *freqCtr) read(now int64, period uint32) uint64 {
	p := int64(period)
	if p == 0 {
		return 0
	}
	curr, past := uint64(f.curr), uint64(f.prev)
	remain := f.tick + p - now
	if remain < 0 {
		// Past the current period: what it counted is now the previous period,
		// while the window still overlaps it.
		remain += p
		if remain >= 0 {
			past = curr
		} else {
			past = 0
		}
		curr = 0
	}
	if curr == 0 && past <= 1 {
		// HAProxy does not let a lone event fade out over the window.
		return past
	}
	return (past*uint64(remain) + curr*uint64(p)) / uint64(p)
}
