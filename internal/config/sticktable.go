package config

import "tandem/internal/stick"

// StickTable is one `stick-table` line: the table of the proxy named Def.Name, which
// rules of any proxy may reference by that name. Def is comparable: a reload keeps the
// live entries of a table whose Def did not change.
type StickTable struct {
	Pos Pos
	Def stick.Def
}
