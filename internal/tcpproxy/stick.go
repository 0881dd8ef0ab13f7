package tcpproxy

import (
	"time"

	"tandem/internal/backend"
	"tandem/internal/persist"
)

// stickState is a session's stick persistence (package persist): the server a table
// names for it, and the keys to store once it is connected.
type stickState struct {
	t       *connTxn
	srv     *backend.Server
	pending persist.Pending
}

// stickMatch runs the backend's stick match/on/store-request rules over t.
func (r *Route) stickMatch(t *connTxn) *stickState {
	st := &stickState{t: t}
	t.pool = r.Pool // the backend's rules
	st.srv = persist.Match(r.Pool.Cfg.StickRules, r.Tables, r.Pool, t, &st.pending, time.Now())
	return st
}

// store remembers srv under the session's keys.
func (st *stickState) store(r *Route, srv *backend.Server) {
	if st == nil {
		return
	}
	persist.Store(r.Pool.Cfg.StickRules, r.Tables, r.Pool, srv, st.t, &st.pending, false, time.Now())
}
