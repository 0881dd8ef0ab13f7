package haproxy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"tandem/internal/config"
)

// This file holds the logging and stats keywords (issue #5 carries them out) and
// the health-check keywords (issue #3).

var facilities = []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
	"auth2", "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4",
	"local5", "local6", "local7"}

var logLevels = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

var logFormats = []string{"local", "rfc3164", "rfc5424", "priority", "short", "timed", "iso", "raw"}

// parseLog reads `log <target> [len N] [format F] <facility> [max [min]]` or `log global`.
func (p *parser) parseLog(st *stmt, args []string, inProxy bool) (config.LogTarget, bool) {
	lt := config.LogTarget{Pos: st.pos}
	if len(args) == 0 {
		p.errorf(st.pos, "\"log\": missing target (expected log ADDRESS [len N] [format F] FACILITY [LEVEL [MINLEVEL]])")
		return lt, false
	}
	if args[0] == "global" {
		if !inProxy {
			p.errorf(st.pos, "\"log global\" is only meaningful in a proxy")
			return lt, false
		}
		if len(args) > 1 {
			p.errorf(st.pos, "log global: unexpected argument %q", args[1])
			return lt, false
		}
		lt.Global = true
		return lt, true
	}
	if err := checkLogAddress(args[0]); err != nil {
		p.errorf(st.pos, "log: %v", err)
		return lt, false
	}
	lt.Address = args[0]
	rest := args[1:]
	for len(rest) > 0 && (rest[0] == "len" || rest[0] == "format" || rest[0] == "sample") {
		if len(rest) < 2 {
			p.errorf(st.pos, "log: %q needs an argument", rest[0])
			return lt, false
		}
		switch rest[0] {
		case "len":
			n, err := parseInt(rest[1], 80, 65535)
			if err != nil {
				p.errorf(st.pos, "log: len: %v", err)
				return lt, false
			}
			lt.Len = n
		case "format":
			if !slices.Contains(logFormats, rest[1]) {
				p.errorf(st.pos, "log: unknown format %q (expected one of %s)", rest[1], strings.Join(logFormats, ", "))
				return lt, false
			}
			lt.Format = rest[1]
		case "sample":
			p.errorf(st.pos, "log: \"sample\" is not supported by tandem")
			return lt, false
		}
		rest = rest[2:]
	}
	if len(rest) == 0 {
		p.errorf(st.pos, "log %s: missing facility", lt.Address)
		return lt, false
	}
	if !slices.Contains(facilities, rest[0]) {
		p.errorf(st.pos, "log %s: unknown facility %q%s", lt.Address, rest[0], didYouMean(closest(rest[0], facilities)))
		return lt, false
	}
	lt.Facility = rest[0]
	rest = rest[1:]
	for i, dst := range []*string{&lt.Level, &lt.MinLevel} {
		if i >= len(rest) {
			break
		}
		if !slices.Contains(logLevels, rest[i]) {
			p.errorf(st.pos, "log %s: unknown level %q (expected one of %s)", lt.Address, rest[i], strings.Join(logLevels, ", "))
			return lt, false
		}
		*dst = rest[i]
	}
	if len(rest) > 2 {
		p.errorf(st.pos, "log %s: unexpected argument %q", lt.Address, rest[2])
		return lt, false
	}
	return lt, true
}

// checkLogAddress accepts what HAProxy's log line accepts as a target.
func checkLogAddress(a string) error {
	switch {
	case a == "stdout" || a == "stderr":
		return nil
	case strings.HasPrefix(a, "/"):
		return nil
	case strings.HasPrefix(a, "unix@"):
		if len(a) == len("unix@") {
			return fmt.Errorf("missing path in %q", a)
		}
		return nil
	case strings.HasPrefix(a, "fd@"):
		if _, err := strconv.Atoi(a[3:]); err != nil {
			return fmt.Errorf("invalid descriptor in %q", a)
		}
		return nil
	case strings.HasPrefix(a, "ring@"):
		return fmt.Errorf("log target %q: rings are not supported by tandem", a)
	}
	s := a
	for _, pfx := range []string{"udp@", "udp4@", "udp6@", "ipv4@", "ipv6@", "tcp@", "tcp4@", "tcp6@"} {
		s = strings.TrimPrefix(s, pfx)
	}
	host, port, err := splitHostPort(s)
	if err != nil && err != errNoPort {
		return fmt.Errorf("invalid log address %q", a)
	}
	if err == errNoPort {
		host, port = s, ""
	}
	if host == "" {
		return fmt.Errorf("invalid log address %q", a)
	}
	if port != "" {
		if _, err := parsePort(port, false); err != nil {
			return fmt.Errorf("invalid log address %q: %v", a, err)
		}
	}
	return nil
}

