package stick

import (
	"container/heap"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

const numShards = 32

// Table is one live stick table. Every method is safe for concurrent use.
type Table struct {
	def    Def
	base   time.Time // ticks count milliseconds from base
	expire int64     // ms, 0: entries do not expire
	seed   maphash.Seed
	secret uint64 // mixes fixed keys into shards
	shards [numShards]shard

	used    atomic.Int64
	ids     atomic.Uint64 // entry ids, for `show table`
	touches atomic.Uint64 // orders touches within one millisecond
	evictMu sync.Mutex    // one eviction scan at a time

	// slot maps a stored data type to its index in Entry.vals (counters) or
	// Entry.rates (frequency counters); -1 when not stored.
	// An array's elements take consecutive slots from its first.
	slot             [numData]int16
	nvals, nrates    int
	periods          []uint32 // period of each rate slot, ms
	connCur, connCnt int16    // slots, -1 when not stored
	connRate         int16
}

type shard struct {
	mu sync.Mutex
	m  map[Key]*Entry
}

// tickBase keeps ticks far from zero, as HAProxy's: a zero frequency counter then
// starts a new period on its first event.
const tickBase = 1 << 32

// New returns an empty table for def. now anchors its clock: later times are read
// relative to it (their monotonic readings when they have them).
func New(def Def, now time.Time) *Table {
	if def.KeyLen <= 0 {
		def.KeyLen = DefaultKeyLen
	}
	if def.SrvKey == "" {
		def.SrvKey = "name"
	}
	t := &Table{def: def, base: now, expire: def.Expire.Milliseconds(), seed: maphash.MakeSeed()}
	t.secret = maphash.Comparable(t.seed, now.UnixNano())
	for i := range t.shards {
		t.shards[i].m = map[Key]*Entry{}
	}
	for d := range numData {
		t.slot[d] = -1
		if !def.Store.Has(d) {
			continue
		}
		n := def.Store.Count(d)
		switch dataInfo[d].st {
		case stRate:
			t.slot[d] = int16(t.nrates)
			for range n {
				t.periods = append(t.periods, uint32(def.Store.Period(d).Milliseconds()))
			}
			t.nrates += n
		case stDict:
			// server_key lives in Entry.srvKey
		default:
			t.slot[d] = int16(t.nvals)
			t.nvals += n
		}
	}
	t.connCur, t.connCnt, t.connRate = t.slot[ConnCur], t.slot[ConnCnt], t.slot[ConnRate]
	return t
}

// Def returns the definition the table was built from.
func (t *Table) Def() Def { return t.def }

// Name is the table's name: the proxy that holds it.
func (t *Table) Name() string { return t.def.Name }

// Size is the maximum number of entries.
func (t *Table) Size() int { return t.def.Size }

// Used is the number of entries, expired ones not yet purged included.
func (t *Table) Used() int { return int(t.used.Load()) }

// Stores reports whether entries store data type d.
func (t *Table) Stores(d Data) bool { return t.def.Store.Has(d) }

// Period returns the period of a stored rate.
func (t *Table) Period(d Data) time.Duration { return t.def.Store.Period(d) }

// tick converts now to the table's milliseconds.
func (t *Table) tick(now time.Time) int64 { return tickBase + now.Sub(t.base).Milliseconds() }

// shardOf picks k's shard: a cheap mix of the fixed bytes (with a per-table secret, so
// that keys cannot be chosen to pile into one shard), and maphash for string keys.
func (t *Table) shardOf(k *Key) *shard {
	x := binary.LittleEndian.Uint64(k.fixed[:8]) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(k.fixed[8:]), 31) ^ t.secret
	if k.s != "" {
		x ^= maphash.String(t.seed, k.s)
	}
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return &t.shards[x%numShards]
}

// expired reports whether e's time is over at tick now.
func (t *Table) expired(e *Entry, now int64) bool {
	return t.expire > 0 && e.expire.Load() <= now
}

// Lookup returns the live entry of k, or nil. It neither creates, references nor
// touches the entry (HAProxy's table_* converters and src_* fetches).
func (t *Table) Lookup(k Key, now time.Time) *Entry {
	sh := t.shardOf(&k)
	sh.mu.Lock()
	e := sh.m[k]
	sh.mu.Unlock()
	if e == nil || t.expired(e, t.tick(now)) && e.ref.Load() == 0 {
		return nil
	}
	return e
}

// Acquire returns the entry of k, created when missing, with one more reference that
// the caller gives back with Release. It returns nil when the table is full and nopurge
// forbids evicting, or when every entry is in use.
func (t *Table) Acquire(k Key, now time.Time) *Entry {
	ms := t.tick(now)
	sh := t.shardOf(&k)
	sh.mu.Lock()
	if e := t.reuse(sh, k, ms); e != nil {
		sh.mu.Unlock()
		return e
	}
	sh.mu.Unlock()
	if !t.reserve() {
		return nil
	}
	e := t.newEntry(k, ms)
	sh.mu.Lock()
	if old := t.reuse(sh, k, ms); old != nil {
		sh.mu.Unlock()
		t.used.Add(-1) // another goroutine created it meanwhile
		return old
	}
	e.ref.Store(1)
	sh.m[k] = e
	sh.mu.Unlock()
	return e
}

// reuse returns the entry of k with one more reference, or nil when it is missing or
// expired and unreferenced (then it is removed). sh.mu is held.
func (t *Table) reuse(sh *shard, k Key, ms int64) *Entry {
	e := sh.m[k]
	if e == nil {
		return nil
	}
	if t.expired(e, ms) && e.ref.Load() == 0 {
		t.remove(sh, e)
		return nil
	}
	e.ref.Add(1)
	return e
}

