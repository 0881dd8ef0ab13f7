package rules

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"tandem/internal/sample"
)

// Env is what compiling a rule needs from the configuration it is part of.
type Env struct {
	// Ctx is the sample parse context (pattern store, file reader). Parse sets its
	// Where for the rule's phase on a copy.
	Ctx *sample.Ctx
	// Cond compiles the condition words ("if"/"unless" and what follows) of a rule
	// that runs where; nil refuses conditions.
	Cond func(words []string, where sample.Use) (*sample.Cond, error)
	// ReadFile reads the files of errorfile, file and lf-file arguments.
	ReadFile func(name string) ([]byte, error)
}

// handledStatus are the status codes HAProxy 2.6 has an error page for (what
// default-errorfiles, errorfile and errorfiles can answer).
var handledStatus = map[int]bool{200: true, 400: true, 401: true, 403: true, 404: true, 405: true,
	407: true, 408: true, 410: true, 413: true, 425: true, 429: true, 500: true, 501: true,
	502: true, 503: true, 504: true}

// HandledStatus reports whether HAProxy 2.6 has an error page for code.
func HandledStatus(code int) bool { return handledStatus[code] }

// where each action may be written.
const (
	inReq = 1 << Request
	inRes = 1 << Response
	inAft = 1 << AfterResponse
)

var actionPhases = map[string]uint8{
	"allow": inReq | inRes | inAft, "deny": inReq | inRes, "tarpit": inReq, "redirect": inReq | inRes,
	"return": inReq | inRes, "auth": inReq, "add-header": inReq | inRes | inAft, "set-header": inReq | inRes | inAft,
	"del-header": inReq | inRes | inAft, "replace-header": inReq | inRes | inAft,
	"replace-value": inReq | inRes | inAft, "set-path": inReq, "set-pathq": inReq, "replace-path": inReq,
	"replace-pathq": inReq, "set-query": inReq, "set-uri": inReq, "replace-uri": inReq, "set-method": inReq,
	"set-var": inReq | inRes | inAft, "unset-var": inReq | inRes | inAft, "capture": inReq,
	"set-log-level": inReq | inRes | inAft, "set-status": inRes | inAft, "use-service": inReq,
	"reject": inReq, "disable-l7-retry": inReq, "set-var-fmt": inReq | inRes | inAft,
	"silent-drop": inReq,
}

// knownElsewhere are HAProxy 2.6 actions tandem does not carry out (yet), so that
// they are refused as such rather than as unknown.
var knownElsewhere = strings.Fields(`add-acl add-map cache-store cache-use del-acl del-map
do-resolve early-hint normalize-uri send-spoe-group set-bandc-dst set-dst
set-dst-port set-map set-mark set-nice set-priority-class set-priority-offset set-src set-src-port
set-timeout set-tos strict-mode wait-for-body wait-for-handshake lua
set-bandwidth-limit set-fc-mark set-fc-tos sc-add-gpc sc-clr-gpc sc-clr-gpc0 sc-clr-gpc1`)

// haproxyHas are the actions HAProxy 2.6 takes in the response phases beyond what
// tandem carries out there (configuration.txt §4.2 http-response, http-after-response).
var haproxyHas = map[Phase]map[string]bool{
	Response:      {"capture": true},
	AfterResponse: {"capture": true},
}

