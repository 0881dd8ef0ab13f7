package stick

import (
	"sync"
	"sync/atomic"
	"time"
)

// Entry is one key of a table with its stored data.
type Entry struct {
	t   *Table
	key Key
	id  uint64

	ref    atomic.Int32 // sessions that hold the entry (Acquire, Track)
	expire atomic.Int64 // tick when it expires (when its table has expire)
	seq    atomic.Int64 // order of the last touch, for eviction

	mu     sync.Mutex // guards what follows
	vals   []uint64   // counters, by Table.slot
	rates  []freqCtr  // frequency counters, by Table.slot
	srvKey string     // server_key
}

// Key returns the entry's key.
func (e *Entry) Key() Key { return e.key }

// ID is a number that stays the same for the entry's life (`show table` prints it
// where HAProxy prints the entry's address).
func (e *Entry) ID() uint64 { return e.id }

// Use is how many sessions reference the entry.
func (e *Entry) Use() int { return int(e.ref.Load()) }

// Expire returns the time left before the entry expires at now (0 when its table has no
// expire or the time is over), in HAProxy's milliseconds.
func (e *Entry) Expire(now time.Time) time.Duration {
	if e.t.expire == 0 {
		return 0
	}
	left := e.expire.Load() - e.t.tick(now)
	return time.Duration(max(left, 0)) * time.Millisecond
}

// setExpire touches e at tick ms: its expiry starts again and it becomes the most
// recently used entry.
func (e *Entry) setExpire(ms int64) {
	e.expire.Store(ms + e.t.expire)
	e.seq.Store(int64(e.t.touches.Add(1)))
}

// Touch refreshes the entry's expiry, as HAProxy does whenever a rule matches or
// updates it.
func (e *Entry) Touch(now time.Time) { e.setExpire(e.t.tick(now)) }

// Release gives back a reference taken by Acquire; the entry goes once unreferenced and
// expired.
func (e *Entry) Release(now time.Time) {
	if e.ref.Add(-1) > 0 {
		return
	}
	t := e.t
	if !t.expired(e, t.tick(now)) {
		return
	}
	sh := t.shardOf(&e.key)
	sh.mu.Lock()
	if e.ref.Load() == 0 && t.expired(e, t.tick(now)) {
		t.remove(sh, e)
	}
	sh.mu.Unlock()
}

// Untrack ends what Track started: conn_cur counts one less (and the entry is touched
// when it stores conn_cur), then the reference is released.
func (e *Entry) Untrack(now time.Time) {
	t := e.t
	if t.connCur >= 0 {
		e.mu.Lock()
		if e.vals[t.connCur] > 0 {
			e.vals[t.connCur]--
		}
		e.mu.Unlock()
		e.Touch(now)
	}
	e.Release(now)
}

// Get returns the value of data type d at now: a counter, a tag, the server id, or a
// rate in events per period (the first element of an array). ok is false when the table
// does not store d (then an ACL on it does not match). server_key reads as 0; see
// ServerKey.
func (e *Entry) Get(d Data, now time.Time) (v uint64, ok bool) { return e.GetAt(d, 0, now) }

// GetAt returns element idx of array d (idx 0 for the other types); ok is false when
// it is not stored.
func (e *Entry) GetAt(d Data, idx int, now time.Time) (v uint64, ok bool) {
	if idx < 0 || idx >= e.t.def.Store.Count(d) {
		return 0, false
	}
	i := int(e.t.slot[d]) + idx
	switch dataInfo[d].st {
	case stDict:
		return 0, true
	case stRate:
		ms := e.t.tick(now)
		e.mu.Lock()
		v = e.rates[i].read(ms, e.t.periods[i])
		e.mu.Unlock()
		return v, true
	}
	e.mu.Lock()
	v = e.vals[i]
	e.mu.Unlock()
	return v, true
}

// GetSigned is Get for the filters of `show table` and `clear table`, which compare
// signed 64-bit values: server_id is signed, the others unsigned.
func (e *Entry) GetSigned(d Data, now time.Time) (int64, bool) {
	v, ok := e.Get(d, now)
	if d == ServerID {
		return int64(int32(uint32(v))), ok
	}
	return int64(v), ok
}

// ServerKey returns the server_key stored, "" when none.
func (e *Entry) ServerKey() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.srvKey
}

