package haproxy

import (
	"errors"
	"io/fs"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"tandem/internal/config"
	"tandem/internal/rules"
	"tandem/internal/sample"
)

// proxyState is what one defaults, frontend, backend or listen section says. A
// proxy starts as a copy of its defaults section, as HAProxy does, and its own
// keywords override; resolve turns it into config.Frontend and config.Backend.
type proxyState struct {
	kind   Section
	name   string
	pos    config.Pos
	label  string
	failed bool       // a line of this section had an error: skip follow-on checks
	h2Pos  config.Pos // a bind line with "proto h2" (for the mode check)

	usedExplicitly, usedImplicitly bool       // a named defaults section: how proxies used it
	checkExpectSeen                bool       // an http-check expect line was read in this section
	checkRulesPos                  config.Pos // where an http-check rule was last written

	mode           config.Mode
	binds          []config.Bind
	defaultBackend string
	defaultBEPos   config.Pos
	useBackends    []useBackendRule
	acls           *sample.ACLSet  // acl lines of this section (nil: none yet)
	badACLs        map[string]bool // acl names whose line had an error
	sampleRefs     []sampleRef     // proxies and servers named by fetches (nbsrv(B)…), checked in resolve
	tableRefs      []tableRef      // stick tables named by rules, fetches and converters, checked in resolve
	tcp            tcpRules        // tcp-request and tcp-response rules (tcprules.go)
	stickRules     []stickRule     // stick match|on|store-request|store-response (stick.go)
	maxConn        int
	balance        config.Balance
	hashType       config.HashType
	servers        []*config.Server
	defaultServer  serverOpts
	cookie         *config.Cookie
	timeouts       config.Timeouts
	retries        int // -1: not set
	redispatch     bool
	redispEvery    int
	retryOn        config.RetryOn
	allBackups     bool
	fullConn       int
	forwardFor     *config.ForwardFor
	forwardForPos  config.Pos
	connMode       config.HTTPConnMode
	check          config.HealthCheck
	logs           []config.LogTarget
	httpLog        bool
	httpsLog       bool // option httpslog (with httpLog)
	tcpLog         bool
	dontLogNull    bool
	captures       []config.HeaderCapture
	resCaptures    []config.HeaderCapture
	dontLogNormal  bool
	logSepErrors   bool
	logFormat      string
	stats          *config.Stats
	metricsPath    string      // http-request use-service prometheus-exporter if { path P }
	metricsRule    *rules.Rule // the rule metricsPath was read from
	rules          proxyRules
	errorfilesUses []errorfilesUse // return/deny … errorfiles NAME, resolved once every http-errors section is read
	errorfilesRefs []errorfilesRef // errorfiles NAME [CODE…] lines
	errorPageSeq   map[int]int     // code → errorfiles lines before the errorfile/errorloc line that set it
	errorFiles     map[int][]byte
	stickTable     *config.StickTable // stick-table (sticktable.go); never in defaults
	laxRequest     bool               // option accept-invalid-http-request
	laxResponse    bool               // option accept-invalid-http-response
}

func newProxyState() *proxyState {
	return &proxyState{retries: -1, defaultServer: serverOpts{weight: -1}}
}

