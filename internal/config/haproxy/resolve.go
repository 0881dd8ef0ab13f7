package haproxy

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"tandem/internal/config"
)

// Safe defaults applied when a proxy leaves a timeout unset (documented in the README).
const (
	SafeTimeoutConnect     = 5 * time.Second
	SafeTimeoutClient      = 50 * time.Second
	SafeTimeoutServer      = 50 * time.Second
	SafeTimeoutHTTPRequest = 10 * time.Second
)

// resolve applies defaults, builds the model objects, links names and checks the
// relations between objects.
func (p *parser) resolve() *config.Config {
	p.cur = nil
	cfg := &config.Config{Global: p.global}
	g := &cfg.Global
	if !p.globalSet.bufSize {
		g.BufSize = config.DefaultBufSize
	}
	p.resolveH2(g) // h2.go
	if !p.globalSet.maxRewrite {
		g.MaxRewrite = config.DefaultMaxRewrite
	}
	if g.MaxRewrite > g.BufSize/2 {
		// HAProxy clamps it the same way.
		p.warns = append(p.warns, config.Errorf(p.globalSet.bufPos, "global: tune.maxrewrite (%d) is more than half of tune.bufsize (%d): using %d",
			g.MaxRewrite, g.BufSize, g.BufSize/2))
		g.MaxRewrite = g.BufSize / 2
	}

	type pending struct {
		px *proxyState
		fe *config.Frontend
	}
	var fronts []pending
	feNames := map[string]*proxyState{}
	beNames := map[string]*proxyState{}
	rulesFrom := map[*proxyState]Section{} // defaults sections with rules: who inherited them
	for _, px := range p.proxies {
		p.label = px.label
		isFront := px.kind == SecFrontend || px.kind == SecListen && len(px.binds) > 0
		isBack := px.kind == SecBackend || px.kind == SecListen
		if isFront || px.kind == SecListen {
			if old := feNames[px.name]; old != nil {
				p.errorf(px.pos, "a %s with this name was already defined at %s", sectionName(old.kind), old.pos)
				continue
			}
			feNames[px.name] = px
		}
		if isBack {
			if old := beNames[px.name]; old != nil {
				p.errorf(px.pos, "a %s with this name was already defined at %s", sectionName(old.kind), old.pos)
				continue
			}
			beNames[px.name] = px
		}
		p.timeoutDefaults(px, isFront, isBack)
		px.errorFiles = p.resolveErrorPages(px)
		var be *config.Backend
		if isBack {
			p.checkBackendTLS(px) // tls.go
			be = p.buildBackend(px)
			cfg.Backends = append(cfg.Backends, be)
		}
		if isFront {
			p.checkFrontendTLS(px) // tls.go
			fe := p.buildFrontend(px, g)
			if be != nil {
				fe.DefaultBackend = be
			}
			cfg.Frontends = append(cfg.Frontends, fe)
			fronts = append(fronts, pending{px, fe})
			p.resolveRules(px, fe, be, rulesFrom)
			p.resolveTCPRules(px, fe, be)
		} else {
			p.resolveRules(px, nil, be, rulesFrom)
			p.resolveTCPRules(px, nil, be)
		}
	}

	// Link frontends to backends now that every backend exists.
	var beList []string
	for _, b := range cfg.Backends {
		beList = append(beList, b.Name)
	}
	for _, f := range fronts {
		px, fe := f.px, f.fe
		p.label = px.label
		if px.kind == SecFrontend && !px.failed && len(px.binds) == 0 {
			p.errorf(px.pos, "no bind line (a frontend must listen somewhere; use a backend section for a pool of servers)")
		}
		// A listen section uses its own servers unless it names a default_backend
		// (possibly inherited from defaults), as HAProxy does.
		if px.defaultBackend != "" {
			if b := p.link(cfg, fe, px.defaultBEPos, "default_backend", px.defaultBackend, beList); b != nil {
				fe.DefaultBackend = b
			}
		}
		p.linkUseBackends(cfg, px, fe, beList)
		if px.kind == SecFrontend && !px.failed && px.defaultBackend == "" && len(px.useBackends) == 0 && fe.Stats == nil && fe.MetricsPath == "" && fe.MonitorURI == "" && !answersAll(fe) {
			// HAProxy 2.6 takes it: HTTP requests get a 503, TCP connections are closed.
			p.warnf(px.pos, "no backend: every HTTP request gets a 503 and every TCP connection is closed, as HAProxy does; add a default_backend line")
		}
	}
	fullConnDefaults(cfg)
	p.resolveTables(cfg)
	p.resolveTrack(cfg)
	p.resolveStick(cfg)
	return cfg
}

