package haproxy

import (
	"time"

	"tandem/internal/config"
	"tandem/internal/rules"
)

// This file reads the TCP rule keywords (package rules): tcp-request connection,
// session and content, tcp-request inspect-delay, tcp-response content and
// tcp-response inspect-delay.

// tcpRules are the TCP rules of a section as read.
type tcpRules struct {
	conn, sess, content, res rules.Program
	delay, resDelay          config.Pos // where the inspect delays were set (zero: not set)
	inspect, resInspect      time.Duration
}

func kwTCPRule(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	kw := p.kwName(st)
	var ph rules.TCPPhase
	switch kw {
	case "tcp-request inspect-delay", "tcp-response inspect-delay":
		if !p.argN(st, kw, args, 1, 1, "<timeout>") {
			return
		}
		t, err := parseTime(args[0])
		if err != nil {
			p.errorf(st.pos, "%s: %v", kw, err)
			return
		}
		if kw == "tcp-request inspect-delay" {
			px.tcp.inspect, px.tcp.delay = t, st.pos
		} else {
			px.tcp.resInspect, px.tcp.resDelay = t, st.pos
		}
		return
	case "tcp-request connection":
		ph = rules.TCPConnection
	case "tcp-request session":
		ph = rules.TCPSession
	case "tcp-request content":
		ph = rules.TCPContent
	default:
		ph = rules.TCPResponse
	}
	if px.kind == SecDefaults {
		p.errorf(st.pos, "%s: tandem does not take TCP rules from a defaults section yet; write them in each frontend or backend", kw)
		return
	}
	r, err := rules.ParseTCP(ph, args, p.rulesEnv(px, st))
	if err != nil {
		p.errorf(st.pos, "%v", err)
		return
	}
	r.File, r.Line = st.pos.File, st.pos.Line
	switch ph {
	case rules.TCPConnection:
		px.tcp.conn = append(px.tcp.conn, r)
	case rules.TCPSession:
		px.tcp.sess = append(px.tcp.sess, r)
	case rules.TCPContent:
		px.tcp.content = append(px.tcp.content, r)
	default:
		px.tcp.res = append(px.tcp.res, r)
	}
}

// resolveTCPRules hands px's TCP rules to the model, refusing what mode http cannot
// carry out. In mode tcp, HTTP fetches read the request head in the bytes content
// rules waited for, as HAProxy's do.
func (p *parser) resolveTCPRules(px *proxyState, fe *config.Frontend, be *config.Backend) {
	t := &px.tcp
	out := config.TCPRules{Connection: t.conn, Session: t.sess, Content: t.content, Response: t.res}
	out.InspectDelay, out.ResponseDelay = t.inspect, t.resInspect
	if px.mode != config.ModeTCP {
		if len(t.res) > 0 {
			p.errorf(config.Pos{File: t.res[0].File, Line: t.res[0].Line}, "tcp-response content in mode http: not carried out by tandem yet (mode tcp is)")
		}
		for _, l := range []rules.Program{t.conn, t.sess} {
			for _, r := range l {
				if r.Action == rules.SetVar || r.Action == rules.UnsetVar {
					p.errorf(config.Pos{File: r.File, Line: r.Line}, "set-var/unset-var in tcp-request connection or session rules of a mode http proxy: not carried out by tandem yet (its sess.* variables do not reach the requests)")
				}
			}
		}
		for _, r := range t.content {
			if r.Cond.ReadsPayload() || r.Expr.ReadsPayload() {
				p.errorf(config.Pos{File: r.File, Line: r.Line}, "tcp-request content: on an HTTP proxy, payload fetches (req.len, req.payload, …) read HAProxy's internal message format (it warns that they are ignored, yet req.len is not 0 there); tandem refuses them: use HTTP fetches in mode http")
			}
		}
	}
	if fe != nil {
		fe.TCPRules = out
	}
	if be != nil {
		be.TCPRules = config.TCPRules{Content: out.Content, Response: out.Response, InspectDelay: out.InspectDelay, ResponseDelay: out.ResponseDelay}
		if fe != nil {
			be.TCPRules.Content = nil // a listen section's content rules run once, as its frontend's
		}
	}
}