// clone copies a defaults section for a proxy (or a defaults section "from" it).
func (px *proxyState) clone() *proxyState {
	c := *px
	c.binds, c.useBackends, c.servers, c.acls, c.badACLs, c.sampleRefs = nil, nil, nil, nil, nil, nil
	c.tableRefs, c.stickRules = nil, nil
	c.tcp.conn, c.tcp.sess, c.tcp.content, c.tcp.res = nil, nil, nil, nil
	c.usedExplicitly, c.usedImplicitly, c.checkExpectSeen = false, false, false
	c.defaultBackend = px.defaultBackend
	if px.cookie != nil {
		ck := *px.cookie
		ck.Domains = slices.Clone(ck.Domains)
		c.cookie = &ck
	}
	if px.forwardFor != nil {
		ff := *px.forwardFor
		c.forwardFor = &ff
	}
	c.check.Headers = slices.Clone(px.check.Headers)
	c.check.TCPRules = slices.Clone(px.check.TCPRules)
	c.logs = slices.Clone(px.logs)
	if px.stats != nil {
		s := *px.stats
		s.Auth = slices.Clone(s.Auth)
		c.stats = &s
	}
	c.errorFiles = maps.Clone(px.errorFiles)
	c.rules = px.rules.clone(px)
	c.errorfilesRefs = slices.Clip(px.errorfilesRefs)
	c.errorfilesUses = slices.Clip(px.errorfilesUses)
	c.errorPageSeq = maps.Clone(px.errorPageSeq)
	return &c
}

// argN reports an error unless args has between lo and hi words.
func (p *parser) argN(st *stmt, name string, args []string, lo, hi int, syntax string) bool {
	if len(args) >= lo && len(args) <= hi {
		return true
	}
	if len(args) < lo {
		p.errorf(st.pos, "%q: missing argument (expected %s %s)", name, name, syntax)
	} else {
		p.errorf(st.pos, "%q: unexpected argument %q (expected %s %s)", name, args[hi], name, syntax)
	}
	return false
}

func kwMode(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	if !p.argN(st, "mode", args, 1, 1, "http|tcp") {
		return
	}
	switch args[0] {
	case "http":
		px.mode = config.ModeHTTP
	case "tcp":
		px.mode = config.ModeTCP
	case "health", "log":
		p.errorf(st.pos, "mode %q is not supported by tandem", args[0])
	default:
		p.errorf(st.pos, "unknown mode %q (expected http or tcp)", args[0])
	}
}

func kwBind(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	if len(args) == 0 {
		p.errorf(st.pos, "\"bind\": missing address (expected bind ADDR:PORT[,ADDR:PORT...])")
		return
	}
	sock, name, rest := p.bindSocketOptions(st, args[1:])
	opts, proto, ok := bindProto(p, st, rest)
	if !ok {
		return
	}
	acceptProxy := false
	tb, ok := p.bindOptions(st, opts, &acceptProxy) // tls.go
	if !ok {
		return
	}
	if proto != "" {
		px.h2Pos = st.pos
	}
	for _, text := range strings.Split(args[0], ",") {
		b, err := p.parseBindAddr(text, st.pos)
		if err != nil {
			p.errorf(st.pos, "bind: %v", err)
			continue
		}
		b.TLS, b.AcceptProxy = tb, acceptProxy
		fd, path := b.Sock.FD, b.Sock.Path // the address's (fd@N, unix@PATH); the options give the rest
		b.Sock = sock
		b.Sock.FD, b.Sock.Path = fd, path
		b.Name = name
		b.Proto = proto
		px.binds = append(px.binds, b)
	}
}

func kwDefaultBackend(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	if !p.argN(st, "default_backend", args, 1, 1, "NAME") {
		return
	}
	px.defaultBackend, px.defaultBEPos = args[0], st.pos
}

func kwMaxConn(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	if !p.argN(st, "maxconn", args, 1, 1, "N") {
		return
	}
	n, err := parseInt(args[0], 0, maxInt32)
	if err != nil {
		p.errorf(st.pos, "maxconn: %v", err)
		return
	}
	px.maxConn = n
}

var algoByName = map[string]config.Algo{
	"roundrobin": config.AlgoRoundRobin, "static-rr": config.AlgoStaticRR, "leastconn": config.AlgoLeastConn,
	"source": config.AlgoSource, "first": config.AlgoFirst, "random": config.AlgoRandom, "uri": config.AlgoURI,
	"url_param": config.AlgoURLParam,
}