// fullConnDefaults gives each backend without fullconn HAProxy's default: a tenth of the
// maxconn of the frontends that may branch to it (config.DefaultFullConn).
func fullConnDefaults(cfg *config.Config) {
	for _, b := range cfg.Backends {
		if b.FullConn > 0 {
			continue
		}
		sum := 0
		for _, f := range cfg.Frontends {
			reaches := f.DefaultBackend == b
			for _, ub := range f.UseBackends {
				reaches = reaches || ub.Backend == b
			}
			if reaches {
				sum += f.MaxConn
			}
		}
		b.FullConn = config.DefaultFullConn(sum)
	}
}

// link finds the backend a frontend names, and checks their modes agree.
func (p *parser) link(cfg *config.Config, fe *config.Frontend, pos config.Pos, kw, name string, all []string) *config.Backend {
	b := cfg.Backend(name)
	if b == nil {
		p.errorf(pos, "%s %q: no such backend%s", kw, name, didYouMean(closest(name, all)))
		return nil
	}
	if fe.Mode == config.ModeHTTP && b.Mode == config.ModeTCP {
		p.errorf(pos, "%s %q: backend is in tcp mode but the frontend is in http mode (an http frontend can only use http backends)", kw, name)
		return nil
	}
	return b
}

// timeoutDefaults fills the safe defaults and warns about missing timeouts as
// HAProxy does.
func (p *parser) timeoutDefaults(px *proxyState, isFront, isBack bool) {
	t := &px.timeouts
	var missing, applied []string
	fill := func(d *time.Duration, name string, v time.Duration, relevant bool) {
		if *d != 0 {
			return
		}
		*d = v
		if relevant {
			missing = append(missing, name)
			applied = append(applied, fmt.Sprintf("%s %s", name, v))
		}
	}
	fill(&t.Connect, "connect", SafeTimeoutConnect, isBack)
	fill(&t.Client, "client", SafeTimeoutClient, isFront)
	fill(&t.Server, "server", SafeTimeoutServer, isBack)
	if t.Tarpit == 0 {
		t.Tarpit = t.Connect // HAProxy: timeout tarpit defaults to timeout connect
	}
	if t.HTTPRequest == 0 {
		t.HTTPRequest = SafeTimeoutHTTPRequest
	}
	if len(missing) > 0 {
		p.warnf(px.pos, "missing timeouts (%s): tandem uses %s; set them to silence this warning",
			strings.Join(missing, ", "), strings.Join(applied, ", "))
	}
}

