package check

import "time"

// Transition is what a step of the Machine did to the server's health.
type Transition int

// Transitions.
const (
	Stay     Transition = iota
	WentUp              // health reached rise: the server is UP
	WentDown            // health fell below rise: the server is DOWN
)

// Machine is HAProxy's health counter, pure: no clock, no I/O. health runs from 0 to
// rise+fall-1; the server is UP while health >= rise. A failure takes one from it and a
// success adds one; crossing rise changes the state and jumps to the far end (0 when
// going DOWN, rise+fall-1 when going UP), so a healthy server needs fall failures to go
// DOWN and a dead one rise successes to come back.
//
// HAProxy 2.6 starts a checked server UP with health = rise: the first failed check
// takes it DOWN, the first good ones make it fully UP (NewMachine does the same).
type Machine struct {
	Rise, Fall int
	Health     int
	Up         bool
}

// NewMachine returns the machine of a server that was just configured: UP at the edge.
func NewMachine(rise, fall int) Machine {
	rise, fall = max(rise, 1), max(fall, 1)
	return Machine{Rise: rise, Fall: fall, Health: rise, Up: true}
}

func (m *Machine) top() int { return m.Rise + m.Fall - 1 }

// Step applies one check outcome.
func (m *Machine) Step(ok bool) Transition {
	if ok {
		if m.Health < m.top() {
			m.Health++
		}
		if !m.Up && m.Health >= m.Rise {
			m.Up, m.Health = true, m.top()
			return WentUp
		}
		return Stay
	}
	if m.Health > 0 {
		m.Health--
	}
	if m.Up && m.Health < m.Rise {
		m.Up, m.Health = false, 0
		return WentDown
	}
	return Stay
}

// MarkDown puts the server DOWN at once (on-error mark-down, an agent's "down").
func (m *Machine) MarkDown() Transition {
	m.Health = 0
	if m.Up {
		m.Up = false
		return WentDown
	}
	return Stay
}

// SuddenDeath leaves an UP server one failure away from DOWN (on-error sudden-death).
func (m *Machine) SuddenDeath() {
	if m.Up {
		m.Health = m.Rise
	}
}

// Phase is the state as the stats page words it.
func (m *Machine) Phase() string {
	switch {
	case m.Up && m.Health < m.top():
		return "UP, going down"
	case m.Up:
		return "UP"
	case m.Health > 0:
		return "DOWN, going up"
	}
	return "DOWN"
}

// Transitional reports whether the server is between states (HAProxy then checks at
// fastinter).
func (m *Machine) Transitional() bool {
	return (m.Up && m.Health < m.top()) || (!m.Up && m.Health > 0)
}

// Counter is the "status: H/N" of HAProxy's log-health-checks lines: for an UP server
// the failures it can still take, for a DOWN one the successes it has.
func (m *Machine) Counter() (n, of int) {
	if m.Up {
		return m.Health - m.Rise + 1, m.Fall
	}
	return m.Health, m.Rise
}

// Interval returns the time to the next check: fastinter while transitional, downinter
// while DOWN, inter otherwise (a zero fast or down means inter).
func (m *Machine) Interval(inter, fast, down time.Duration) time.Duration {
	switch {
	case m.Transitional() && fast > 0:
		return fast
	case !m.Up && m.Health == 0 && down > 0:
		return down
	}
	return inter
}