func kwBalance(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	if len(args) == 0 {
		px.balance = config.Balance{Algo: config.AlgoRoundRobin} // HAProxy 2.6: a bare "balance" is roundrobin
		return
	}
	name, rest := args[0], args[1:]
	var b config.Balance
	switch {
	case strings.HasPrefix(name, "hdr(") && strings.HasSuffix(name, ")"):
		b = config.Balance{Algo: config.AlgoHdr, Param: name[4 : len(name)-1]}
		if b.Param == "" {
			p.errorf(st.pos, "balance hdr(): missing header name")
			return
		}
	case name == "url_param":
		if len(rest) == 0 {
			p.errorf(st.pos, "balance url_param: missing parameter name")
			return
		}
		b = config.Balance{Algo: config.AlgoURLParam, Param: rest[0]}
		rest = rest[1:]
	case name == "hash" || name == "rdp-cookie" || strings.HasPrefix(name, "rdp-cookie(") || strings.HasPrefix(name, "random("):
		p.errorf(st.pos, "balance %q is not supported by tandem", name)
		return
	default:
		a, ok := algoByName[name]
		if !ok {
			p.errorf(st.pos, "unknown balance algorithm %q%s", name,
				didYouMean(closest(name, []string{"roundrobin", "static-rr", "leastconn", "source", "first", "random", "uri", "url_param"})))
			return
		}
		b.Algo = a
	}
	if len(rest) > 0 {
		p.errorf(st.pos, "balance %s: option %q is not supported by tandem", name, rest[0])
		return
	}
	px.balance = b
}

func kwHashType(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	if len(args) == 0 {
		p.errorf(st.pos, "\"hash-type\": missing method (expected map-based or consistent)")
		return
	}
	switch args[0] {
	case "map-based":
		px.hashType = config.HashMapBased
	case "consistent":
		px.hashType = config.HashConsistent
	default:
		p.errorf(st.pos, "unknown hash-type %q (expected map-based or consistent)", args[0])
		return
	}
	if len(args) > 1 {
		p.errorf(st.pos, "hash-type: hash function %q is not supported by tandem", strings.Join(args[1:], " "))
	}
}

func kwCookie(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	if len(args) == 0 {
		p.errorf(st.pos, "\"cookie\": missing cookie name")
		return
	}
	ck := &config.Cookie{Pos: st.pos, Name: args[0]}
	modes := 0
	for i := 1; i < len(args); i++ {
		a := args[i]
		needArg := func() (string, bool) {
			if i+1 >= len(args) {
				p.errorf(st.pos, "cookie %q: %q needs an argument", ck.Name, a)
				return "", false
			}
			i++
			return args[i], true
		}
		switch a {
		case "insert":
			ck.Mode, modes = config.CookieInsert, modes+1
		case "prefix":
			ck.Mode, modes = config.CookiePrefix, modes+1
		case "rewrite":
			ck.Mode, modes = config.CookieRewrite, modes+1
		case "indirect":
			ck.Indirect = true
		case "nocache":
			ck.NoCache = true
		case "preserve":
			ck.Preserve = true
		case "httponly":
			ck.HTTPOnly = true
		case "secure":
			ck.Secure = true
		case "domain":
			d, ok := needArg()
			if !ok {
				return
			}
			ck.Domains = append(ck.Domains, d)
		case "maxidle", "maxlife":
			v, ok := needArg()
			if !ok {
				return
			}
			t, err := parseTime(v)
			if err != nil {
				p.errorf(st.pos, "cookie %q: %s: %v", ck.Name, a, err)
				return
			}
			p.warnTimeJunk(st, "cookie "+quote(ck.Name)+": "+a, v)
			if a == "maxidle" {
				ck.MaxIdle = t
			} else {
				ck.MaxLife = t
			}
		case "postonly", "dynamic", "attr":
			p.errorf(st.pos, "cookie %q: option %q is not supported by tandem", ck.Name, a)
			return
		default:
			p.errorf(st.pos, "cookie %q: unknown option %q%s", ck.Name, a, didYouMean(closest(a, []string{
				"insert", "prefix", "rewrite", "indirect", "nocache", "preserve", "httponly", "secure", "domain", "maxidle", "maxlife"})))
			return
		}
	}
	switch {
	case modes > 1:
		p.errorf(st.pos, "cookie %q: the rewrite, insert and prefix modes are incompatible", ck.Name)
	case modes == 0:
		p.errorf(st.pos, "cookie %q: passive mode (no insert, prefix or rewrite) is not supported by tandem", ck.Name)
	case ck.Preserve && ck.Mode != config.CookieInsert && !ck.Indirect:
		p.errorf(st.pos, "cookie %q: preserve requires insert or indirect", ck.Name)
	case (ck.MaxIdle > 0 || ck.MaxLife > 0) && ck.Mode != config.CookieInsert:
		p.errorf(st.pos, "cookie %q: maxidle and maxlife only work with insert", ck.Name)
	default:
		px.cookie = ck
	}
}