// Parse compiles one `http-request|http-response|http-after-response ACTION …` line
// (args are the words after the phase keyword).
func Parse(ph Phase, args []string, env *Env) (*Rule, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%s: missing action", ph)
	}
	name := args[0]
	base := name
	if i := strings.IndexByte(name, '('); i > 0 {
		base = name[:i]
	}
	if strings.HasPrefix(base, "track-sc") || strings.HasPrefix(base, "sc-") {
		return parseStickRule(ph, name, args[1:], env)
	}
	mask, ok := actionPhases[base]
	if !ok {
		for _, k := range knownElsewhere {
			if k == base {
				return nil, fmt.Errorf("%s %s: this HAProxy action is not supported by tandem yet", ph, base)
			}
		}
		return nil, fmt.Errorf("%s: unknown action %q (tandem supports %s)", ph, name, supported(ph))
	}
	if mask&(1<<ph) == 0 && haproxyHas[ph][base] {
		return nil, fmt.Errorf("%s %s: this HAProxy action is not supported by tandem yet in %s rules", ph, base, ph)
	}
	if mask&(1<<ph) == 0 {
		return nil, fmt.Errorf("%s: action %q is not allowed in %s rules (HAProxy 2.6 has it only in %s)", ph, base, ph, phasesOf(mask))
	}
	p := newParser(env, ph.Where(), ph.String()+" "+base, args[1:])
	r := &Rule{}
	var err error
	switch base {
	case "allow":
		r.Action = Allow
	case "reject":
		r.Action = Reject
	case "silent-drop":
		r.Action = SilentDrop
	case "disable-l7-retry":
		r.Action = DisableL7Retry
	case "deny", "tarpit":
		r.Action = Deny
		status := 403
		if ph != Request {
			status = 502 // http-response deny answers 502 by default
		}
		if base == "tarpit" {
			r.Action, status = Tarpit, 500
		}
		r.Reply, err = p.reply(status, true)
	case "return":
		r.Action = Return
		r.Reply, err = p.reply(200, false)
	case "redirect":
		r.Action = Redirect
		r.Redirect, err = p.redirect(true)
		if err == nil && ph != Request && r.Redirect.Kind != RedirLocation {
			err = fmt.Errorf("%s: a response only supports redirect type 'location'", p.kw)
		}
	case "auth":
		r.Action = Auth
		if p.peek() == "realm" {
			r.Realm, err = p.value("realm")
		}
	case "add-header", "set-header":
		r.Action = AddHeader
		if base == "set-header" {
			r.Action = SetHeader
		}
		if r.Name, err = p.word("header name"); err == nil {
			r.Fmt, err = p.format("value")
		}
	case "del-header":
		r.Action = DelHeader
		if r.Name, err = p.word("header name"); err == nil && p.peek() == "-m" {
			r.Match, r.NameRe, err = p.nameMatch(r.Name)
		}
	case "replace-header", "replace-value":
		r.Action = ReplaceHeader
		if base == "replace-value" {
			r.Action = ReplaceValue
		}
		if r.Name, err = p.word("header name"); err == nil {
			r.Re, r.Fmt, err = p.replace()
		}
	case "set-path", "set-pathq", "set-query", "set-uri", "set-method":
		r.Action = map[string]Action{"set-path": SetPath, "set-pathq": SetPathQ, "set-query": SetQuery,
			"set-uri": SetURI, "set-method": SetMethod}[base]
		r.Fmt, err = p.format("format")
	case "replace-path", "replace-pathq", "replace-uri":
		r.Action = map[string]Action{"replace-path": ReplacePath, "replace-pathq": ReplacePathQ, "replace-uri": ReplaceURI}[base]
		r.Re, r.Fmt, err = p.replace()
	case "set-var", "unset-var", "set-var-fmt":
		err = p.variable(name, base, r)
	case "capture":
		r.Action = Capture
		var text string
		if text, err = p.word("sample expression"); err == nil {
			if r.Expr, err = sample.ParseExpr(text, p.ctx); err == nil {
				switch p.peek() {
				case "len":
					var n string
					if n, err = p.value("len"); err == nil {
						r.CaptureLen, err = strconv.Atoi(n)
						if err != nil || r.CaptureLen <= 0 {
							err = fmt.Errorf("%s: len %q: expected a positive number", p.kw, n)
						}
					}
				case "id":
					err = fmt.Errorf("%s: \"id\" (a slot declared elsewhere) is not supported by tandem yet; use \"len\"", p.kw)
				default:
					err = fmt.Errorf("%s: expected \"len <length>\" after the sample", p.kw)
				}
			}
		}
	case "set-log-level":
		r.Action = SetLogLevel
		var lv string
		if lv, err = p.word("level"); err == nil {
			r.LogLevel = logLevel(lv)
			if r.LogLevel == -2 {
				err = fmt.Errorf("%s: unknown level %q (emerg alert crit err warning notice info debug silent)", p.kw, lv)
			}
		}
	case "set-status":
		r.Action = SetStatus
		var s string
		if s, err = p.word("status"); err == nil {
			r.Status, err = strconv.Atoi(s)
			if err != nil || r.Status < 100 || r.Status > 999 {
				err = fmt.Errorf("%s: invalid status code %q (100..999)", p.kw, s)
			} else if p.peek() == "reason" {
				r.Reason, err = p.value("reason")
			}
		}
	case "use-service":
		r.Action = UseService
		if r.Service, err = p.word("service name"); err == nil && r.Service != "prometheus-exporter" {
			err = fmt.Errorf("%s: service %q is not supported by tandem (only prometheus-exporter)", p.kw, r.Service)
		}
	}
	if err != nil {
		return nil, err
	}
	if r.Cond, err = p.cond(); err != nil {
		return nil, err
	}
	return r, nil
}