// SetServer stores the server an entry sticks to (`stick store-request` and friends):
// server_id always (HAProxy enables it for every table used by stick rules), and
// server_key when stored (the server's name or address, following srvkey). It touches
// the entry.
func (e *Entry) SetServer(id int32, key string, now time.Time) {
	t := e.t
	e.mu.Lock()
	if i := t.slot[ServerID]; i >= 0 {
		e.vals[i] = uint64(uint32(id))
	}
	if t.def.Store.Has(ServerKey) {
		e.srvKey = key
	}
	e.mu.Unlock()
	e.Touch(now)
}

// Add counts n more on data type d at now: a counter grows by n (32-bit counters wrap
// as HAProxy's), a rate counts n events. It touches the entry and reports false when d
// is not stored or is not a counter.
func (e *Entry) Add(d Data, n uint64, now time.Time) bool { return e.AddAt(d, 0, n, now) }

// AddAt is Add on element idx of array d (idx 0 for the other types).
func (e *Entry) AddAt(d Data, idx int, n uint64, now time.Time) bool {
	if !e.add(d, idx, n, e.t.tick(now)) {
		return false
	}
	e.Touch(now)
	return true
}

func (e *Entry) add(d Data, idx int, n uint64, ms int64) bool {
	e.mu.Lock()
	ok := e.addLocked(d, idx, n, ms)
	e.mu.Unlock()
	return ok
}

// addLocked is add with e.mu held.
func (e *Entry) addLocked(d Data, idx int, n uint64, ms int64) bool {
	t := e.t
	if idx < 0 || idx >= t.def.Store.Count(d) {
		return false
	}
	i := int(t.slot[d]) + idx
	switch dataInfo[d].st {
	case stUint:
		e.vals[i] = uint64(uint32(e.vals[i] + n))
	case stULL:
		e.vals[i] += n
	case stRate:
		e.rates[i].add(ms, t.periods[i], uint32(n))
	default:
		return false
	}
	return true
}

// countPair counts n on a counter and its rate (whichever are stored) and touches the
// entry when one is.
func (e *Entry) countPair(cnt, rate Data, n uint64, now time.Time) {
	ms := e.t.tick(now)
	e.mu.Lock()
	a := e.addLocked(cnt, 0, n, ms)
	b := e.addLocked(rate, 0, n, ms)
	e.mu.Unlock()
	if a || b {
		e.setExpire(ms)
	}
}

// CountHTTPReq counts one HTTP request (http_req_cnt, http_req_rate).
func (e *Entry) CountHTTPReq(now time.Time) { e.countPair(HTTPReqCnt, HTTPReqRate, 1, now) }

// CountHTTPErr counts one HTTP request error (http_err_cnt, http_err_rate).
func (e *Entry) CountHTTPErr(now time.Time) { e.countPair(HTTPErrCnt, HTTPErrRate, 1, now) }

// CountHTTPFail counts one HTTP response failure (http_fail_cnt, http_fail_rate).
func (e *Entry) CountHTTPFail(now time.Time) { e.countPair(HTTPFailCnt, HTTPFailRate, 1, now) }

// CountSess counts one session accepted by the layer-4 rules (sess_cnt, sess_rate).
func (e *Entry) CountSess(now time.Time) { e.countPair(SessCnt, SessRate, 1, now) }

// CountBytes counts bytes from the client (bytes_in_*) and to it (bytes_out_*).
func (e *Entry) CountBytes(in, out uint64, now time.Time) {
	if in > 0 {
		e.countPair(BytesInCnt, BytesInRate, in, now)
	}
	if out > 0 {
		e.countPair(BytesOutCnt, BytesOutRate, out, now)
	}
}

// gpc returns where general purpose counter idx and its rate live: the arrays gpc and
// gpc_rate when the table stores them (HAProxy then points gpc0/gpc1 at their first
// elements), else the legacy gpc0/gpc1 and gpc0_rate/gpc1_rate.
func (e *Entry) gpc(idx int) (cnt, rate Data) {
	s := e.t.def.Store
	cnt, rate = GPC, GPCRate
	if !s.Has(GPC) {
		cnt = legacy(idx, GPC0, GPC1)
	}
	if !s.Has(GPCRate) {
		rate = legacy(idx, GPC0Rate, GPC1Rate)
	}
	return cnt, rate
}

