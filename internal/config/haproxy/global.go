package haproxy

import (
	"strconv"
	"strings"

	"tandem/internal/config"
)

func gInt(set func(g *config.Global, n int), lo, hi int) handler {
	return func(p *parser, _ *proxyState, st *stmt, args []string, _ bool) {
		name := st.words[0]
		if !p.argN(st, name, args, 1, 1, "N") {
			return
		}
		n, err := parseInt(args[0], lo, hi)
		if err != nil {
			p.errorf(st.pos, "%s: %v", name, err)
			return
		}
		set(&p.global, n)
	}
}

func gString(set func(g *config.Global, s string)) handler {
	return func(p *parser, _ *proxyState, st *stmt, args []string, _ bool) {
		name := st.words[0]
		if !p.argN(st, name, args, 1, 1, "VALUE") {
			return
		}
		set(&p.global, args[0])
	}
}

func gDaemon(p *parser, _ *proxyState, st *stmt, args []string, _ bool) {
	if len(args) > 0 {
		p.errorf(st.pos, "daemon: unexpected argument %q", args[0])
		return
	}
	p.global.Daemon = true
	p.warnf(st.pos, "daemon: accepted, but tandem stays in the foreground")
}

func gLog(p *parser, _ *proxyState, st *stmt, args []string, neg bool) {
	if neg {
		p.global.Logs = nil
		return
	}
	if lt, ok := p.parseLog(st, args, false); ok {
		p.global.Logs = append(p.global.Logs, lt)
	}
}

func gHardStopAfter(p *parser, _ *proxyState, st *stmt, args []string, _ bool) {
	if !p.argN(st, "hard-stop-after", args, 1, 1, "<time>") {
		return
	}
	t, err := parseTime(args[0])
	if err != nil {
		p.errorf(st.pos, "hard-stop-after: %v", err)
		return
	}
	p.warnTimeJunk(st, "hard-stop-after", args[0])
	p.global.HardStopAfter = t
}

func gBufSize(p *parser, _ *proxyState, st *stmt, args []string, _ bool) {
	if !p.argN(st, "tune.bufsize", args, 1, 1, "N") {
		return
	}
	n, err := parseInt(args[0], 1024, 1<<28)
	if err != nil {
		p.errorf(st.pos, "tune.bufsize: %v", err)
		return
	}
	p.global.BufSize, p.globalSet.bufSize, p.globalSet.bufPos = n, true, st.pos
}

func gMaxRewrite(p *parser, _ *proxyState, st *stmt, args []string, _ bool) {
	if !p.argN(st, "tune.maxrewrite", args, 1, 1, "N") {
		return
	}
	n, err := parseInt(args[0], 0, 1<<28)
	if err != nil {
		p.errorf(st.pos, "tune.maxrewrite: %v", err)
		return
	}
	p.global.MaxRewrite, p.globalSet.maxRewrite = n, true
	if !p.globalSet.bufSize {
		p.globalSet.bufPos = st.pos
	}
}

func gStatsSocket(p *parser, _ *proxyState, st *stmt, args []string, _ bool) {
	if len(args) == 0 {
		p.errorf(st.pos, "stats socket: missing address (expected a path or ipv4@ADDR:PORT)")
		return
	}
	ss := config.StatsSocket{Pos: st.pos, Address: args[0], Level: "operator"}
	a := args[0]
	switch {
	case strings.HasPrefix(a, "ipv4@") || strings.HasPrefix(a, "ipv6@") || strings.Contains(a, ":") && !strings.HasPrefix(a, "/") && !strings.HasPrefix(a, "unix@"):
		if b, err := p.parseBindAddr(a, st.pos); err != nil {
			p.errorf(st.pos, "stats socket: %v", err)
			return
		} else if b.Sock != (config.BindSock{}) {
			p.errorf(st.pos, "stats socket: address %q is not supported by tandem", a)
			return
		}
	case strings.HasPrefix(a, "unix@"):
		if len(a) == len("unix@") {
			p.errorf(st.pos, "stats socket: missing path in %q", a)
			return
		}
	case strings.Contains(a, "@"):
		p.errorf(st.pos, "stats socket: address %q is not supported by tandem", a)
		return
	}
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		opt := rest[i]
		needArg := map[string]bool{"mode": true, "level": true, "expose-fd": true, "user": true, "group": true, "uid": true, "gid": true}
		if !needArg[opt] {
			if knownBindOptions[opt] {
				p.errorf(st.pos, "stats socket: option %q is not supported by tandem%s", opt, planHint(opt))
			} else {
				p.errorf(st.pos, "stats socket: unknown option %q%s", opt, didYouMean(closest(opt, []string{"mode", "level", "expose-fd"})))
			}
			return
		}
		if i+1 >= len(rest) {
			p.errorf(st.pos, "stats socket: %q needs an argument", opt)
			return
		}
		v := rest[i+1]
		i++
		switch opt {
		case "mode":
			m, err := strconv.ParseUint(v, 8, 32)
			if err != nil || m > 0o7777 {
				p.errorf(st.pos, "stats socket: mode %q is not an octal file mode", v)
				return
			}
			ss.Mode = uint32(m)
		case "level":
			if v != "user" && v != "operator" && v != "admin" {
				p.errorf(st.pos, "stats socket: level %q (expected user, operator or admin)", v)
				return
			}
			ss.Level = v
		case "expose-fd":
			if v != "listeners" {
				p.errorf(st.pos, "stats socket: expose-fd %q (expected listeners)", v)
				return
			}
		default:
			p.errorf(st.pos, "stats socket: option %q is not supported by tandem%s", opt, planHint(opt))
			return
		}
	}
	p.global.StatsSockets = append(p.global.StatsSockets, ss)
}

func gStatsTimeout(p *parser, _ *proxyState, st *stmt, args []string, _ bool) {
	if !p.argN(st, "stats timeout", args, 1, 1, "<time>") {
		return
	}
	t, err := parseTime(args[0])
	if err != nil {
		p.errorf(st.pos, "stats timeout: %v", err)
		return
	}
	p.warnTimeJunk(st, "stats timeout", args[0])
	p.global.StatsTimeout = t
}

// kwBindProcess accepts "bind-process" and "stats bind-process" with the values HAProxy
// 2.6 still takes now that it runs one process (all, odd, even, 1, 1-1, 1-): they have no
// effect there, and none in tandem.
func kwBindProcess(p *parser, _ *proxyState, st *stmt, args []string, _ bool) {
	name := p.kwName(st)
	if len(args) == 0 {
		p.errorf(st.pos, "%s expects a process number or range (all, odd, even, 1)", name)
		return
	}
	for _, a := range args {
		lo, hi, isRange := strings.Cut(a, "-")
		ok := a == "all" || a == "odd" || a == "even" || lo == "1" && (!isRange || hi == "" || hi == "1")
		if !ok {
			p.errorf(st.pos, "%s: %q is not a valid process number or range: HAProxy 2.6 runs one process (1, all, odd or even)", name, a)
			return
		}
	}
	p.warnf(st.pos, "%s has no effect (one process): delete the line (HAProxy 2.6 deprecates it, 2.7 removes it)", name)
}