func kwForwardFor(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	ff := &config.ForwardFor{Header: "X-Forwarded-For"}
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "except", "header":
			if i+1 >= len(args) {
				p.errorf(st.pos, "option forwardfor: %q needs an argument", args[i])
				return
			}
			v := args[i+1]
			if args[i] == "header" {
				ff.Header = v
			} else {
				pfx, err := parsePrefix(v)
				if err != nil {
					p.errorf(st.pos, "option forwardfor: except: %v", err)
					return
				}
				ff.Except = pfx
			}
			i++
		case "if-none":
			ff.IfNone = true
		default:
			p.errorf(st.pos, "option forwardfor: unknown argument %q (expected except NET, header NAME or if-none)", args[i])
			return
		}
	}
	px.forwardFor, px.forwardForPos = ff, st.pos
}

// parsePrefix reads "A.B.C.D/N", "V6/N", a bare address, or "A.B.C.D/M.M.M.M".
func parsePrefix(s string) (netip.Prefix, error) {
	if addr, mask, ok := strings.Cut(s, "/"); ok {
		if m, err := netip.ParseAddr(mask); err == nil && m.Is4() {
			bits, ok := maskBits(m)
			a, err := netip.ParseAddr(addr)
			if !ok || err != nil || !a.Is4() {
				return netip.Prefix{}, errInvalidNet(s)
			}
			return netip.PrefixFrom(a, bits).Masked(), nil
		}
		pf, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, errInvalidNet(s)
		}
		return pf.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, errInvalidNet(s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func maskBits(m netip.Addr) (int, bool) {
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for v&(1<<31) != 0 {
		n++
		v <<= 1
	}
	return n, v == 0
}

type invalidNet string

func (e invalidNet) Error() string { return "invalid network " + quote(string(e)) }

func errInvalidNet(s string) error { return invalidNet(s) }

func kwConnMode(mode config.HTTPConnMode) handler {
	return func(p *parser, px *proxyState, st *stmt, args []string, neg bool) {
		if len(args) > 0 {
			p.errorf(st.pos, "unexpected argument %q", args[0])
			return
		}
		switch {
		case !neg:
			px.connMode = mode
		case px.connMode == mode:
			px.connMode = config.HTTPKeepAlive
		}
	}
}

func kwTimeout(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	name := strings.TrimPrefix(p.kwName(st), "timeout ")
	if !p.argN(st, "timeout "+name, args, 1, 1, "<time>") {
		return
	}
	t, err := parseTime(args[0])
	if err != nil {
		p.errorf(st.pos, "timeout %s: %v", name, err)
		return
	}
	p.warnTimeJunk(st, "timeout "+name, args[0])
	tm := &px.timeouts
	switch name {
	case "connect":
		tm.Connect = t
	case "client":
		tm.Client = t
	case "server":
		tm.Server = t
	case "queue":
		tm.Queue = t
	case "http-request":
		tm.HTTPRequest = t
	case "http-keep-alive":
		tm.HTTPKeepAlive = t
	case "tunnel":
		tm.Tunnel = t
	case "client-fin":
		tm.ClientFin = t
	case "server-fin":
		tm.ServerFin = t
	case "tarpit":
		tm.Tarpit = t
	case "check":
		tm.Check = t
	}
}

// kwName returns a statement's keyword name without a "no" prefix.
func (p *parser) kwName(st *stmt) string {
	w := st.words
	if w[0] == "no" && len(w) > 1 {
		w = w[1:]
	}
	if multiWord[w[0]] && len(w) > 1 {
		return w[0] + " " + w[1]
	}
	if k := captureWords(w); k > 0 {
		return strings.Join(w[:k], " ")
	}
	return w[0]
}

func kwRetries(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	if !p.argN(st, "retries", args, 1, 1, "N") {
		return
	}
	n, err := parseInt(args[0], 0, 1000)
	if err != nil {
		p.errorf(st.pos, "retries: %v", err)
		return
	}
	px.retries = n
}

func kwRedispatch(p *parser, px *proxyState, st *stmt, args []string, neg bool) {
	if len(args) > 1 {
		p.errorf(st.pos, "option redispatch: unexpected argument %q (expected option redispatch [N])", args[1])
		return
	}
	px.redispEvery = 0
	if len(args) == 1 {
		n, err := parseInt(args[0], -maxInt32, maxInt32)
		if err != nil {
			p.errorf(st.pos, "option redispatch: interval: %v", err)
			return
		}
		px.redispEvery = n
	}
	px.redispatch = !neg && (len(args) == 0 || px.redispEvery != 0) // N = 0 disables
}

func kwFullConn(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	if !p.argN(st, "fullconn", args, 1, 1, "N") {
		return
	}
	n, err := parseInt(args[0], 0, maxInt32)
	if err != nil {
		p.errorf(st.pos, "fullconn: %v", err)
		return
	}
	px.fullConn = n // 0: HAProxy's default, as unset (see fullConnDefaults)
}

// errorfileCodes are the status codes HAProxy accepts for errorfile.
var errorfileCodes = []int{200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429, 500, 501, 502, 503, 504}

func kwErrorFile(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	if !p.argN(st, "errorfile", args, 2, 2, "CODE FILE") {
		return
	}
	code, err := parseInt(args[0], 100, 599)
	if err != nil || !slices.Contains(errorfileCodes, code) {
		p.errorf(st.pos, "errorfile: status code %q is not one HAProxy can answer with", args[0])
		return
	}
	data, err := p.opt.ReadFile(args[1])
	if err != nil {
		p.errorf(st.pos, "errorfile %d: cannot read %q: %v", code, args[1], unwrapPathError(err))
		return
	}
	if !strings.HasPrefix(string(data), "HTTP/") {
		p.errorf(st.pos, "errorfile %d: %q is not an HTTP response (it must start with the status line)", code, args[1])
		return
	}
	if px.errorFiles == nil {
		px.errorFiles = map[int][]byte{}
	}
	px.errorFiles[code] = data
	px.notePage(code)
}

// unwrapPathError drops the path from an *fs.PathError (the message already names it).
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// bindProto takes a bind line's "proto NAME" out of its options. tandem's
// multiplexers: h2 (HTTP/2 on every connection of the bind).
func bindProto(p *parser, st *stmt, words []string) (rest []string, proto string, ok bool) {
	for i := 0; i < len(words); i++ {
		if words[i] != "proto" {
			rest = append(rest, words[i])
			continue
		}
		if i+1 >= len(words) {
			p.errorf(st.pos, "bind: \"proto\" needs a protocol name (h2)")
			return nil, "", false
		}
		proto = words[i+1]
		if proto != "h2" {
			p.errorf(st.pos, "bind: proto %q: tandem's bind protocols are h2 (HTTP/2); remove proto to serve HTTP/1", proto)
			return nil, "", false
		}
		i++
	}
	return rest, proto, true
}