func kwProxyLog(p *parser, px *proxyState, st *stmt, args []string, neg bool) {
	if neg {
		if len(args) > 0 {
			p.errorf(st.pos, "\"no log\" takes no argument")
			return
		}
		px.logs = nil
		return
	}
	if lt, ok := p.parseLog(st, args, true); ok {
		px.logs = append(px.logs, lt)
	}
}

func kwFlag(set func(px *proxyState, on bool)) handler {
	return func(p *parser, px *proxyState, st *stmt, args []string, neg bool) {
		if len(args) > 0 {
			p.errorf(st.pos, "%s: unexpected argument %q", p.kwName(st), args[0])
			return
		}
		set(px, !neg)
	}
}

func kwHTTPLog(p *parser, px *proxyState, st *stmt, args []string, neg bool) {
	if len(args) > 1 || len(args) == 1 && args[0] != "clf" {
		p.errorf(st.pos, "option httplog: unexpected argument %q (expected nothing or clf)", args[0])
		return
	}
	if len(args) == 1 {
		p.errorf(st.pos, "option httplog clf is not supported by tandem")
		return
	}
	px.httpLog = !neg
	px.httpsLog = false
	if !neg {
		px.tcpLog = false
	}
}

func kwTCPLog(p *parser, px *proxyState, st *stmt, args []string, neg bool) {
	if len(args) > 0 {
		p.errorf(st.pos, "option tcplog: unexpected argument %q", args[0])
		return
	}
	px.tcpLog = !neg
	if !neg {
		px.httpLog = false
	}
}

func kwLogFormat(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	if len(args) != 1 {
		p.errorf(st.pos, "log-format expects exactly one argument (quote the format or escape its spaces)")
		return
	}
	px.logFormat = args[0]
}

func (px *proxyState) statsOn(pos config.Pos) *config.Stats {
	if px.stats == nil {
		px.stats = &config.Stats{Pos: pos, URI: "/haproxy?stats"}
	}
	return px.stats
}

func kwStats(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	name := strings.TrimPrefix(p.kwName(st), "stats ")
	zeroArgs := map[string]bool{"enable": true, "hide-version": true, "show-legends": true}
	switch {
	case zeroArgs[name] && len(args) > 0:
		p.errorf(st.pos, "stats %s: unexpected argument %q", name, args[0])
		return
	case (name == "uri" || name == "refresh" || name == "auth") && len(args) != 1:
		p.errorf(st.pos, "stats %s expects exactly one argument", name)
		return
	case name == "realm" && len(args) == 0:
		p.errorf(st.pos, "stats realm expects an argument")
		return
	case name == "realm" && len(args) > 1:
		// HAProxy 2.6 takes the first word and drops the others without a word.
		p.warnf(st.pos, "stats realm: only the first word is used, as HAProxy does (the realm is %q): quote the realm or escape its spaces to keep them", args[0])
	case name == "show-node" && len(args) > 1:
		p.errorf(st.pos, "stats show-node: unexpected argument %q", args[1])
		return
	}
	s := px.statsOn(st.pos)
	switch name {
	case "uri":
		if !strings.HasPrefix(args[0], "/") {
			p.errorf(st.pos, "stats uri %q must start with \"/\"", args[0])
			return
		}
		s.URI = args[0]
	case "refresh":
		t, err := parseTime(args[0])
		if err != nil {
			p.errorf(st.pos, "stats refresh: %v", err)
			return
		}
		p.warnTimeJunk(st, "stats refresh", args[0])
		s.Refresh = t
	case "realm":
		s.Realm = args[0]
	case "auth":
		if !strings.Contains(args[0], ":") {
			p.errorf(st.pos, "stats auth %q: expected USER:PASSWORD", args[0])
			return
		}
		s.Auth = append(s.Auth, args[0])
	case "hide-version":
		s.HideVersion = true
	case "show-legends":
		s.ShowLegends = true
	case "show-node":
		s.ShowNode = true
		if len(args) == 1 {
			s.NodeName = args[0]
		}
	case "admin":
		if len(args) < 2 || args[0] != "if" && args[0] != "unless" {
			p.errorf(st.pos, "stats admin expects \"if CONDITION\"")
			return
		}
		if len(args) != 2 || args[0] != "if" || args[1] != "TRUE" && args[1] != "LOCALHOST" {
			p.errorf(st.pos, "stats admin: only \"if TRUE\" and \"if LOCALHOST\" are supported yet")
			return
		}
		s.Admin = args[1]
	}
}

