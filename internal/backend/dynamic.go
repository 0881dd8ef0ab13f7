package backend

import (
	"sync/atomic"

	"tandem/internal/config"
)

// Dynamic maxconn: a server with `minconn` below its `maxconn` takes at most
// config.DynamicMaxConn sessions, a limit that follows the backend's load, counted here
// as HAProxy counts it: every session attached to the backend, those that hold a slot
// and those being placed or waiting in a queue. A request counts itself from the moment
// it enters Acquire, so the limit it is checked against already includes it.
//
// The count is kept only in pools where a server has minconn: elsewhere Acquire and
// Release do not touch it. The limit rises only when a session enters; a request that
// enters while others wait goes through the slow path, which dispatches the queue
// first, so waiters take the slots the higher limit opens before the newcomer, and
// without waiting for a Release. When the limit falls, sessions above it keep their
// slot; new ones wait until the server is below it again.
//
// The count belongs to the pool: after a reload the sessions still held through the old
// pool weigh on each server's connection count (shared State) but not on the new
// backend's load, as in a new HAProxy process.
type dynamic struct {
	on   bool // a server of the pool has minconn
	sess atomic.Int64
}

// dynamicLimit is s's limit for the maxconn in force (configured or set at run time).
// The haproxy parser always fills the backend's fullconn (HAProxy's default when it is
// not written); without one, the limit is maxconn.
func (s *Server) dynamicLimit(maxConn int64) int64 {
	p := s.pool
	return config.DynamicMaxConn(int64(s.Cfg.MinConn), maxConn, p.dyn.sess.Load(), int64(p.Cfg.FullConn))
}

// enter counts a session entering the backend, leave one leaving it.
func (p *Pool) enter() {
	if p.dyn.on {
		p.dyn.sess.Add(1)
	}
}

func (p *Pool) leave() {
	if p.dyn.on {
		p.dyn.sess.Add(-1)
	}
}

// Sessions returns the backend's load as the dynamic limits see it: the sessions holding
// a slot through the pool plus those being placed or queued. It is 0 when no server of
// the pool has minconn (nothing counts them then).
func (p *Pool) Sessions() int { return int(p.dyn.sess.Load()) }
