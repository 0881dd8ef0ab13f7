package backend

import (
	"sync"
	"sync/atomic"
	"time"
)

// CheckInfo is what the health checks last found about a server, for the stats page and
// the runtime API. The check runner writes it; readers get a copy.
type CheckInfo struct {
	Enabled    bool          // the server has `check`
	Status     string        // HAProxy's short status: L4OK, L4CON, L4TOUT, L7OK, L7STS, L7RSP, L7TOUT, ...
	Desc       string        // its long form: "Layer4 connection problem", ...
	Code       int           // HTTP status of the last HTTP check, 0 otherwise
	Info       string        // extra detail ("Connection refused", the reason phrase, ...)
	Duration   time.Duration // how long the last check took
	Health     int           // HAProxy's health counter: 0..rise+fall-1; UP while >= rise
	Rise, Fall int
	Phase      string // "UP", "DOWN", "UP, going down", "DOWN, going up", "MAINT", "DRAIN"
	Failures   uint64 // failed checks since the process started
	Downs      uint64 // UP to DOWN transitions
	LastChange time.Time
	DownTotal  time.Duration // time spent DOWN before the current period
	DownSince  time.Time     // zero while UP

	Agent       bool   // the server has agent-check
	AgentStatus string // last agent reply status: L7OK, L4CON, ...
	AgentInfo   string // last agent reply as read (trimmed)
}

// Downtime returns the total time the server has been DOWN up to now.
func (c *CheckInfo) Downtime(now time.Time) time.Duration {
	d := c.DownTotal
	if !c.DownSince.IsZero() {
		d += now.Sub(c.DownSince)
	}
	return d
}

// health guards a server's CheckInfo.
type health struct {
	mu   sync.Mutex
	info CheckInfo
	off  atomic.Bool // "disable health" (runtime API): checks paused, server unchecked
}

// SetHealthChecks pauses (false) or resumes (true) the server's health checks, as the
// runtime API's "disable/enable health": while paused the runner sends no check and the
// server counts as UP, unchecked.
func (s *State) SetHealthChecks(on bool) {
	s.check.off.Store(!on)
	if !on && !s.Up() {
		s.SetUp(true)
	}
}

// HealthChecksOn reports whether the health checks run (not disabled at runtime).
func (s *State) HealthChecksOn() bool { return !s.check.off.Load() }

// CheckInfo returns a copy of what the checks last found.
func (s *State) CheckInfo() CheckInfo {
	s.check.mu.Lock()
	defer s.check.mu.Unlock()
	return s.check.info
}

// UpdateCheckInfo changes the check information under its lock.
func (s *State) UpdateCheckInfo(f func(*CheckInfo)) {
	s.check.mu.Lock()
	defer s.check.mu.Unlock()
	f(&s.check.info)
}

// SetRamp sets the slowstart factor: the weight in force and the server's connection
// limit (maxconn, dynamic or not) are multiplied by permille/1000 (at least 1). 0 or 1000
// and above end the ramp.
func (s *State) SetRamp(permille int) {
	if permille >= 1000 || permille < 0 {
		permille = 0
	}
	if int(s.ramp.Swap(int32(permille))) != permille {
		s.changed()
	}
}

// Ramp returns the slowstart factor in per-mille, 0 when the server is not ramping.
func (s *State) Ramp() int { return int(s.ramp.Load()) }

// Observer receives the outcome of live traffic to a server (observe layer4|layer7).
type Observer interface {
	// Observe is told of a connection failure (connErr) or of a response status (code > 0).
	// It is called on the data path: it must be quick and must not block.
	Observe(connErr bool, code int)
}

type observerBox struct{ o Observer }

// SetObserver installs o (nil removes it).
func (s *State) SetObserver(o Observer) {
	if o == nil {
		s.obs.Store(nil)
		return
	}
	s.obs.Store(&observerBox{o})
}

// ObserveConnError reports a failed connection to the server's observer, if any.
func (s *State) ObserveConnError() {
	if b := s.obs.Load(); b != nil {
		b.o.Observe(true, 0)
	}
}

// ObserveStatus reports a response status to the server's observer, if any.
func (s *State) ObserveStatus(code int) {
	if b := s.obs.Load(); b != nil {
		b.o.Observe(false, code)
	}
}

// ClearObserver removes o if it is the server's observer (a newer one stays).
func (s *State) ClearObserver(o Observer) {
	if b := s.obs.Load(); b != nil && b.o == o {
		s.obs.CompareAndSwap(b, nil)
	}
}

// SetMaxConn sets the server's maxconn at run time (agent-check "maxconn:N"); 0 or less
// returns to the configured one. Queued requests are dispatched again.
func (s *State) SetMaxConn(n int) {
	if n < 0 {
		n = 0
	}
	s.rtMax.Store(int64(n))
	s.changed()
}

// MaxConn returns the maxconn set at run time, 0 when the configured one applies.
func (s *State) MaxConn() int { return int(s.rtMax.Load()) }
