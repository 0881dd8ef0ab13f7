// Package haproxy reads haproxy.cfg files into tandem's resolved configuration
// model (package config).
//
// Reading happens in three steps, as HAProxy does: the lexer cuts lines into words
// (quotes, escapes, environment variables), the parser dispatches each statement
// through the keyword table (which keyword is allowed in which section) into
// per-section settings, and the resolver applies defaults, links names and checks
// relations between objects. Every problem is reported with its file and line, and
// all problems are reported at once in a config.ErrorList.
package haproxy

import (
	"context"
	"net"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"tandem/internal/config"
	"tandem/internal/sample"
	"tandem/internal/tlsconf"
)

// Options are the host services the parser uses. A nil field means the real one.
type Options struct {
	// Resolve returns the addresses of a host name (server and bind addresses that
	// are not literals). Default: the system resolver.
	Resolve func(host string) ([]netip.Addr, error)
	// LookupEnv reads an environment variable. Default: os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// ReadFile reads configuration files and errorfile files. Default: os.ReadFile.
	ReadFile func(string) ([]byte, error)
	// ReadDir lists a directory (crt DIR). Default: os.ReadDir.
	ReadDir func(string) ([]tlsconf.DirEntry, error)
	// DefaultMaxConn is a frontend's maxconn when neither it, its defaults nor global
	// set one (HAProxy's -N). Default: config.DefaultMaxConn.
	DefaultMaxConn int
}

func (o *Options) fill() {
	if o.Resolve == nil {
		o.Resolve = SystemResolve
	}
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
}

