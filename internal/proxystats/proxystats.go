// Package proxystats holds a frontend's live counters (sessions, rates, bytes, requests
// and responses by class, denials and errors) for the stats page, the runtime API and
// Prometheus. The data paths record through named methods: each is a few atomic
// operations, allocates nothing, and does nothing on a nil *Frontend, so a path without
// counters needs no check. Counters live in a Registry keyed by frontend name, so they
// survive a reload.
package proxystats

import (
	"sync"
	"sync/atomic"
	"time"
)

// Frontend is one frontend's counters.
type Frontend struct {
	cur, max    atomic.Int64
	total       atomic.Uint64 // sessions (HAProxy counts connections and sessions alike here)
	bytesIn     atomic.Uint64 // from clients
	bytesOut    atomic.Uint64 // to clients
	denied      atomic.Uint64 // requests denied
	reqErr      atomic.Uint64 // invalid or timed-out requests (400, 408)
	requests    atomic.Uint64
	intercepted atomic.Uint64 // requests answered by tandem itself (stats page, metrics)
	responses   [6]atomic.Uint64
	sessRate    Rate
	reqRate     Rate
}

// SessionOpen counts a new client connection at now.
func (f *Frontend) SessionOpen(now time.Time) {
	if f == nil {
		return
	}
	c := f.cur.Add(1)
	for {
		m := f.max.Load()
		if c <= m || f.max.CompareAndSwap(m, c) {
			break
		}
	}
	f.total.Add(1)
	f.sessRate.Add(now.Unix())
}

// Sessions returns how many client connections the frontend has accepted.
func (f *Frontend) Sessions() uint64 {
	if f == nil {
		return 0
	}
	return f.total.Load()
}

// SessionClose counts the end of a client connection.
func (f *Frontend) SessionClose() {
	if f != nil {
		f.cur.Add(-1)
	}
}

// Bytes adds bytes received from (in) and sent to (out) clients.
func (f *Frontend) Bytes(in, out int64) {
	if f == nil {
		return
	}
	if in > 0 {
		f.bytesIn.Add(uint64(in))
	}
	if out > 0 {
		f.bytesOut.Add(uint64(out))
	}
}

// Request counts one HTTP request at now.
func (f *Frontend) Request(now time.Time) {
	if f == nil {
		return
	}
	f.requests.Add(1)
	f.reqRate.Add(now.Unix())
}

// Response counts one response of HTTP status code to a client.
func (f *Frontend) Response(code int) {
	if f == nil {
		return
	}
	i := code/100 - 1
	if i < 0 || i > 4 {
		i = 5
	}
	f.responses[i].Add(1)
}

// RequestError counts an invalid or timed-out request.
func (f *Frontend) RequestError() {
	if f != nil {
		f.reqErr.Add(1)
	}
}

// Denied counts a request refused by a rule (or by stats authentication).
func (f *Frontend) Denied() {
	if f != nil {
		f.denied.Add(1)
	}
}

// Intercepted counts a request tandem answered itself (stats page, metrics).
func (f *Frontend) Intercepted() {
	if f != nil {
		f.intercepted.Add(1)
	}
}

// Snapshot is a copy of a frontend's counters at one time.
type Snapshot struct {
	Cur, Max              int64
	Total                 uint64
	BytesIn, BytesOut     uint64
	Denied, ReqErr        uint64
	Requests, Intercepted uint64
	Responses             [6]uint64 // 1xx, 2xx, 3xx, 4xx, 5xx, other
	SessRate, SessRateMax uint64
	ReqRate, ReqRateMax   uint64
}

// Snapshot reads the counters; now is for the rates.
func (f *Frontend) Snapshot(now time.Time) Snapshot {
	var s Snapshot
	if f == nil {
		return s
	}
	sec := now.Unix()
	s.Cur, s.Max, s.Total = f.cur.Load(), f.max.Load(), f.total.Load()
	s.BytesIn, s.BytesOut = f.bytesIn.Load(), f.bytesOut.Load()
	s.Denied, s.ReqErr = f.denied.Load(), f.reqErr.Load()
	s.Requests, s.Intercepted = f.requests.Load(), f.intercepted.Load()
	for i := range s.Responses {
		s.Responses[i] = f.responses[i].Load()
	}
	s.SessRate, s.SessRateMax = f.sessRate.Read(sec), f.sessRate.Max()
	s.ReqRate, s.ReqRateMax = f.reqRate.Read(sec), f.reqRate.Max()
	return s
}

// Rate counts events per second: the count of the last whole second, and the highest
// per-second count seen.
type Rate struct {
	sec  atomic.Int64
	cur  atomic.Uint64 // events in second sec
	prev atomic.Uint64 // events in second sec-1
	max  atomic.Uint64
}

// Add counts one event in second sec.
func (r *Rate) Add(sec int64) {
	for {
		s := r.sec.Load()
		if s == sec {
			break
		}
		if sec < s { // a late caller: count it in the current second
			break
		}
		if r.sec.CompareAndSwap(s, sec) {
			old := r.cur.Swap(0)
			if sec == s+1 {
				r.prev.Store(old)
			} else {
				r.prev.Store(0)
			}
			break
		}
	}
	n := r.cur.Add(1)
	for {
		m := r.max.Load()
		if n <= m || r.max.CompareAndSwap(m, n) {
			return
		}
	}
}

// Read returns the events per second at second sec: those of the last whole second.
func (r *Rate) Read(sec int64) uint64 {
	switch r.sec.Load() {
	case sec:
		return r.prev.Load()
	case sec - 1:
		return r.cur.Load()
	}
	return 0
}

// Max returns the highest count seen in one second.
func (r *Rate) Max() uint64 { return r.max.Load() }

// Registry keeps every frontend's counters for the life of the process.
type Registry struct {
	mu sync.Mutex
	m  map[string]*Frontend
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{m: map[string]*Frontend{}} }

// Frontend returns the counters of frontend name, creating them when new.
func (r *Registry) Frontend(name string) *Frontend {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.m[name]
	if f == nil {
		f = &Frontend{}
		r.m[name] = f
	}
	return f
}
