package haproxy

import (
	"strconv"
	"strings"

	"tandem/internal/config"
	"tandem/internal/sample"
)

// This file reads the rule keywords built on the sample language (package sample):
// `acl` and `use_backend … [if|unless COND]`. Conditions are compiled here, once, with
// the configuration; pattern and map files are read through Options.ReadFile into the
// configuration's pattern store.

// useBackendRule is one use_backend line as read: a fixed or dynamic name and its
// condition (compiled when the line is read, so later acl lines are not seen, as in
// HAProxy).
type useBackendRule struct {
	pos  config.Pos
	name string
	dyn  *sample.LogFormat
	cond *sample.Cond
}

// sampleCtx is the parse context of a request-time rule of the current proxy.
func (p *parser) sampleCtx(where sample.Use) *sample.Ctx {
	return &sample.Ctx{Where: where, Store: p.patterns(), ReadFile: p.opt.ReadFile, Userlist: p.userlistRef}
}

// pxCtx is the parse context of a rule of px read at st: stick-counter fetches
// default to px's table, and the tables they name are checked in resolve.
func (p *parser) pxCtx(px *proxyState, st *stmt, where sample.Use) *sample.Ctx {
	c := p.sampleCtx(where)
	c.Proxy = px.name
	pos := st.pos
	c.UseTable = func(name string) { px.tableRefs = append(px.tableRefs, tableRef{pos: pos, name: name}) }
	return c
}

// patterns returns the configuration's pattern store, made on first use.
func (p *parser) patterns() *sample.Store {
	if p.store == nil {
		p.store = sample.NewStore()
	}
	return p.store
}

// aclsOf returns the proxy's ACL set, made on first use.
func (px *proxyState) aclSet() *sample.ACLSet {
	if px.acls == nil {
		px.acls = sample.NewACLSet()
	}
	return px.acls
}

// kwACL reads `acl NAME FETCH[,conv…] [flags] [operator] [VALUE…]`.
func kwACL(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	if len(args) == 0 {
		p.errorf(st.pos, "acl: missing name (acl NAME FETCH [flags] [VALUE...])")
		return
	}
	if sample.IsPredefined(args[0]) {
		// HAProxy refuses to redefine a predefined ACL too.
		p.errorf(st.pos, "acl %q: this name is a predefined ACL; choose another name", args[0])
		return
	}
	// The widest request-time context: a fetch an actual rule cannot use is refused
	// where the ACL is used.
	a, err := sample.ParseACL(args, p.pxCtx(px, st, sample.WhereAll))
	if err != nil {
		p.errorf(st.pos, "%s", keywordPrefixed("acl "+strconv.Quote(args[0]), err))
		if px.badACLs == nil {
			px.badACLs = map[string]bool{}
		}
		px.badACLs[args[0]] = true // its uses are not reported again
		return
	}
	a.Describe(st.pos.File, st.pos.Line)
	p.patterns().Describe(st.pos.File, st.pos.Line)
	px.noteRefs(st.pos, a.Refs())
	px.aclSet().Add(a)
}

// parseCond compiles the condition words (starting with if or unless) of a rule of
// px that runs where; nil when words is empty.
func (p *parser) parseCond(px *proxyState, st *stmt, kw string, words []string, where sample.Use) (*sample.Cond, bool) {
	if len(words) == 0 {
		return nil, true
	}
	for _, w := range words {
		if px.badACLs[strings.TrimLeft(w, "!")] {
			px.failed = true // the acl line's error says it all
			return nil, false
		}
	}
	c, err := sample.ParseCond(words, px.acls, p.pxCtx(px, st, where))
	if err != nil {
		p.errorf(st.pos, "%s: %v", kw, err)
		return nil, false
	}
	c.Describe(st.pos.File, st.pos.Line)
	p.patterns().Describe(st.pos.File, st.pos.Line)
	px.noteRefs(st.pos, c.Refs())
	return c, true
}