func (p *parser) buildBackend(px *proxyState) *config.Backend {
	b := &config.Backend{
		Pos: px.pos, Name: px.name, Mode: px.mode, Balance: px.balance, HashType: px.hashType,
		Servers: px.servers, Cookie: px.cookie, Timeouts: px.timeouts, Retries: px.retries,
		Redispatch: px.redispatch, RedispatchEvery: px.redispEvery, RetryOn: px.retryOn, AllBackups: px.allBackups, FullConn: px.fullConn, ForwardFor: px.forwardFor,
		ConnMode: px.connMode, Check: px.check, ErrorFiles: maps.Clone(px.errorFiles),
		Listen: px.kind == SecListen, AcceptInvalidResponse: px.laxResponse, ACLs: px.acls,
	}
	if b.Retries < 0 {
		b.Retries = config.DefaultRetries
	}
	if b.Servers == nil {
		b.Servers = []*config.Server{}
	}
	if b.Mode == config.ModeTCP {
		if b.Balance.Algo == config.AlgoURI || b.Balance.Algo == config.AlgoHdr || b.Balance.Algo == config.AlgoURLParam {
			p.warnf(px.pos, "balance %s needs mode http: using roundrobin", b.Balance.Algo)
			b.Balance = config.Balance{Algo: config.AlgoRoundRobin}
		}
		if b.Cookie != nil {
			p.warnf(b.Cookie.Pos, "cookie %q is ignored in mode tcp", b.Cookie.Name)
			b.Cookie = nil
		}
		if b.ForwardFor != nil && px.kind == SecBackend {
			p.warnf(px.forwardForPos, "option forwardfor is ignored in mode tcp")
			b.ForwardFor = nil
		}
	}
	if b.Cookie != nil {
		seen := map[string]string{}
		for _, s := range b.Servers {
			if s.Cookie == "" {
				continue
			}
			if other, dup := seen[s.Cookie]; dup {
				p.warnf(s.Pos, "server %q: cookie %q is also used by server %q", s.Name, s.Cookie, other)
			}
			seen[s.Cookie] = s.Name
		}
	}
	// A server without a port has nothing to check unless told where: a check port, or a
	// first tcp-check rule "connect port N" (HAProxy 2.6 refuses it otherwise).
	ruleHasPort := b.Check.TCPCheck && len(b.Check.TCPRules) > 0 && b.Check.TCPRules[0].Action == "connect" && b.Check.TCPRules[0].Port > 0
	for _, s := range b.Servers {
		if s.MaxQueue > 0 && b.Balance.Algo == config.AlgoLeastConn {
			// HAProxy's leastconn queues requests on a server up to its maxqueue; tandem's
			// waits in the backend queue instead, so the two would not spread alike.
			p.errorf(s.Pos, "server %q: maxqueue with balance leastconn is not supported by tandem; "+
				"remove maxqueue (or set it to 0) or use another balance algorithm", s.Name)
		}
		if s.Addr.Port() == 0 && s.Check.Enabled && s.Check.Port == 0 && !ruleHasPort {
			p.errorf(s.Pos, "server %q: a server without a port (it takes the client's) needs \"port N\" for its checks, "+
				"or a first \"tcp-check connect port N\" (HAProxy 2.6 refuses it too)", s.Name)
		}
	}
	if px.checkRulesPos.Line > 0 && !b.Check.HTTP {
		p.warnf(px.checkRulesPos, "http-check rules without option httpchk are ignored")
	}
	if px.stats != nil && px.kind == SecBackend { // a listen section's are its frontend's
		b.Stats = px.stats
		if b.Mode == config.ModeTCP {
			p.warnf(px.stats.Pos, "stats is ignored in mode tcp (add \"mode http\")")
			b.Stats = nil
		}
	}
	return b
}

func (p *parser) buildFrontend(px *proxyState, g *config.Global) *config.Frontend {
	f := &config.Frontend{
		Pos: px.pos, Name: px.name, Mode: px.mode, Binds: px.binds, MaxConn: px.maxConn,
		Timeouts: px.timeouts, ForwardFor: px.forwardFor, ConnMode: px.connMode,
		Logs: slices.Clone(px.logs), HTTPLog: px.httpLog, TCPLog: px.tcpLog, DontLogNull: px.dontLogNull,
		LogFormat: px.logFormat, Stats: px.stats, ErrorFiles: maps.Clone(px.errorFiles),
		Listen: px.kind == SecListen, AcceptInvalidRequest: px.laxRequest,
	}
	f.MetricsPath = px.metricsPath
	f.ACLs = px.acls
	f.Captures = slices.Clone(px.captures)
	f.ResCaptures = slices.Clone(px.resCaptures)
	f.DontLogNormal, f.LogSeparateErrors = px.dontLogNormal, px.logSepErrors
	if f.MaxConn == 0 {
		f.MaxConn = g.MaxConn
	}
	if f.MaxConn == 0 {
		f.MaxConn = p.opt.DefaultMaxConn
	}
	if f.MaxConn == 0 {
		f.MaxConn = config.DefaultMaxConn
	}
	if f.Mode == config.ModeTCP {
		if f.ForwardFor != nil {
			p.warnf(px.forwardForPos, "option forwardfor is ignored in mode tcp")
			f.ForwardFor = nil
		}
		if f.HTTPLog {
			p.warnf(px.pos, "option httplog needs mode http: using option tcplog")
			f.HTTPLog, f.TCPLog = false, true
		}
		if f.Stats != nil {
			p.warnf(f.Stats.Pos, "stats is ignored in mode tcp (add \"mode http\")")
			f.Stats = nil
		}
		if f.MetricsPath != "" {
			p.warnf(px.pos, "http-request use-service prometheus-exporter is ignored in mode tcp (add \"mode http\")")
			f.MetricsPath = ""
		}
	}
	f.HTTPSLog = px.httpsLog && f.HTTPLog // option httpslog (tls.go); mode tcp keeps tcplog
	return f
}