// ParseRedirect compiles the legacy `redirect location|prefix|scheme …` keyword (args
// are the words after "redirect"). Its value is taken literally, as HAProxy
// 2.6 reads it (not a log-format string, unlike http-request redirect).
func ParseRedirect(args []string, env *Env) (*Rule, error) {
	p := newParser(env, Request.Where(), "redirect", args)
	spec, err := p.redirect(false)
	if err != nil {
		return nil, err
	}
	r := &Rule{Action: Redirect, Redirect: spec}
	if r.Cond, err = p.cond(); err != nil {
		return nil, err
	}
	return r, nil
}

func supported(ph Phase) string {
	var s []string
	for _, n := range actionNames {
		if actionPhases[n]&(1<<ph) != 0 {
			s = append(s, n)
		}
	}
	return strings.Join(s, ", ")
}

func phasesOf(mask uint8) string {
	var s []string
	for i, n := range phaseNames {
		if mask&(1<<i) != 0 {
			s = append(s, n)
		}
	}
	return strings.Join(s, " and ")
}

// logLevel maps a syslog level name to its severity; "silent" is -1, unknown -2.
func logLevel(s string) int {
	for i, n := range []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"} {
		if s == n {
			return i
		}
	}
	if s == "silent" {
		return -1
	}
	return -2
}

type ruleParser struct {
	env *Env
	// ctx is a copy of env.Ctx whose Where is what the rule's expressions and
	// condition may fetch.
	ctx  *sample.Ctx
	args []string
	kw   string
}

// newParser readies the parsing of a rule's arguments (kw names the rule in errors)
// for a rule set that can fetch where.
func newParser(env *Env, where sample.Use, kw string, args []string) *ruleParser {
	ctx := &sample.Ctx{}
	if env.Ctx != nil {
		*ctx = *env.Ctx
	}
	ctx.Where = where
	return &ruleParser{env: env, ctx: ctx, args: args, kw: kw}
}

// variable compiles set-var(NAME) EXPR, set-var-fmt(NAME) FMT and unset-var(NAME)
// into r: name is the action as written, base the action without its parenthesis.
func (p *ruleParser) variable(name, base string, r *Rule) error {
	r.Action = map[string]Action{"set-var": SetVar, "unset-var": UnsetVar, "set-var-fmt": SetVarFmt}[base]
	if !strings.HasSuffix(name, ")") || len(name) <= len(base)+2 || name[len(base)] != '(' {
		return fmt.Errorf("%s: expected %s(<scope>.<name>)", p.kw, base)
	}
	inner := name[len(base)+1 : len(name)-1]
	if i := strings.IndexByte(inner, ','); i >= 0 {
		return fmt.Errorf("%s: the conditions %q of %s() are not supported by tandem yet (write the variable alone, with an if/unless condition)", p.kw, inner[i+1:], base)
	}
	var err error
	if r.VarScope, r.VarName, err = sample.ParseVarName(inner); err != nil {
		return err
	}
	switch r.Action {
	case SetVarFmt:
		r.Fmt, err = p.format("format")
	case SetVar:
		var text string
		if text, err = p.word("sample expression"); err == nil {
			r.Expr, err = sample.ParseExpr(text, p.ctx)
		}
	}
	return err
}

func (p *ruleParser) peek() string {
	if len(p.args) == 0 {
		return ""
	}
	return p.args[0]
}

// word takes the next argument, which must not be a condition keyword.
func (p *ruleParser) word(what string) (string, error) {
	if len(p.args) == 0 || p.args[0] == "if" || p.args[0] == "unless" {
		return "", fmt.Errorf("%s: missing %s", p.kw, what)
	}
	w := p.args[0]
	p.args = p.args[1:]
	return w, nil
}

// value takes a keyword (already peeked) and its argument.
func (p *ruleParser) value(key string) (string, error) {
	p.args = p.args[1:]
	if len(p.args) == 0 {
		return "", fmt.Errorf("%s: %q expects an argument", p.kw, key)
	}
	w := p.args[0]
	p.args = p.args[1:]
	return w, nil
}

func (p *ruleParser) format(what string) (*sample.LogFormat, error) {
	w, err := p.word(what)
	if err != nil {
		return nil, err
	}
	f, err := sample.ParseLogFormat(w, p.ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.kw, err)
	}
	return f, nil
}

