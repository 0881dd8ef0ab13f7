package haproxy

import (
	"tandem/internal/config"
	"tandem/internal/rules"
)

// This file resolves what stick-counter rules and fetches name: track-sc without
// "table" tracks in the proxy's own table, and every table named must exist, as
// HAProxy 2.6 checks.

// tableRef is a stick table named on a line.
type tableRef struct {
	pos  config.Pos
	name string
}

// resolveTrack checks the tables of every proxy's rules and fetches and gives
// track-sc rules their table. It runs after resolveTables.
func (p *parser) resolveTrack(cfg *config.Config) {
	names := map[string]bool{}
	for _, st := range cfg.Tables {
		names[st.Def.Name] = true
	}
	for _, px := range p.proxies {
		if px.kind == SecDefaults {
			continue
		}
		p.label = px.label
		for _, tr := range px.tableRefs {
			if !names[tr.name] {
				p.errorf(tr.pos, "stick table %q not found (a table is the stick-table of the frontend, backend or listen section of that name)", tr.name)
			}
		}
		own := names[px.name] && px.stickTable != nil
		fix := func(prog rules.Program) rules.Program { return p.trackTables(px, own, prog) }
		if px.kind&(SecFrontend|SecListen) != 0 {
			if f := cfg.Frontend(px.name); f != nil {
				f.Rules.Request = fix(f.Rules.Request)
				f.Rules.Response = fix(f.Rules.Response)
				f.TCPRules.Connection = fix(f.TCPRules.Connection)
				f.TCPRules.Session = fix(f.TCPRules.Session)
				f.TCPRules.Content = fix(f.TCPRules.Content)
			}
		}
		if px.kind&(SecBackend|SecListen) != 0 {
			if b := cfg.Backend(px.name); b != nil {
				b.Rules.Request = fix(b.Rules.Request)
				b.Rules.Response = fix(b.Rules.Response)
				b.TCPRules.Content = fix(b.TCPRules.Content)
				b.TCPRules.Response = fix(b.TCPRules.Response)
			}
		}
	}
}

// trackTables returns prog with each track-sc rule that names no table pointing at
// px's own (a copy: rules inherited from a defaults section are shared).
func (p *parser) trackTables(px *proxyState, own bool, prog rules.Program) rules.Program {
	var out rules.Program
	for i, r := range prog {
		if r.Action != rules.TrackSC || r.Table != "" {
			continue
		}
		if out == nil {
			out = append(rules.Program(nil), prog...)
		}
		if !own {
			p.errorf(config.Pos{File: r.File, Line: r.Line}, "track-sc%d: %q has no stick-table; add one or name another proxy's with \"table NAME\"", r.Slot, px.name)
		}
		c := *r
		c.Table = px.name
		out[i] = &c
	}
	if out == nil {
		return prog
	}
	return out
}
