package haproxy

import (
	"tandem/internal/config"
	"tandem/internal/sample"
	"tandem/internal/stick"
)

// This file reads the stick persistence rules of backends (configuration.txt §4.2
// stick match, stick on, stick store-request, stick store-response).

// stickRule is a stick line as read; its table is resolved once every section is.
type stickRule struct {
	pos   config.Pos
	rule  config.StickRule
	named bool // "table" was written
}

func kwStick(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	kw := p.kwName(st)
	var kind config.StickKind
	where := sample.WhereHTTPRequest
	switch kw {
	case "stick match":
		kind = config.StickMatch
	case "stick on":
		kind = config.StickOn
	case "stick store-request":
		kind = config.StickStoreRequest
	default:
		kind, where = config.StickStoreResponse, sample.WhereHTTPResponse
	}
	if len(args) == 0 || args[0] == "if" || args[0] == "unless" {
		p.errorf(st.pos, "%s: missing fetch method (%s <pattern> [table <table>] [if|unless <condition>])", kw, kw)
		return
	}
	ctx := p.pxCtx(px, st, where)
	e, err := sample.ParseExpr(args[0], ctx)
	if err != nil {
		p.errorf(st.pos, "%s: %v", kw, err)
		return
	}
	r := stickRule{pos: st.pos, rule: config.StickRule{Pos: st.pos, Kind: kind, Expr: e}}
	rest := args[1:]
	if len(rest) > 0 && rest[0] == "table" {
		if len(rest) < 2 {
			p.errorf(st.pos, "%s: \"table\" expects a table name", kw)
			return
		}
		r.rule.Table, r.named = rest[1], true
		ctx.UseTable(rest[1])
		rest = rest[2:]
	}
	if len(rest) > 0 {
		if rest[0] != "if" && rest[0] != "unless" {
			p.errorf(st.pos, "%s: unexpected argument %q (expected \"table\", \"if\" or \"unless\")", kw, rest[0])
			return
		}
		c, ok := p.parseCond(px, st, kw, rest, where)
		if !ok {
			return
		}
		r.rule.Cond = c
	}
	px.stickRules = append(px.stickRules, r)
}

// resolveStick gives each backend its stick rules with their tables, and makes every
// table a stick rule uses store server_id and server_key (HAProxy adds them). In mode tcp, tandem does
// not inspect responses: store-response is refused there, and conditions and
// patterns may read the connection and the bytes tcp-request content rules waited
// for, not HTTP.
func (p *parser) resolveStick(cfg *config.Config) {
	tables := map[string]*config.StickTable{}
	for _, st := range cfg.Tables {
		tables[st.Def.Name] = st
	}
	for _, px := range p.proxies {
		if px.kind == SecDefaults || len(px.stickRules) == 0 {
			continue
		}
		p.label = px.label
		b := cfg.Backend(px.name)
		if b == nil {
			continue
		}
		for _, sr := range px.stickRules {
			r := sr.rule
			if !sr.named {
				r.Table = px.name
				if px.stickTable == nil {
					p.errorf(sr.pos, "stick: %q has no stick-table; add one or name another proxy's with \"table NAME\"", px.name)
					continue
				}
			}
			st := tables[r.Table]
			if st == nil {
				continue // reported with the table references
			}
			if b.Mode == config.ModeTCP {
				need := r.Expr.Needs() | r.Cond.Needs()
				if r.Kind == config.StickStoreResponse {
					p.errorf(sr.pos, "stick store-response in mode tcp: not carried out by tandem yet (it does not inspect responses)")
					continue
				}
				if need&^(sample.UseConn|sample.UseContent|sample.UseHTTPReq) != 0 {
					p.errorf(sr.pos, "stick: in mode tcp, this rule needs %s", sample.UseName(need&^(sample.UseConn|sample.UseContent|sample.UseHTTPReq)))
					continue
				}
			}
			st.Def.Store.Add(stick.ServerID, 0)
			st.Def.Store.Add(stick.ServerKey, 0)
			b.StickRules = append(b.StickRules, r)
		}
	}
}