// legacy returns a for index 0, b for index 1 and numData (never stored) otherwise.
func legacy(idx int, a, b Data) Data {
	switch idx {
	case 0:
		return a
	case 1:
		return b
	}
	return numData
}

// elem is idx for an array and 0 for a legacy scalar.
func elem(d Data, idx int) int {
	if d.IsArray() {
		return idx
	}
	return 0
}

// IncGPC adds one to general purpose counter idx and its rate, whichever are stored, as
// sc_inc_gpc0/sc_inc_gpc1/sc_inc_gpc(idx). It returns the counter's new value (0 when
// only the rate is stored) and false when neither is stored.
func (e *Entry) IncGPC(idx int, now time.Time) (uint64, bool) {
	cnt, rate := e.gpc(idx)
	ms := e.t.tick(now)
	e.mu.Lock()
	b := e.addLocked(rate, elem(rate, idx), 1, ms)
	a := e.addLocked(cnt, elem(cnt, idx), 1, ms)
	e.mu.Unlock()
	if !a && !b {
		return 0, false
	}
	e.setExpire(ms)
	v, _ := e.GetAt(cnt, elem(cnt, idx), now)
	return v, true
}

// GetGPC returns general purpose counter idx (sc_get_gpc0, sc_get_gpc(idx)).
func (e *Entry) GetGPC(idx int, now time.Time) (uint64, bool) {
	cnt, _ := e.gpc(idx)
	return e.GetAt(cnt, elem(cnt, idx), now)
}

// GetGPCRate returns the rate of general purpose counter idx (sc_gpc0_rate,
// sc_gpc_rate(idx)).
func (e *Entry) GetGPCRate(idx int, now time.Time) (uint64, bool) {
	_, rate := e.gpc(idx)
	return e.GetAt(rate, elem(rate, idx), now)
}

// ClearGPC sets general purpose counter idx to zero, as sc_clr_gpc0/1/sc_clr_gpc(idx),
// and returns the value it had; false when it is not stored.
func (e *Entry) ClearGPC(idx int, now time.Time) (uint64, bool) {
	cnt, _ := e.gpc(idx)
	j := elem(cnt, idx)
	if j >= e.t.def.Store.Count(cnt) {
		return 0, false
	}
	i := int(e.t.slot[cnt]) + j
	e.mu.Lock()
	old := e.vals[i]
	e.vals[i] = 0
	e.mu.Unlock()
	e.Touch(now)
	return old, true
}

// gpt returns where general purpose tag idx lives: the gpt array when stored, else
// gpt0 for index 0.
func (e *Entry) gpt(idx int) Data {
	if e.t.def.Store.Has(GPT) {
		return GPT
	}
	return legacy(idx, GPT0, numData)
}

// SetGPT sets general purpose tag idx, as sc-set-gpt0/sc-set-gpt(idx); false when it
// is not stored.
func (e *Entry) SetGPT(idx int, v uint32, now time.Time) bool {
	d := e.gpt(idx)
	j := elem(d, idx)
	if j >= e.t.def.Store.Count(d) {
		return false
	}
	e.mu.Lock()
	e.vals[int(e.t.slot[d])+j] = uint64(v)
	e.mu.Unlock()
	e.Touch(now)
	return true
}

// GetGPT returns general purpose tag idx (sc_get_gpt0, sc_get_gpt(idx)).
func (e *Entry) GetGPT(idx int, now time.Time) (uint64, bool) {
	d := e.gpt(idx)
	return e.GetAt(d, elem(d, idx), now)
}

// Set stores v in data type d as the runtime API's `set table … data.TYPE v`: 32-bit
// types keep the low 32 bits, a rate reports v for its current period then fades out,
// server_key is left alone, an array sets its first element (as HAProxy 2.6). It does
// not touch the entry; false when d is not stored.
func (e *Entry) Set(d Data, v int64, now time.Time) bool {
	t := e.t
	if d >= numData || !t.def.Store.Has(d) {
		return false
	}
	i := t.slot[d]
	e.mu.Lock()
	defer e.mu.Unlock()
	switch dataInfo[d].st {
	case stSigned, stUint:
		e.vals[i] = uint64(uint32(v))
	case stULL:
		e.vals[i] = uint64(v)
	case stRate:
		e.rates[i].set(t.tick(now), uint32(v))
	}
	return true
}