func kwUseBackend(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	if len(args) == 0 {
		p.errorf(st.pos, "\"use_backend\": missing backend name")
		return
	}
	r := useBackendRule{pos: st.pos, name: args[0]}
	if len(args) > 1 && args[1] != "if" && args[1] != "unless" {
		p.errorf(st.pos, "use_backend %q: unexpected argument %q (expected \"if\" or \"unless\" and a condition)", args[0], args[1])
		return
	}
	kw := "use_backend " + args[0]
	if strings.Contains(args[0], "%") {
		lf, err := sample.ParseLogFormat(args[0], p.pxCtx(px, st, sample.WhereHTTPRequest))
		if err != nil {
			p.errorf(st.pos, "use_backend: dynamic backend name: %v", err)
			return
		}
		if s, ok := lf.Const(); ok {
			r.name = s // only %% escapes: a fixed name after all
		} else {
			r.dyn = lf
			px.noteRefs(st.pos, lf.Refs())
		}
	}
	c, ok := p.parseCond(px, st, kw, args[1:], sample.WhereHTTPRequest)
	if !ok {
		return
	}
	p.patterns().Describe(st.pos.File, st.pos.Line) // map files of a dynamic name
	r.cond = c
	px.useBackends = append(px.useBackends, r)
}

// sampleRef is a proxy or server a fetch of a line names.
type sampleRef struct {
	pos config.Pos
	ref sample.Ref
}

// noteRefs keeps the proxies and servers a line's fetches name, to check once every
// section is read (checkRefs): conditions of other rules should note theirs too.
func (px *proxyState) noteRefs(pos config.Pos, refs []sample.Ref) {
	for _, r := range refs {
		px.sampleRefs = append(px.sampleRefs, sampleRef{pos, r})
	}
}

// checkRefs refuses fetches that name a backend, server or frontend that does not
// exist, as HAProxy does.
func (p *parser) checkRefs(cfg *config.Config, px *proxyState) {
	for _, sr := range px.sampleRefs {
		r := sr.ref
		switch r.Kind {
		case sample.RefBackend:
			if r.Proxy != "" && cfg.Backend(r.Proxy) == nil {
				p.errorf(sr.pos, "%s(%s): no such backend %q", r.Fetch, r.Proxy, r.Proxy)
			}
		case sample.RefFrontend:
			if r.Proxy != "" && cfg.Frontend(r.Proxy) == nil {
				p.errorf(sr.pos, "%s(%s): no such frontend %q", r.Fetch, r.Proxy, r.Proxy)
			}
		case sample.RefServer:
			be := r.Proxy
			if be == "" {
				be = px.name
			}
			b := cfg.Backend(be)
			switch {
			case b == nil && r.Proxy == "":
				p.errorf(sr.pos, "%s(%s): %q has no servers of its own; write BACKEND/SERVER", r.Fetch, r.Server, px.name)
			case b == nil:
				p.errorf(sr.pos, "%s(%s/%s): no such backend %q", r.Fetch, r.Proxy, r.Server, r.Proxy)
			case b.Server(r.Server) == nil:
				p.errorf(sr.pos, "%s: no server %q in backend %q", r.Fetch, r.Server, be)
			}
		}
	}
}

// linkUseBackends resolves the use_backend rules of a frontend: fixed names must name
// a backend; a mode tcp frontend can only decide on what a connection carries.
func (p *parser) linkUseBackends(cfg *config.Config, px *proxyState, fe *config.Frontend, beList []string) {
	p.checkRefs(cfg, px)
	for _, ub := range px.useBackends {
		if fe.Mode == config.ModeTCP {
			need := ub.cond.Needs()
			if ub.dyn != nil {
				need |= ub.dyn.Needs()
			}
			allowed := sample.UseConn
			if len(fe.TCPRules.Content) > 0 {
				// the bytes the content rules waited for, and the HTTP head in them
				allowed |= sample.UseContent | sample.UseHTTPReq
			}
			if need&^allowed != 0 {
				what := "connection fetches (src, src_port, dst, dst_port, …) and, after tcp-request content rules (tcp-request inspect-delay), payload and HTTP request fetches"
				p.errorf(ub.pos, "use_backend %s: in mode tcp, tandem routes a connection on %s; this rule needs %s", ub.name, what, sample.UseName(need&^allowed))
				continue
			}
		}
		rule := config.UseBackend{Pos: ub.pos, Cond: ub.cond, Name: ub.dyn}
		if ub.dyn == nil {
			b := p.link(cfg, fe, ub.pos, "use_backend", ub.name, beList)
			if b == nil {
				continue
			}
			rule.Backend = b
		}
		fe.UseBackends = append(fe.UseBackends, rule)
	}
}