// remove takes e out of its shard. sh.mu is held.
func (t *Table) remove(sh *shard, e *Entry) {
	if sh.m[e.key] == e {
		delete(sh.m, e.key)
		t.used.Add(-1)
	}
}

func (t *Table) newEntry(k Key, ms int64) *Entry {
	e := &Entry{t: t, key: k, id: t.ids.Add(1)}
	if t.nvals > 0 {
		e.vals = make([]uint64, t.nvals)
	}
	if t.nrates > 0 {
		e.rates = make([]freqCtr, t.nrates)
	}
	e.setExpire(ms)
	return e
}

// reserve counts one more entry, evicting the oldest unreferenced ones when the table
// is full: (size/256)+1 of them at once, as HAProxy. It reports false when the table is
// full and cannot make room.
func (t *Table) reserve() bool {
	// Each round either takes a free slot or evicts; it only fails over when other
	// goroutines keep taking the room made, so the bound is never reached in practice.
	for range 64 {
		u := t.used.Load()
		if u < int64(t.def.Size) {
			if t.used.CompareAndSwap(u, u+1) {
				return true
			}
			continue
		}
		if t.def.NoPurge {
			return false
		}
		if t.evict(t.def.Size>>8+1) == 0 && t.used.Load() >= int64(t.def.Size) {
			return false
		}
	}
	return false
}

// evict removes up to n unreferenced entries, those touched least recently first, and
// returns how many it removed.
func (t *Table) evict(n int) int {
	t.evictMu.Lock()
	defer t.evictMu.Unlock()
	if t.used.Load() < int64(t.def.Size) {
		return 1 // another goroutine made room
	}
	h := &oldest{}
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for _, e := range sh.m {
			if e.ref.Load() != 0 {
				continue
			}
			c := candidate{e: e, exp: e.expire.Load(), seq: e.seq.Load()}
			if h.Len() < n {
				heap.Push(h, c)
			} else if c.before((*h)[0]) {
				(*h)[0] = c
				heap.Fix(h, 0)
			}
		}
		sh.mu.Unlock()
	}
	removed := 0
	for _, c := range *h {
		sh := t.shardOf(&c.e.key)
		sh.mu.Lock()
		if c.e.ref.Load() == 0 && c.e.seq.Load() == c.seq && sh.m[c.e.key] == c.e {
			t.remove(sh, c.e)
			removed++
		}
		sh.mu.Unlock()
	}
	return removed
}

type candidate struct {
	e        *Entry
	exp, seq int64
}

func (a candidate) before(b candidate) bool { return a.exp < b.exp || a.exp == b.exp && a.seq < b.seq }

// oldest is a max-heap of candidates: the root is the most recent of the n oldest.
type oldest []candidate

func (h oldest) Len() int           { return len(h) }
func (h oldest) Less(i, j int) bool { return h[j].before(h[i]) }
func (h oldest) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *oldest) Push(x any)        { *h = append(*h, x.(candidate)) }
func (h *oldest) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Track starts tracking k for a session, as HAProxy's track-sc actions: the entry is
// created when missing and referenced, conn_cur and conn_cnt count one more, conn_rate
// one more event, and its expiry is refreshed. Stop with Entry.Untrack. nil: the table
// is full (see Acquire).
func (t *Table) Track(k Key, now time.Time) *Entry {
	e := t.Acquire(k, now)
	if e == nil {
		return nil
	}
	ms := t.tick(now)
	e.mu.Lock()
	if t.connCur >= 0 {
		e.vals[t.connCur] = uint64(uint32(e.vals[t.connCur] + 1))
	}
	if t.connCnt >= 0 {
		e.vals[t.connCnt] = uint64(uint32(e.vals[t.connCnt] + 1))
	}
	if t.connRate >= 0 {
		e.rates[t.connRate].add(ms, t.periods[t.connRate], 1)
	}
	e.mu.Unlock()
	e.setExpire(ms)
	return e
}

// Purge removes the entries whose time is over and that no session references; the
// daemon calls it periodically (HAProxy's expiry task), and `show table` before it
// dumps.
func (t *Table) Purge(now time.Time) int {
	if t.expire == 0 {
		return 0
	}
	ms := t.tick(now)
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for _, e := range sh.m {
			if e.ref.Load() == 0 && e.expire.Load() <= ms {
				t.remove(sh, e)
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n
}

// Remove deletes e unless a session references it; it reports whether e is gone.
func (t *Table) Remove(e *Entry) bool {
	sh := t.shardOf(&e.key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e.ref.Load() != 0 {
		return false
	}
	t.remove(sh, e)
	return true
}

// Entries returns the live entries in HAProxy's dump order (by key). Expired entries
// that a session still references are included, as HAProxy keeps them.
func (t *Table) Entries(now time.Time) []*Entry {
	ms := t.tick(now)
	var out []*Entry
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for _, e := range sh.m {
			if !t.expired(e, ms) || e.ref.Load() != 0 {
				out = append(out, e)
			}
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b *Entry) int { return compareKeys(&a.key, &b.key) })
	return out
}

// Matches reports whether def defines this table (defaults applied as New applies
// them): a reload keeps the live table then.
func (t *Table) Matches(def Def) bool {
	if def.KeyLen <= 0 {
		def.KeyLen = DefaultKeyLen
	}
	if def.SrvKey == "" {
		def.SrvKey = "name"
	}
	return def == t.def
}