func kwHTTPChk(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	c := &px.check
	c.HTTP, c.TCPCheck, px.checkExpectSeen = true, false, false
	c.Method, c.URI, c.Version, c.Headers = "OPTIONS", "/", "HTTP/1.0", nil
	switch len(args) {
	case 0:
	case 1:
		c.URI = args[0]
	case 2, 3:
		c.Method, c.URI = args[0], args[1]
		if len(args) == 3 {
			// HAProxy lets the version carry headers after "\r\n".
			parts := strings.Split(args[2], "\r\n")
			c.Version = parts[0]
			for _, h := range parts[1:] {
				if h != "" {
					c.Headers = append(c.Headers, h)
				}
			}
		}
	default:
		p.errorf(st.pos, "option httpchk: unexpected argument %q (expected option httpchk [METHOD] [URI] [VERSION])", args[3])
		return
	}
	if !validToken(c.Method) {
		p.errorf(st.pos, "option httpchk: invalid method %q", c.Method)
	}
	if !strings.HasPrefix(c.URI, "/") && c.URI != "*" {
		// HAProxy 2.6 takes it and sends it as written: "OPTIONS GET HTTP/1.0".
		p.warnf(st.pos, "option httpchk: URI %q does not start with \"/\": the check sends \"%s %s %s\", as HAProxy does "+
			"(a single argument is the URI; for a GET, write \"option httpchk GET /\")", c.URI, c.Method, c.URI, c.Version)
	}
	if !strings.HasPrefix(c.Version, "HTTP/") {
		p.errorf(st.pos, "option httpchk: invalid version %q (expected HTTP/1.0 or HTTP/1.1)", c.Version)
	}
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

var expectMatches = []string{"status", "rstatus", "string", "rstring", "hdr", "fhdr"}

func kwHTTPCheckExpect(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	i := 0
	// options before the match (HAProxy 2.2+): min-recv N, comment S, ok-status S, ...
	withArg := map[string]bool{"min-recv": true, "comment": true, "ok-status": true, "error-status": true,
		"tout-status": true, "on-success": true, "on-error": true, "status-code": true}
	for i < len(args) && withArg[args[i]] {
		i += 2
	}
	if i < len(args) && args[i] == "!" {
		i++
	}
	if i >= len(args) {
		p.errorf(st.pos, "http-check expect: missing match (expected one of %s)", strings.Join(expectMatches, ", "))
		return
	}
	if !slices.Contains(expectMatches, args[i]) {
		p.errorf(st.pos, "http-check expect: unknown match %q%s", args[i], didYouMean(closest(args[i], expectMatches)))
		return
	}
	if i+1 >= len(args) {
		p.errorf(st.pos, "http-check expect %s: missing pattern", args[i])
		return
	}
	if args[i] == "status" {
		for _, code := range strings.Split(args[i+1], ",") {
			lo, hi, isRange := strings.Cut(code, "-")
			if _, err := parseInt(lo, 100, 599); err != nil {
				p.errorf(st.pos, "http-check expect status: invalid status %q", code)
				return
			}
			if isRange {
				if _, err := parseInt(hi, 100, 599); err != nil {
					p.errorf(st.pos, "http-check expect status: invalid status %q", code)
					return
				}
			}
		}
	}
	px.check.Expect = strings.Join(args, " ")
	// After option httpchk, HAProxy builds the check rules in order, so a later
	// http-check send would have no connect rule to follow.
	px.checkExpectSeen = px.check.HTTP
	px.checkRulesPos = st.pos
}

func kwHTTPCheckSend(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	if px.checkExpectSeen {
		p.errorf(st.pos, "http-check send must come before http-check expect (HAProxy runs check rules in order)")
		return
	}
	c := &px.check
	for i := 0; i < len(args); i++ {
		a := args[i]
		need := 1
		if a == "hdr" {
			need = 2
		}
		if i+need >= len(args) {
			p.errorf(st.pos, "http-check send: %q needs an argument", a)
			return
		}
		switch a {
		case "meth":
			c.Method = args[i+1]
		case "uri":
			c.URI = args[i+1]
		case "ver":
			c.Version = args[i+1]
		case "hdr":
			c.Headers = append(c.Headers, args[i+1]+": "+args[i+2])
		case "body", "uri-lf", "body-lf", "comment":
			p.errorf(st.pos, "http-check send: %q is not supported by tandem", a)
			return
		default:
			p.errorf(st.pos, "http-check send: unknown argument %q%s", a, didYouMean(closest(a, []string{"meth", "uri", "ver", "hdr"})))
			return
		}
		i += need
	}
	px.checkRulesPos = st.pos
}

func kwTCPCheck(p *parser, px *proxyState, st *stmt, args []string, neg bool) {
	if len(args) > 0 {
		p.errorf(st.pos, "option tcp-check: unexpected argument %q", args[0])
		return
	}
	px.check.TCPCheck = !neg
	if !neg {
		px.check.HTTP = false
	}
}

// kwCaptureRequestHeader reads `capture request|response header NAME len N`.
func kwCaptureRequestHeader(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	kw := p.kwName(st)
	if len(args) != 3 || args[1] != "len" {
		p.errorf(st.pos, "%s: expected %s NAME len LENGTH", kw, kw)
		return
	}
	if !validToken(args[0]) {
		p.errorf(st.pos, "%s: invalid header name %q", kw, args[0])
		return
	}
	n, err := parseInt(args[2], 1, 65535)
	if err != nil {
		p.errorf(st.pos, "%s %s: len: %v", kw, args[0], err)
		return
	}
	c := config.HeaderCapture{Pos: st.pos, Name: args[0], Len: n}
	if strings.HasPrefix(kw, "capture response") {
		px.resCaptures = append(px.resCaptures, c)
		return
	}
	px.captures = append(px.captures, c)
}

// captureWords returns how many words form a capture keyword ("capture cookie",
// "capture request header", "capture response header"), 0 for other statements.
func captureWords(w []string) int {
	switch {
	case w[0] != "capture" || len(w) < 2:
		return 0
	case (w[1] == "request" || w[1] == "response") && len(w) > 2:
		return 3
	}
	return 2
}

func gLogSendHostname(p *parser, _ *proxyState, st *stmt, args []string, _ bool) {
	if len(args) > 1 {
		p.errorf(st.pos, "log-send-hostname: unexpected argument %q", args[1])
		return
	}
	p.global.LogSendHostname = true
	if len(args) == 1 {
		p.global.LogHostname = args[0]
	}
}

// kwDescription accepts a proxy's or the process's description (free text, the words
// joined by spaces as HAProxy does). tandem shows it nowhere yet, and says so.
func kwDescription(p *parser, _ *proxyState, st *stmt, args []string, _ bool) {
	if len(args) == 0 {
		p.errorf(st.pos, "description expects a string argument")
		return
	}
	p.warnf(st.pos, "description is accepted but not shown by tandem yet (its stats page has no description)")
}

// kwStatsShowDesc accepts "stats show-desc [TEXT]"; tandem's stats page shows no
// description yet, and it says so.
func kwStatsShowDesc(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	px.statsOn(st.pos)
	p.warnf(st.pos, "stats show-desc is accepted but tandem's stats page shows no description yet")
}
