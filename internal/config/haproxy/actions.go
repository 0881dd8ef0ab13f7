package haproxy

import (
	"slices"
	"strings"

	"tandem/internal/config"
	"tandem/internal/rules"
	"tandem/internal/sample"
)

// This file reads the HTTP action keywords (package rules): http-request,
// http-response, http-after-response, the legacy redirect, monitor-uri and monitor
// fail. Rules are compiled when their line is read (their conditions see the acl
// lines above them, as in HAProxy).

// proxyRules are the rule lists of a section as read.
type proxyRules struct {
	req, redirect, res, after rules.Program
	// defaultsPos is where a named defaults section wrote its first rule: proxies
	// that inherit rules are checked against HAProxy's restrictions.
	defaultsPos config.Pos
	inherited   *proxyState // the defaults section this proxy's rules came from
	monitorURI  string
	monitorFail []*sample.Cond
	monitorPos  config.Pos
}

func (r proxyRules) clone(from *proxyState) proxyRules {
	c := r
	c.req, c.redirect = slices.Clip(r.req), slices.Clip(r.redirect)
	c.res, c.after = slices.Clip(r.res), slices.Clip(r.after)
	c.monitorFail = slices.Clip(r.monitorFail)
	if from.kind == SecDefaults && len(r.req)+len(r.res)+len(r.after) > 0 {
		c.inherited = from // its own rules, or those it took from another defaults section
	}
	c.defaultsPos = r.defaultsPos
	return c
}

// rulesEnv is what compiling a rule of px needs.
func (p *parser) rulesEnv(px *proxyState, st *stmt) *rules.Env {
	return &rules.Env{
		Ctx: p.pxCtx(px, st, sample.WhereHTTPRequest),
		Cond: func(words []string, where sample.Use) (*sample.Cond, error) {
			return sample.ParseCond(words, px.acls, p.pxCtx(px, st, where))
		},
		ReadFile: func(name string) ([]byte, error) {
			b, err := p.opt.ReadFile(name)
			if err != nil {
				return nil, unwrapPathError(err)
			}
			return b, nil
		},
	}
}

// kwHTTPRule reads `http-request|http-response|http-after-response ACTION … [if|unless COND]`.
func kwHTTPRule(ph rules.Phase) handler {
	return func(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
		if px.kind == SecDefaults && px.name == "" {
			p.errorf(st.pos, "%q is not allowed in an anonymous defaults section (HAProxy 2.6 takes rules only in a named one: \"defaults NAME\")", ph.String())
			return
		}
		r, err := rules.Parse(ph, args, p.rulesEnv(px, st))
		if err != nil {
			p.errorf(st.pos, "%s", keywordPrefixed(ph.String(), err))
			return
		}
		if ph == rules.Request && len(args) == 7 && args[0] == "use-service" && args[1] == "prometheus-exporter" &&
			args[2] == "if" && args[3] == "{" && args[4] == "path" && strings.HasPrefix(args[5], "/") && args[6] == "}" && px.kind != SecDefaults {
			// The documented Prometheus form: when it is the section's only request rule,
			// the frontend's stats service answers the path (frontendRules).
			px.metricsPath, px.metricsRule = args[5], r
		}
		if r.Action == rules.UseService && px.kind == SecBackend {
			p.errorf(st.pos, "http-request use-service in a backend section is not supported by tandem (put it in the frontend)")
			return
		}
		switch r.Action {
		case rules.Capture:
			if px.kind == SecBackend {
				p.errorf(st.pos, "http-request capture: in a backend section it is not supported by tandem (put it in the frontend, where the capture slot is)")
				return
			}
			// A new request capture slot, after those declared before it (%hr).
			r.CaptureID = len(px.captures)
			px.captures = append(slices.Clip(px.captures), config.HeaderCapture{Pos: st.pos, Len: r.CaptureLen})
		}
		r.File, r.Line = st.pos.File, st.pos.Line
		if r.Reply != nil && r.Reply.Errorfiles != "" {
			px.errorfilesUses = append(px.errorfilesUses, errorfilesUse{pos: st.pos, name: r.Reply.Errorfiles, reply: r.Reply})
		}
		switch ph {
		case rules.Request:
			px.rules.req = append(px.rules.req, r)
		case rules.Response:
			px.rules.res = append(px.rules.res, r)
		default:
			px.rules.after = append(px.rules.after, r)
		}
		if px.kind == SecDefaults && px.rules.defaultsPos.Line == 0 {
			px.rules.defaultsPos = st.pos
		}
	}
}