// SystemResolve resolves host with the system resolver, bounded to 5 s: the default of
// Options.Resolve, and what a privileged helper resolves with.
func SystemResolve(host string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// ParseFiles reads the files in order, as HAProxy does with several -f options:
// each file starts a new section and the defaults sections carry over.
func ParseFiles(paths []string, opt Options) (*config.Config, error) {
	opt.fill()
	p := newParser(opt)
	for _, path := range paths {
		data, err := opt.ReadFile(path)
		if err != nil {
			p.errs.Add(config.Pos{}, "read %s: %v", path, err)
			continue
		}
		if len(data) > 0 && data[len(data)-1] != '\n' {
			// As HAProxy 2.6: a last line without its newline may be a truncated file.
			p.errs.Add(config.Pos{File: path, Line: strings.Count(string(data), "\n") + 1},
				"missing newline at the end of the last line: the file may have been truncated (HAProxy 2.6 refuses it too); check its end and add a newline")
		}
		p.file(path, data)
	}
	return p.finish()
}

// Parse reads one configuration held in data; name is used in positions.
func Parse(name string, data []byte, opt Options) (*config.Config, error) {
	opt.fill()
	p := newParser(opt)
	p.file(name, data)
	return p.finish()
}

// parser holds everything read so far.
type parser struct {
	opt       Options
	errs      config.ErrorList
	warns     []*config.Error
	files     []string // in order, to sort messages
	global    config.Global
	globalSet globalSet
	tls       tlsState // tls.go

	store         *sample.Store            // pattern and map files, inline ACL patterns (rules.go)
	httpErrors    map[string]*httpErrors   // http-errors sections (errorpages.go)
	curErrors     *httpErrors              // the http-errors section being read
	userlists     map[string]*userlistSec  // userlist sections (userlist.go)
	curUserlist   *userlistSec             // the userlist section being read
	userlistRefs  []*userlistRef           // http_auth(NAME) uses, resolved at the end
	pos           config.Pos               // the line being read
	namedDefaults map[string][]*proxyState // several sections may share a name until one is referenced
	lastDefaults  *proxyState
	proxies       []*proxyState

	// current section
	sec   Section
	cur   *proxyState // nil in global
	skip  bool        // inside a section tandem does not support (already reported)
	label string      // "global", `backend "app"`, ...
	st    *stmt       // the statement being read
}

// globalSet remembers which global values were written, for defaults.
type globalSet struct {
	bufSize, maxRewrite bool
	h2Table, h2Window   bool // h2.go
	h2Streams           bool
	bufPos              config.Pos
}

func newParser(opt Options) *parser {
	return &parser{opt: opt, namedDefaults: map[string][]*proxyState{}}
}

// errorf records a problem about the current object. A problem on a line that names an
// unset environment variable says so: HAProxy expands it to an empty string.
func (p *parser) errorf(pos config.Pos, format string, args ...any) {
	if p.cur != nil {
		p.cur.failed = true
	}
	if p.st != nil && p.st.pos == pos && len(p.st.unset) > 0 {
		format += " (" + strings.ReplaceAll(unsetText(p.st.unset), "%", "%%") + ")"
	}
	p.errs.Add(pos, p.label+": "+format, args...)
}

// unsetText says which environment variables of a line are not set.
func unsetText(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	if len(q) == 1 {
		return "environment variable " + q[0] + " is not set: it expands to an empty string; set it, or write ${NAME-default}"
	}
	return "environment variables " + strings.Join(q, ", ") + " are not set: they expand to empty strings; set them, or write ${NAME-default}"
}

// warnf records a warning about the current object.
func (p *parser) warnf(pos config.Pos, format string, args ...any) {
	p.warns = append(p.warns, config.Errorf(pos, p.label+": "+format, args...))
}

func (p *parser) file(name string, data []byte) {
	p.files = append(p.files, name)
	// A file ends its last section (configuration.txt §2.1).
	p.sec, p.cur, p.skip, p.label = 0, nil, false, ""
	p.curErrors, p.curUserlist = nil, nil
	for _, st := range lex(name, data, p.opt.LookupEnv, &p.errs) {
		p.statement(&st)
	}
}

func (p *parser) statement(st *stmt) {
	p.st = st
	nerr := len(p.errs)
	defer func() {
		p.st = nil
		if len(st.unset) > 0 && len(p.errs) == nerr {
			// HAProxy 2.6 says nothing; the line may still do what was meant.
			p.warnf(st.pos, "%s", unsetText(st.unset))
		}
	}()
	w := st.words
	p.pos = st.pos
	if unsupportedSections[w[0]] || w[0] == "global" || w[0] == "defaults" || w[0] == "frontend" ||
		w[0] == "backend" || w[0] == "listen" || w[0] == "userlist" || w[0] == "http-errors" {
		p.curErrors, p.curUserlist = nil, nil // a section ends the one before
	}
	if unsupportedSections[w[0]] {
		p.sec, p.cur, p.skip, p.label = 0, nil, true, ""
		p.errs.Add(st.pos, "section %q is not supported by tandem%s", w[0], planHint(w[0]))
		return
	}
	switch w[0] {
	case "global":
		p.openGlobal(st)
		return
	case "defaults", "frontend", "backend", "listen":
		p.openProxy(st)
		return
	case "http-errors":
		p.openHTTPErrors(st)
		return
	case "userlist":
		p.openUserlist(st)
		return
	}
	switch {
	case p.curErrors != nil:
		p.httpErrorsLine(st)
		return
	case p.curUserlist != nil:
		p.userlistLine(st)
		return
	}
	if p.skip {
		return
	}
	switch w[0] {
	case ".if", ".elif", ".else", ".endif", ".notice", ".warning", ".alert", ".diag":
		p.errs.Add(st.pos, "directive %q is not supported by tandem (conditional blocks and messages)", w[0])
		return
	}
	if p.sec == 0 {
		p.errs.Add(st.pos, "unknown keyword %q outside of any section%s", w[0], didYouMean(closest(w[0], []string{"global", "defaults", "frontend", "backend", "listen"})))
		return
	}
	words, neg := w, false
	if w[0] == "no" && len(w) > 1 {
		words, neg = w[1:], true
	}
	if name, lk, ok := legacyName(words); ok {
		p.legacyError(st, name, lk)
		return
	}
	if mname, ok := matrixName(words); ok && haproxyMatrix[mname].namedOnly && p.sec == SecDefaults && p.cur.name == "" {
		p.errorf(st.pos, "keyword %q is not allowed in an anonymous defaults section: HAProxy 2.6 takes it only in a named one (\"defaults NAME\")", mname)
		return
	}
	e, name, n := lookup(p.sec, words)
	switch {
	case e != nil && neg && !e.negation:
		p.errorf(st.pos, "keyword %q cannot be prefixed with \"no\"", name)
	case e != nil:
		e.fn(p, p.cur, st, words[n:], neg)
	default:
		p.unknown(st, name, words)
	}
}

// unknown reports a keyword that has no entry in the current section. HAProxy 2.6's
// keyword matrix (matrix.go) decides between "tandem does not carry it out here yet"
// (an error: HAProxy would) and "HAProxy ignores it here too" (a warning, as HAProxy,
// except for rules, which tandem never drops).
func (p *parser) unknown(st *stmt, name string, words []string) {
	if multiWord[words[0]] && len(words) == 1 {
		p.errorf(st.pos, "%q needs an argument", words[0])
		return
	}
	if mname, ok := matrixName(words); ok {
		row := haproxyMatrix[mname]
		if row.sections&p.sec != 0 {
			p.errorf(st.pos, "%s", notSupported(mname, p.sec))
			return
		}
		p.notInSection(st, mname, row.sections)
		return
	}
	if where := allowedIn(name); where != 0 {
		p.errorf(st.pos, "keyword %q is not allowed in a %s section (allowed in: %s)", name, sectionName(p.sec), where)
		return
	}
	if knownHAProxy[name] {
		p.errorf(st.pos, "%s", notSupported(name, 0))
		return
	}
	p.errorf(st.pos, "unknown keyword %q%s", name, didYouMean(suggest(p.sec, name)))
}

// notInSection reports a keyword HAProxy does not take in the current section: where
// HAProxy ignores it with a warning (a frontend has no servers, a backend no clients),
// tandem warns the same way, except for rules; everywhere else it is an error.
func (p *parser) notInSection(st *stmt, name string, where Section) {
	sec := sectionName(p.sec)
	where &^= SecGlobal
	switch {
	case p.sec == SecGlobal || p.sec == SecDefaults || capabilityErrors[name]:
		p.errorf(st.pos, "keyword %q is not allowed in a %s section (allowed in: %s)", name, sec, where)
	case ruleKeywords[name]:
		p.errorf(st.pos, "keyword %q has no effect in a %s section (allowed in: %s): HAProxy ignores it here with a warning, "+
			"tandem refuses it so that the rule is not lost; move it to a %s section or delete it", name, sec, where, orList(where&^SecDefaults))
	default:
		hint := ""
		switch name {
		case "maxconn":
			hint = ` (did you mean "fullconn"?)`
		case "fullconn":
			hint = ` (did you mean "maxconn"?)`
		}
		p.warnf(st.pos, "keyword %q is ignored in a %s section (allowed in: %s)%s", name, sec, where, hint)
	}
}

func sectionName(s Section) string {
	for _, n := range sectionNames {
		if n.s == s {
			return n.name
		}
	}
	return "?"
}

func (p *parser) openGlobal(st *stmt) {
	p.sec, p.cur, p.skip, p.label = SecGlobal, nil, false, "global"
	if p.global.Pos.Line == 0 {
		p.global.Pos = st.pos
	}
	if len(st.words) > 1 {
		p.errorf(st.pos, "unexpected argument %q", st.words[1])
	}
}

func (p *parser) openProxy(st *stmt) {
	w := st.words
	kind := map[string]Section{"defaults": SecDefaults, "frontend": SecFrontend, "backend": SecBackend, "listen": SecListen}[w[0]]
	args := w[1:]
	var name, from string
	if len(args) > 0 && args[0] != "from" {
		name, args = args[0], args[1:]
	}
	label := w[0]
	if name != "" {
		label += " " + quote(name)
	}
	p.sec, p.skip, p.label = kind, false, label
	if len(args) >= 1 && args[0] == "from" {
		if len(args) != 2 {
			p.errorf(st.pos, "\"from\" needs exactly one defaults section name")
		} else {
			from = args[1]
		}
	} else if len(args) > 0 {
		p.errorf(st.pos, "unexpected argument %q: addresses go on a \"bind\" line (HAProxy 2.6 refuses them here too); write instead: %s %s / bind %s",
			args[0], w[0], cfgWord(name), strings.Join(quoteAll(args), " "))
	}
	if name == "" && kind != SecDefaults {
		p.errs.Add(st.pos, "%s: a name is required", w[0])
		name = "?"
	} else if name != "" {
		if bad := badNameChar(name); bad != 0 {
			p.errorf(st.pos, "invalid character %q in name", bad)
		}
	}

	base := p.lastDefaults
	if from != "" {
		base = nil
		switch found := p.namedDefaults[from]; len(found) {
		case 0:
			var names []string
			for n := range p.namedDefaults {
				names = append(names, n)
			}
			p.errorf(st.pos, "no defaults section named %q before this line%s", from, didYouMean(closest(from, names)))
		case 1:
			base = found[0]
		default:
			p.errorf(st.pos, "defaults section name %q is ambiguous: defined at %s and %s", from, found[0].pos, found[1].pos)
		}
	}
	p.noteDefaultsUse(st, base, from != "", kind)
	var px *proxyState
	if base != nil && (kind != SecDefaults || from != "") {
		px = base.clone()
	} else {
		px = newProxyState()
	}
	px.kind, px.name, px.pos, px.label = kind, name, st.pos, label
	p.cur = px
	if d := px.rules.inherited; kind == SecDefaults && d != nil {
		p.errorf(st.pos, "a defaults section cannot inherit from a defaults section defining HTTP rules (%s, rule at %s)", d.label, d.rules.defaultsPos)
	}
	if kind == SecDefaults {
		if name != "" {
			p.namedDefaults[name] = append(p.namedDefaults[name], px)
		}
		p.lastDefaults = px
		return
	}
	p.proxies = append(p.proxies, px)
}

// noteDefaultsUse enforces HAProxy's rule that a named defaults section is either
// referenced with "from" or used implicitly as the last defaults section, not both.
func (p *parser) noteDefaultsUse(st *stmt, d *proxyState, explicit bool, kind Section) {
	if d == nil || d.name == "" || kind == SecDefaults && !explicit {
		return
	}
	if explicit && d.usedImplicitly || !explicit && d.usedExplicitly {
		p.warnf(st.pos, "defaults section %q (%s) is both referenced with \"from\" and used implicitly as the last defaults section: "+
			"use \"from\" everywhere, or add a last defaults section that is never referenced", d.name, d.pos)
	}
	if explicit {
		d.usedExplicitly = true
	} else {
		d.usedImplicitly = true
	}
}

func badNameChar(s string) rune {
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.' || r == ':'
		if !ok {
			return r
		}
	}
	return 0
}

func quote(s string) string { return `"` + s + `"` }

// finish resolves what was read and returns the configuration or every problem.
func (p *parser) finish() (*config.Config, error) {
	cfg := p.resolve()
	p.resolveUserlists()
	order := map[string]int{}
	for i, f := range p.files {
		if _, ok := order[f]; !ok {
			order[f] = i + 1
		}
	}
	byPos := func(l []*config.Error) {
		sort.SliceStable(l, func(i, j int) bool {
			a, b := l[i].Pos, l[j].Pos
			if order[a.File] != order[b.File] {
				return order[a.File] < order[b.File]
			}
			return a.Line < b.Line
		})
	}
	byPos(p.errs)
	byPos(p.warns)
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	cfg.Warnings = p.warns
	cfg.Patterns = p.patterns()
	return cfg, nil
}
