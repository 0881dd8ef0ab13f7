package haproxy

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"tandem/internal/config"
)

// DefaultErrorLimit is error-limit's default (HAProxy: 10).
const DefaultErrorLimit = 10

// checkOpt applies one health-check or fault-handling server option (issue 3) to o.
func checkOpt(opt, v string, o *serverOpts) error {
	var err error
	positive := func(d time.Duration, err error) (time.Duration, error) {
		if err == nil && d <= 0 {
			err = errors.New("must be greater than 0")
		}
		return d, err
	}
	switch opt {
	case "fastinter":
		o.fastInter, err = positive(parseTime(v))
	case "downinter":
		o.downInter, err = positive(parseTime(v))
	case "agent-inter":
		o.agentInter, err = positive(parseTime(v))
	case "slowstart":
		o.slowStart, err = parseTime(v)
	case "addr", "agent-addr":
		var a netip.Addr
		a, err = netip.ParseAddr(v)
		if err != nil {
			return fmt.Errorf("%q is not an IP address (names are not supported by tandem here)", v)
		}
		if opt == "addr" {
			o.checkAddr = a
		} else {
			o.agentAddr = a
		}
	case "observe":
		if v != "layer4" && v != "layer7" {
			return fmt.Errorf("expected layer4 or layer7, not %q", v)
		}
		o.observe = v
	case "error-limit":
		o.errorLimit, err = parseInt(v, 1, maxInt32)
	case "on-error":
		modes := []string{"fastinter", "fail-check", "sudden-death", "mark-down"}
		if !slices.Contains(modes, v) {
			return fmt.Errorf("unknown mode %q%s", v, didYouMean(closest(v, modes)))
		}
		o.onError = v
	case "on-marked-down":
		if v != "shutdown-sessions" {
			return fmt.Errorf("expected shutdown-sessions, not %q", v)
		}
		o.onMarkedDown = v
	case "on-marked-up":
		return fmt.Errorf("is not supported by tandem")
	case "agent-check", "no-agent-check":
		o.agent = opt == "agent-check"
	case "agent-port":
		var pn uint16
		pn, err = parsePort(v, false)
		o.agentPort = int(pn)
	case "agent-send":
		o.agentSend = v
	case "init-addr":
		for _, m := range strings.Split(v, ",") {
			switch {
			case m == "libc" || m == "last" || m == "none":
			case isAddr(m):
			default:
				return fmt.Errorf("unknown method %q (expected libc, last, none or an IP address)", m)
			}
		}
		o.initAddr = v
	}
	return err
}