func (p *ruleParser) regex(w string) (*regexp.Regexp, error) {
	re, err := sample.CompileRegexp(w, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.kw, err)
	}
	return re, nil
}

func (p *ruleParser) replace() (*regexp.Regexp, *sample.LogFormat, error) {
	w, err := p.word("match regex")
	if err != nil {
		return nil, nil, err
	}
	re, err := p.regex(w)
	if err != nil {
		return nil, nil, err
	}
	f, err := p.format("replacement format")
	return re, f, err
}

func (p *ruleParser) nameMatch(name string) (NameMatch, *regexp.Regexp, error) {
	m, err := p.value("-m")
	if err != nil {
		return 0, nil, err
	}
	switch m {
	case "str":
		return MatchStr, nil, nil
	case "beg":
		return MatchBeg, nil, nil
	case "end":
		return MatchEnd, nil, nil
	case "sub":
		return MatchSub, nil, nil
	case "reg":
		re, err := p.regex(name)
		return MatchReg, re, err
	}
	return 0, nil, fmt.Errorf("%s: -m %q: expected str, beg, end, sub or reg", p.kw, m)
}

func (p *ruleParser) cond() (*sample.Cond, error) {
	if len(p.args) == 0 {
		return nil, nil
	}
	if p.args[0] != "if" && p.args[0] != "unless" {
		return nil, fmt.Errorf("%s: unexpected argument %q (expected \"if\" or \"unless\" and a condition)", p.kw, p.args[0])
	}
	if p.env.Cond == nil {
		return nil, fmt.Errorf("%s: conditions are not available here", p.kw)
	}
	c, err := p.env.Cond(p.args, p.ctx.Where)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.kw, err)
	}
	return c, nil
}

func (p *ruleParser) readFile(name string) ([]byte, error) {
	if p.env.ReadFile == nil {
		return nil, fmt.Errorf("%s: cannot read %q here", p.kw, name)
	}
	b, err := p.env.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("%s: error opening file %q: %v", p.kw, name, err)
	}
	return b, nil
}

