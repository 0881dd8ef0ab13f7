package config

import (
	"tandem/internal/sample"
	"tandem/internal/stick"
)

// StickTable is one `stick-table` line: the table of the proxy named Def.Name, which
// rules of any proxy may reference by that name. Def is comparable: a reload keeps the
// live entries of a table whose Def did not change.
type StickTable struct {
	Pos Pos
	Def stick.Def
}

// StickKind is what a `stick` rule does.
type StickKind uint8

// Stick rule kinds.
const (
	StickMatch         StickKind = iota // stick match: send the request to the server the table names
	StickOn                             // stick on: match, then store-request
	StickStoreRequest                   // stick store-request: remember the server chosen for the key
	StickStoreResponse                  // stick store-response: the same, with a key from the response
)

// StickRule is one `stick match|on|store-request|store-response PATTERN [table T]
// [if|unless COND]` line of a backend, in order.
type StickRule struct {
	Pos   Pos
	Kind  StickKind
	Expr  *sample.Expr
	Table string       // resolved: the backend's own table when not written
	Cond  *sample.Cond // nil: always
}

// Matches reports whether the rule looks a server up (match, on).
func (r *StickRule) Matches() bool { return r.Kind == StickMatch || r.Kind == StickOn }

// Stores reports whether the rule remembers the request's server (on, store-request).
func (r *StickRule) Stores() bool { return r.Kind == StickOn || r.Kind == StickStoreRequest }