func isAddr(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// applyCheckOpts copies the issue-3 options of o into c, with HAProxy's defaults.
func applyCheckOpts(c *config.ServerCheck, o *serverOpts) {
	c.FastInter, c.DownInter, c.SlowStart = o.fastInter, o.downInter, o.slowStart
	c.Addr, c.AgentAddr = o.checkAddr, o.agentAddr
	c.Observe, c.OnError, c.OnMarkedDown, c.InitAddr = o.observe, o.onError, o.onMarkedDown, o.initAddr
	c.ErrorLimit = o.errorLimit
	if c.ErrorLimit == 0 {
		c.ErrorLimit = DefaultErrorLimit
	}
	if c.OnError == "" {
		c.OnError = "fastinter"
	}
	c.Agent, c.AgentPort, c.AgentSend = o.agent, o.agentPort, o.agentSend
	c.AgentInter = o.agentInter
}

// retryOnNames maps retry-on's words to conditions.
var retryOnNames = map[string]config.RetryOn{
	"conn-failure": config.RetryConnFailure, "empty-response": config.RetryEmptyResponse,
	"junk-response": config.RetryJunkResponse, "response-timeout": config.RetryResponseTimeout,
	"0rtt-rejected": config.Retry0RTTRejected, "401": config.Retry401, "403": config.Retry403, "404": config.Retry404, "408": config.Retry408,
	"425": config.Retry425, "500": config.Retry500, "501": config.Retry501, "502": config.Retry502,
	"503": config.Retry503, "504": config.Retry504, "all-retryable-errors": config.RetryAllRetryable,
	"none": config.RetryNone,
}

func kwRetryOn(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	if len(args) == 0 {
		p.errorf(st.pos, "retry-on: missing condition (expected retry-on CONDITION...)")
		return
	}
	var set config.RetryOn
	for _, a := range args {
		c, ok := retryOnNames[a]
		if !ok {
			names := make([]string, 0, len(retryOnNames))
			for k := range retryOnNames {
				names = append(names, k)
			}
			slices.Sort(names)
			p.errorf(st.pos, "retry-on: unknown condition %q%s", a, didYouMean(closest(a, names)))
			return
		}
		if c == config.RetryNone && len(args) > 1 {
			p.errorf(st.pos, "retry-on: \"none\" must be alone")
			return
		}
		set |= c
	}
	px.retryOn = set
}

// kwTCPCheckRule reads tcp-check connect|send|send-binary|expect.
func kwTCPCheckRule(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	action := strings.TrimPrefix(p.kwName(st), "tcp-check ")
	r := config.TCPCheckRule{Pos: st.pos, Action: action}
	switch action {
	case "connect":
		for i := 0; i < len(args); i++ {
			switch args[i] {
			case "port":
				if i+1 >= len(args) {
					p.errorf(st.pos, "tcp-check connect: port needs a number")
					return
				}
				pn, err := parsePort(args[i+1], false)
				if err != nil {
					p.errorf(st.pos, "tcp-check connect: port: %v", err)
					return
				}
				r.Port = int(pn)
				i++
			default:
				p.errorf(st.pos, "tcp-check connect: %q is not supported by tandem", args[i])
				return
			}
		}
	case "send", "send-binary":
		if !p.argN(st, "tcp-check "+action, args, 1, 1, "<data>") {
			return
		}
		r.Action, r.Data = "send", args[0]
		if action == "send-binary" {
			b, err := hex.DecodeString(args[0])
			if err != nil {
				p.errorf(st.pos, "tcp-check send-binary: %q is not hex", args[0])
				return
			}
			r.Data = string(b)
		}
	case "expect":
		i := 0
		if i < len(args) && args[i] == "!" {
			r.Negate = true
			i++
		}
		if len(args)-i != 2 {
			p.errorf(st.pos, "tcp-check expect: expected [!] string|rstring|binary PATTERN")
			return
		}
		r.Match, r.Pattern = args[i], args[i+1]
		switch r.Match {
		case "string":
		case "rstring":
			if _, err := regexp.Compile(r.Pattern); err != nil {
				p.errorf(st.pos, "tcp-check expect rstring: %v", err)
				return
			}
		case "binary":
			b, err := hex.DecodeString(r.Pattern)
			if err != nil {
				p.errorf(st.pos, "tcp-check expect binary: %q is not hex", r.Pattern)
				return
			}
			r.Pattern = string(b)
		default:
			p.errorf(st.pos, "tcp-check expect: match %q is not supported by tandem (expected string, rstring or binary)", r.Match)
			return
		}
	}
	px.check.TCPRules = append(px.check.TCPRules, r)
}

// initAddrFallback applies init-addr when a server's address does not resolve: an IP
// address in the list is used, "none" starts the server in maintenance (disabled);
// "libc" and "last" are what already failed (tandem keeps no state file).
func (p *parser) initAddrFallback(st *stmt, label, addr, methods string, cause error, o *serverOpts) (string, netip.AddrPort, error) {
	host, port, err := splitHostPort(addr)
	if err != nil && !errors.Is(err, errNoPort) {
		return "", netip.AddrPort{}, cause
	}
	var pn uint16 // none: the client's port
	if port != "" {
		if pn, err = parsePort(port, false); err != nil {
			return "", netip.AddrPort{}, cause
		}
	}
	for _, m := range strings.Split(methods, ",") {
		if a, err := netip.ParseAddr(m); err == nil {
			p.warnf(st.pos, "%s: %v; init-addr: using %s", label, cause, a)
			return host, netip.AddrPortFrom(a, pn), nil
		}
		if m == "none" {
			p.warnf(st.pos, "%s: %v; init-addr none: the server starts in maintenance", label, cause)
			o.disabled = true
			return host, netip.AddrPortFrom(netip.IPv4Unspecified(), pn), nil
		}
	}
	return "", netip.AddrPort{}, cause
}
