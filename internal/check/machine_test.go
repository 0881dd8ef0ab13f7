package check

import (
	"testing"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
)

// configuration.txt, "rise"/"fall" and "inter": a server starts UP one failure away from
// DOWN (HAProxy 2.6 sets health = rise at start), fall consecutive failures take a fully
// UP server DOWN, rise consecutive successes bring a DOWN one back.
func TestMachine(t *testing.T) {
	tests := []struct {
		name       string
		rise, fall int
		steps      string // '+' success, '-' failure
		want       []Transition
		up         bool
		phase      string
	}{
		{"starts up, first failure marks down", 2, 3, "-", []Transition{WentDown}, false, "DOWN"},
		{"start then success is fully up", 2, 3, "++", []Transition{Stay, Stay}, true, "UP"},
		{"fall failures from fully up", 2, 3, "++++---", []Transition{Stay, Stay, Stay, Stay, Stay, Stay, WentDown}, false, "DOWN"},
		{"fall-1 failures stay up, going down", 2, 3, "++++--", []Transition{Stay, Stay, Stay, Stay, Stay, Stay}, true, "UP, going down"},
		{"a success in between resets nothing but one step", 2, 3, "++++--+-", []Transition{Stay, Stay, Stay, Stay, Stay, Stay, Stay, Stay}, true, "UP, going down"},
		{"rise successes bring it back", 2, 3, "-++", []Transition{WentDown, Stay, WentUp}, true, "UP"},
		{"one success is going up", 2, 3, "-+", []Transition{WentDown, Stay}, false, "DOWN, going up"},
		{"going up then failure", 3, 2, "-++-", []Transition{WentDown, Stay, Stay, Stay}, false, "DOWN, going up"},
		{"rise 1 fall 1", 1, 1, "-+-+", []Transition{WentDown, WentUp, WentDown, WentUp}, true, "UP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMachine(tt.rise, tt.fall)
			for i, c := range tt.steps {
				if got := m.Step(c == '+'); got != tt.want[i] {
					t.Fatalf("step %d (%c): %v, want %v (machine %+v)", i, c, got, tt.want[i], m)
				}
			}
			if m.Up != tt.up || m.Phase() != tt.phase {
				t.Fatalf("up=%v phase=%q, want %v %q", m.Up, m.Phase(), tt.up, tt.phase)
			}
		})
	}
}

// "inter"/"fastinter"/"downinter" table of configuration.txt.
func TestMachineInterval(t *testing.T) {
	const inter, fast, down = 2 * time.Second, 500 * time.Millisecond, 10 * time.Second
	m := NewMachine(2, 3) // yet unchecked: transitional
	if got := m.Interval(inter, fast, down); got != fast {
		t.Errorf("unchecked: %v, want fastinter", got)
	}
	m.Step(true)
	m.Step(true)
	if got := m.Interval(inter, fast, down); got != inter {
		t.Errorf("UP 100%%: %v, want inter", got)
	}
	m.Step(false)
	if got := m.Interval(inter, fast, down); got != fast {
		t.Errorf("going down: %v, want fastinter", got)
	}
	m.MarkDown()
	if got := m.Interval(inter, fast, down); got != down {
		t.Errorf("DOWN 100%%: %v, want downinter", got)
	}
	if got := m.Interval(inter, 0, 0); got != inter {
		t.Errorf("DOWN without downinter: %v, want inter", got)
	}
	m.Step(true)
	if got := m.Interval(inter, fast, down); got != fast {
		t.Errorf("going up: %v, want fastinter", got)
	}
}

func TestMachineOnError(t *testing.T) {
	m := NewMachine(2, 3)
	m.Step(true)
	m.Step(true)
	m.SuddenDeath()
	if !m.Up || m.Step(false) != WentDown {
		t.Fatalf("sudden-death: one more failure must mark down: %+v", m)
	}
	m = NewMachine(2, 3)
	if m.MarkDown() != WentDown || m.Health != 0 {
		t.Fatalf("mark-down: %+v", m)
	}
	if n, of := m.Counter(); n != 0 || of != 2 {
		t.Fatalf("counter %d/%d, want 0/2 (HAProxy's \"status: 0/2 DOWN\")", n, of)
	}
}

func TestAlignToTick(t *testing.T) {
	now := time.Unix(100, 3_000_000) // 3 ms past a tick
	r := &Runner{now: func() time.Time { return now }}
	if got := r.align(time.Second); got != time.Second+7*time.Millisecond {
		t.Errorf("align(1s) = %v, want 1.007s (end on the 10 ms grid)", got)
	}
	if got := r.align(50 * time.Millisecond); got != 50*time.Millisecond {
		t.Errorf("short delays are left alone: %v", got)
	}
}

// A runner that replaces another (check settings changed on reload) keeps its health.
func TestRunnerInheritsHealth(t *testing.T) {
	be := &config.Backend{Name: "app", Servers: []*config.Server{
		server("s1", "127.0.0.1:1", config.ServerCheck{Enabled: true, Inter: time.Second, Rise: 2, Fall: 3}),
	}}
	st := backend.NewStates().Get("app", "s1")
	r1, _ := NewRunner(Options{Backend: be, Server: be.Servers[0], State: st})
	r1.apply(Result{Status: L4OK})
	r1.apply(Result{Status: L4OK}) // fully UP: 3 failures from DOWN
	be2 := &config.Backend{Name: "app", Servers: []*config.Server{
		server("s1", "127.0.0.1:1", config.ServerCheck{Enabled: true, Inter: 2 * time.Second, Rise: 2, Fall: 3}),
	}}
	r2, _ := NewRunner(Options{Backend: be2, Server: be2.Servers[0], State: st, Prev: r1})
	if r2.m.Phase() != "UP" || r2.m.Health != 4 {
		t.Fatalf("inherited machine %+v, want fully UP", r2.m)
	}
	r2.apply(Result{Status: L4CON})
	if !st.Up() {
		t.Fatal("one failure took a fully UP server DOWN after a reload")
	}
}