// reply reads the arguments of deny, tarpit and return.
func (p *ruleParser) reply(status int, deny bool) (*Reply, error) {
	r := &Reply{Kind: ReplyEmpty, Status: status}
	onlyDenyStatus := true // deny [deny_status N] implies default-errorfiles
	body := ""
	for n := 0; len(p.args) > 0 && p.args[0] != "if" && p.args[0] != "unless"; n++ {
		key, first := p.args[0], n == 0
		switch key {
		case "status", "deny_status":
			if key == "deny_status" && (!deny || !first) {
				// HAProxy takes deny_status only as a deny's or tarpit's first argument
				return nil, fmt.Errorf("%s: unexpected argument %q (deny_status comes first; or write status N anywhere)", p.kw, key)
			}
			if key == "status" {
				onlyDenyStatus = false
			}
			v, err := p.value(key)
			if err != nil {
				return nil, err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 200 || n > 599 {
				return nil, fmt.Errorf("%s: unexpected status code %q (200..599)", p.kw, v)
			}
			r.Status = n
			continue
		case "content-type":
			v, err := p.value(key)
			if err != nil {
				return nil, err
			}
			r.ContentType = v
		case "hdr":
			p.args = p.args[1:]
			if len(p.args) < 2 {
				return nil, fmt.Errorf("%s: \"hdr\" expects a name and a value", p.kw)
			}
			f, err := sample.ParseLogFormat(p.args[1], p.ctx)
			if err != nil {
				return nil, fmt.Errorf("%s: hdr %s: %w", p.kw, p.args[0], err)
			}
			r.Headers = append(r.Headers, ReplyHeader{Name: p.args[0], Value: f})
			p.args = p.args[2:]
		case "default-errorfiles":
			if body != "" {
				return nil, fmt.Errorf("%s: %q and %q: only one payload", p.kw, body, key)
			}
			body, r.Kind = key, ReplyDefault
			p.args = p.args[1:]
		case "errorfile", "errorfiles", "file", "lf-file", "string", "lf-string":
			if body != "" {
				return nil, fmt.Errorf("%s: %q and %q: only one payload", p.kw, body, key)
			}
			body = key
			v, err := p.value(key)
			if err != nil {
				return nil, err
			}
			switch key {
			case "errorfile":
				b, err := p.readFile(v)
				if err != nil {
					return nil, err
				}
				r.Kind, r.Raw = ReplyRaw, b
			case "errorfiles":
				r.Kind, r.Errorfiles = ReplyRaw, v
			case "file":
				b, err := p.readFile(v)
				if err != nil {
					return nil, err
				}
				r.Kind, r.Body = ReplyBody, b
			case "lf-file":
				b, err := p.readFile(v)
				if err != nil {
					return nil, err
				}
				if r.LF, err = sample.ParseLogFormat(string(b), p.ctx); err != nil {
					return nil, fmt.Errorf("%s: lf-file %s: %w", p.kw, v, err)
				}
				r.Kind = ReplyLF
			case "string":
				r.Kind, r.Body = ReplyBody, []byte(v)
			case "lf-string":
				if r.LF, err = sample.ParseLogFormat(v, p.ctx); err != nil {
					return nil, fmt.Errorf("%s: lf-string: %w", p.kw, err)
				}
				r.Kind = ReplyLF
			}
		default:
			return nil, fmt.Errorf("%s: unknown argument %q (expected status, content-type, default-errorfiles, errorfile, errorfiles, file, lf-file, string, lf-string or hdr)", p.kw, key)
		}
		onlyDenyStatus = false
	}
	if deny && onlyDenyStatus {
		r.Kind = ReplyDefault
	}
	switch r.Kind {
	case ReplyDefault, ReplyRaw:
		if !handledStatus[r.Status] {
			return nil, fmt.Errorf("%s: status code '%d' not handled by default with '%s' argument (HAProxy has error pages for 200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 425, 429 and 500-504)", p.kw, r.Status, orDefault(body, "default-errorfiles"))
		}
		r.ContentType, r.Headers = "", nil // ignored with an error file, as HAProxy does
	case ReplyEmpty:
		r.ContentType = ""
	case ReplyBody, ReplyLF:
		empty := r.Kind == ReplyBody && len(r.Body) == 0
		if r.ContentType == "" && !empty {
			return nil, fmt.Errorf("%s: a content type must be defined when non-empty payload is configured (add content-type <type>)", p.kw)
		}
		if empty {
			r.ContentType = ""
		}
	}
	return r, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// redirect reads a redirect's arguments, in any order as HAProxy takes them.
func (p *ruleParser) redirect(lf bool) (*RedirectSpec, error) {
	s := &RedirectSpec{Code: 302}
	typ := ""
	for len(p.args) > 0 && p.args[0] != "if" && p.args[0] != "unless" {
		key := p.args[0]
		switch key {
		case "location", "prefix", "scheme":
			if typ != "" {
				return nil, fmt.Errorf("%s: %q and %q: only one redirect type", p.kw, typ, key)
			}
			typ = key
			v, err := p.value(key)
			if err != nil {
				return nil, err
			}
			s.Kind = map[string]RedirectKind{"location": RedirLocation, "prefix": RedirPrefix, "scheme": RedirScheme}[key]
			if !lf {
				s.Literal = v // the legacy keyword takes its value as written
				break
			}
			if s.Value, err = sample.ParseLogFormat(v, p.ctx); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", p.kw, key, err)
			}
		case "code":
			v, err := p.value(key)
			if err != nil {
				return nil, err
			}
			n, _ := strconv.Atoi(v)
			switch n {
			case 301, 302, 303, 307, 308:
				s.Code = n
			default:
				return nil, fmt.Errorf("%s: code %q: only 301, 302, 303, 307 and 308 are supported", p.kw, v)
			}
		case "drop-query":
			s.DropQuery = true
			p.args = p.args[1:]
		case "append-slash":
			s.AppendSlash = true
			p.args = p.args[1:]
		case "ignore-empty":
			s.IgnoreEmpty = true
			p.args = p.args[1:]
		case "set-cookie", "clear-cookie":
			v, err := p.value(key)
			if err != nil {
				return nil, err
			}
			if key == "set-cookie" {
				s.SetCookie = v
			} else {
				s.ClearCookie = v
			}
		default:
			return nil, fmt.Errorf("%s: unknown argument %q (expected location, prefix, scheme, code, drop-query, append-slash, ignore-empty, set-cookie or clear-cookie)", p.kw, key)
		}
	}
	if typ == "" {
		return nil, fmt.Errorf("%s: expects 'location', 'prefix' or 'scheme' followed by a value", p.kw)
	}
	return s, nil
}
