package daemon

import (
	"sync"
	"sync/atomic"
	"time"

	"tandem/internal/config"
	"tandem/internal/stick"
)

// purgeEvery is how often expired stick-table entries are removed (HAProxy's expiry
// task; lookups already ignore them at once).
const purgeEvery = time.Second

// tableSet holds the live stick tables. A reload keeps the entries of a table whose
// definition did not change; a changed or new definition starts empty.
type tableSet struct {
	mu     sync.Mutex // serialises apply and stop
	byName map[string]*stick.Table
	list   atomic.Pointer[[]*stick.Table] // file order, read by the runtime API
	stop   chan struct{}                  // closes the purge loop; nil: not running
	done   chan struct{}
	now    func() time.Time
}

func newTableSet() *tableSet {
	return &tableSet{byName: map[string]*stick.Table{}, now: time.Now}
}

// apply makes cfg's tables the live ones (the routes built next read them by name,
// byNameNow; the runtime API in file order, tables).
func (s *tableSet) apply(cfg *config.Config) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	byName := make(map[string]*stick.Table, len(cfg.Tables))
	list := make([]*stick.Table, 0, len(cfg.Tables))
	for _, st := range cfg.Tables {
		t := s.byName[st.Def.Name]
		if t == nil || !t.Matches(st.Def) {
			t = stick.New(st.Def, now)
		}
		byName[st.Def.Name] = t
		list = append(list, t)
	}
	s.byName = byName
	s.list.Store(&list)
	if len(list) > 0 && s.stop == nil {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.purgeLoop(s.stop, s.done)
	}
}

// byNameNow returns the live tables by name (the map apply made: never changed after).
func (s *tableSet) byNameNow() map[string]*stick.Table {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byName
}

// tables returns the live tables in file order.
func (s *tableSet) tables() []*stick.Table {
	if l := s.list.Load(); l != nil {
		return *l
	}
	return nil
}

func (s *tableSet) purgeLoop(stop, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(purgeEvery)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			now := s.now()
			for _, t := range s.tables() {
				t.Purge(now)
			}
		}
	}
}

// close stops the purge loop.
func (s *tableSet) close() {
	s.mu.Lock()
	stop, done := s.stop, s.done
	s.stop = nil
	s.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}