// kwRedirect reads the legacy `redirect location|prefix|scheme …` keyword.
func kwRedirect(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	r, err := rules.ParseRedirect(args, p.rulesEnv(px, st))
	if err != nil {
		p.errorf(st.pos, "%s", keywordPrefixed("redirect", err))
		return
	}
	r.File, r.Line = st.pos.File, st.pos.Line
	px.rules.redirect = append(px.rules.redirect, r)
}

// kwMonitorURI reads `monitor-uri PATH`.
func kwMonitorURI(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	if !p.argN(st, "monitor-uri", args, 1, 1, "<uri>") {
		return
	}
	px.rules.monitorURI, px.rules.monitorPos = args[0], st.pos
}

// kwMonitorFail reads `monitor fail if|unless COND`.
func kwMonitorFail(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	if len(args) == 0 || args[0] != "if" && args[0] != "unless" {
		p.errorf(st.pos, "monitor fail: expects \"if\" or \"unless\" and a condition")
		return
	}
	c, err := sample.ParseCond(args, px.acls, p.pxCtx(px, st, sample.WhereHTTPRequest))
	if err != nil {
		p.errorf(st.pos, "monitor fail: %v", err)
		return
	}
	px.rules.monitorFail = append(px.rules.monitorFail, c)
}

// resolveRules checks where inherited rules may go and hands the compiled lists to
// the model. A listen section's rules run once, as its frontend's; its backend half
// carries them too, for frontends that switch to it.
func (p *parser) resolveRules(px *proxyState, fe *config.Frontend, be *config.Backend, seen map[*proxyState]Section) {
	r := &px.rules
	if d := r.inherited; d != nil && (len(r.req) > 0 || len(r.res) > 0 || len(r.after) > 0) {
		if px.kind == SecListen {
			p.errorf(px.pos, "a listen section cannot inherit from a defaults section defining HTTP rules (%s at %s)", d.label, d.rules.defaultsPos)
		} else {
			side := px.kind & (SecFrontend | SecBackend)
			if other := seen[d] &^ side; other != 0 {
				p.errorf(px.pos, "frontends and backends cannot inherit from the same defaults section if it defines HTTP rules (%s at %s)", d.label, d.rules.defaultsPos)
			}
			seen[d] |= side
		}
	}
	pr := config.ProxyRules{Request: r.req, Redirect: r.redirect, Response: r.res, AfterResponse: r.after}
	if be != nil && fe == nil {
		for _, ru := range r.req {
			if ru.Action == rules.UseService {
				p.errorf(px.pos, "http-request use-service (line %d) in a backend is not supported by tandem: put it in the frontend", ru.Line)
				break
			}
		}
	}
	mode := px.mode
	if mode == config.ModeTCP && !pr.Empty() {
		p.warnf(px.pos, "HTTP rules (http-request, http-response, http-after-response, redirect) are ignored in mode tcp, as in HAProxy (add \"mode http\")")
		pr = config.ProxyRules{}
	}
	if fe != nil {
		if fe.MetricsPath != "" {
			// The Prometheus path form alone is served by the stats service before any
			// rule; beside other request rules it runs in its place among them.
			if len(pr.Request) == 1 && pr.Request[0] == px.metricsRule && len(pr.Redirect) == 0 {
				pr.Request = nil
			} else {
				fe.MetricsPath = ""
			}
		}
		fe.Rules = pr
		fe.MonitorURI, fe.MonitorFail = r.monitorURI, r.monitorFail
		for _, ru := range pr.Request {
			fe.MetricsRule = fe.MetricsRule || ru.Action == rules.UseService
		}
	}
	if be != nil {
		be.Rules = pr
	}
}

// answersAll reports whether a frontend's rules answer every request themselves (an
// unconditional redirect, return, deny…), or it serves metrics (as with the path
// form of use-service): it then needs no backend.
func answersAll(fe *config.Frontend) bool {
	if fe.MetricsRule {
		return true
	}
	for _, l := range []rules.Program{fe.Rules.Request, fe.Rules.Redirect} {
		for _, r := range l {
			if r.Cond != nil {
				continue
			}
			switch r.Action {
			case rules.Deny, rules.Tarpit, rules.Redirect, rules.Return, rules.Auth:
				return true
			}
		}
	}
	return false
}

// keywordPrefixed returns err's message starting with the statement's keyword kw, so that
// every message names the keyword of its line.
func keywordPrefixed(kw string, err error) string {
	msg := err.Error()
	if strings.HasPrefix(msg, kw) {
		return msg
	}
	return kw + ": " + msg
}
