package sample

import (
	"fmt"
	"strings"
)

// ACL is one compiled `acl NAME FETCH[,conv…] [flags] [op] VALUE…` line: a sample
// expression and the pattern lists it is matched against.
type ACL struct {
	Name  string
	expr  *Expr
	kind  matchKind
	views []*view // inline patterns and -f files; any match
	// exact: for a method sample with -i, the same lists without -i: HAProxy
	// compares the methods it knows (GET, POST…) exactly, -i only applies to others.
	exact []*view
	Lists []*List // the lists behind views, for the runtime API
}

// ParseACL compiles the words after the `acl` keyword: NAME FETCH[,conv…] [flags]
// [operator] [VALUE…]. Flags: -i, -f FILE, -m METHOD, -n, -M, -u ID, --.
func ParseACL(words []string, ctx *Ctx) (*ACL, error) {
	if len(words) == 0 {
		return nil, fmt.Errorf("acl: missing name")
	}
	name := words[0]
	if err := checkACLName(name); err != nil {
		return nil, err
	}
	if len(words) < 2 {
		return nil, fmt.Errorf("acl %q: missing fetch method", name)
	}
	a, err := compileACL(words[1:], ctx)
	if err != nil {
		return nil, fmt.Errorf("acl %q: %w", name, err)
	}
	a.Name = name
	return a, nil
}

func checkACLName(name string) error {
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return fmt.Errorf("acl %q: invalid character %q in the name (letters, digits, '-', '_', '.' and ':' only)", name, c)
		}
	}
	if name == "" {
		return fmt.Errorf("acl: empty name")
	}
	return nil
}

// compileACL compiles FETCH [flags] [op] VALUE… (an anonymous ACL's words too).
func compileACL(words []string, ctx *Ctx) (*ACL, error) {
	e, rest, err := parseExpr(words[0], ctx, true)
	if err != nil {
		return nil, err
	}
	if rest != "" {
		return nil, fmt.Errorf("sample expression %q: unexpected %q", words[0], rest)
	}
	a := &ACL{expr: e, kind: e.f.match}
	if len(e.convs) > 0 {
		a.kind = defaultMatch(e.out)
	}
	var files []string
	icase, explicit := false, false
	i := 1
flags:
	for ; i < len(words); i++ {
		w := words[i]
		switch w {
		case "-i":
			icase = true
		case "-n":
			// no DNS resolution: tandem never resolves patterns
		case "--":
			i++
			break flags
		case "-f", "-m", "-M", "-u":
			if i+1 >= len(words) {
				return nil, fmt.Errorf("flag %q: missing argument", w)
			}
			i++
			switch w {
			case "-f":
				files = append(files, words[i])
			case "-m":
				k, ok := matchNames[words[i]]
				if !ok {
					return nil, fmt.Errorf("-m %q: unknown match method (found, bool, int, ip, bin, len, str, beg, sub, dom, dir, end, reg)", words[i])
				}
				a.kind, explicit = k, true
			case "-M":
				return nil, fmt.Errorf("-M (pattern files read as maps) is not supported by tandem yet")
			case "-u":
				return nil, fmt.Errorf("-u (a unique id for the pattern list) is not supported by tandem yet")
			}
		default:
			break flags
		}
	}
	_ = explicit
	pats := words[i:]
	if err := checkKind(a.kind, e); err != nil {
		return nil, err
	}
	// Integer operators apply to the values that follow them.
	if a.kind == mInt || a.kind == mLen {
		pats, err = intOperators(pats)
		if err != nil {
			return nil, err
		}
	}
	if (a.kind == mFound || a.kind == mBool) && (len(pats) > 0 || len(files) > 0) {
		return nil, fmt.Errorf("-m %s takes no pattern", a.kind)
	}
	store := ctx.store()
	// As HAProxy, the -f files first, then the ACL's own list (even empty): their
	// numbers are the ids `show acl` prints.
	for _, f := range files {
		l, err := store.file(f, false, ctx.readFile())
		if err != nil {
			return nil, err
		}
		v, err := l.view(a.kind, icase, false, TStr)
		if err != nil {
			return nil, fmt.Errorf("pattern file %q: %w", f, err)
		}
		a.views = append(a.views, v)
		a.Lists = append(a.Lists, l)
	}
	l := store.inline(pats)
	a.Lists = append(a.Lists, l)
	if a.kind == mFound || a.kind == mBool {
		l.mu.Lock()
		l.marks = append(l.marks, a.kind)
		l.mu.Unlock()
		return a, nil
	}
	v, err := l.view(a.kind, icase, false, TStr)
	if err != nil {
		return nil, err
	}
	a.views = append(a.views, v)
	if icase && e.out == TMeth && a.kind == mStr && len(e.convs) == 0 {
		for _, l := range a.Lists {
			v, err := l.view(a.kind, false, false, TStr)
			if err != nil {
				return nil, err
			}
			a.exact = append(a.exact, v)
		}
	}
	return a, nil
}

func (c *Ctx) store() *Store {
	if c == nil || c.Store == nil {
		return NewStore() // private: nobody can change it at run time
	}
	return c.Store
}

func (c *Ctx) readFile() func(string) ([]byte, error) {
	if c == nil {
		return nil
	}
	return c.ReadFile
}

// checkKind refuses a match method that cannot read the fetch's output.
func checkKind(k matchKind, e *Expr) error {
	switch k {
	case mBool:
		if e.out != TBool && e.out != TInt && e.out != TAny {
			return fmt.Errorf("-m bool needs a boolean or integer sample, %q gives %s", e.text, e.out)
		}
	case mIP:
		if e.out == TBool || e.out == TMeth {
			return fmt.Errorf("-m ip cannot read %s sample %q", e.out, e.text)
		}
	}
	return nil
}

// intOperators turns `eq|ge|gt|le|lt N` into ranges.
func intOperators(pats []string) ([]string, error) {
	out := make([]string, 0, len(pats))
	op := ""
	for _, p := range pats {
		switch p {
		case "eq", "ge", "gt", "le", "lt":
			op = p
			continue
		}
		if op == "" || op == "eq" {
			out = append(out, p)
			continue
		}
		r, err := parseIntPattern(p)
		if err != nil || r.lo != r.hi {
			return nil, fmt.Errorf("operator %q needs an integer, got %q", op, p)
		}
		n := r.lo
		switch op {
		case "ge":
			out = append(out, fmt.Sprintf("%d:", n))
		case "gt":
			out = append(out, fmt.Sprintf("%d:", n+1))
		case "le":
			out = append(out, fmt.Sprintf(":%d", n))
		case "lt":
			out = append(out, fmt.Sprintf(":%d", n-1))
		}
	}
	if op != "" && len(out) == 0 {
		return nil, fmt.Errorf("operator %q: missing value", op)
	}
	return out, nil
}

// Match reports whether a value of the ACL's fetch matches a pattern.
func (a *ACL) Match(t Txn) bool {
	st := t.State()
	st.scratch = st.scratch[:0]
	return a.match(t, st)
}

func (a *ACL) match(t Txn, st *State) bool {
	e := a.expr
	cur := &st.cur
	*cur = cursor{all: true}
	for n := 0; n < 1<<16; n++ {
		mark := len(st.scratch)
		v, ok := e.f.fn(t, e.args, cur)
		if ok {
			if v, ok = e.convert(t, st, v); ok && a.matchValue(st, v) {
				return true
			}
		}
		st.scratch = st.scratch[:mark]
		if !cur.more {
			return false
		}
	}
	return false
}

func (a *ACL) matchValue(st *State, v Value) bool {
	switch a.kind {
	case mFound:
		return true
	case mBool:
		x, ok := cast(st, v, TInt)
		return ok && x.I != 0
	}
	var want Type
	switch a.kind {
	case mInt:
		want = TInt
	case mIP:
		want = TIPv4
	case mBin:
		want = TBin
	default:
		want = TStr
	}
	x, ok := cast(st, v, want)
	if !ok {
		return false
	}
	views := a.views
	if a.exact != nil && knownMethod(v.B) {
		views = a.exact
	}
	for _, vw := range views {
		if _, ok := vw.set().match(st, x); ok {
			return true
		}
	}
	return false
}

// ACLSet is the ACLs of one proxy, by name: several lines with one name OR together.
type ACLSet struct {
	byName map[string][]*ACL
}

// NewACLSet returns an empty set (the predefined ACLs are always there).
func NewACLSet() *ACLSet { return &ACLSet{byName: map[string][]*ACL{}} }

// Add adds a parsed ACL under its name.
func (s *ACLSet) Add(a *ACL) { s.byName[a.Name] = append(s.byName[a.Name], a) }

// Lookup returns the ACLs named name: the proxy's own, else a predefined one.
func (s *ACLSet) Lookup(name string) []*ACL {
	if s != nil {
		if l := s.byName[name]; l != nil {
			return l
		}
	}
	return predefined(name)
}

// Names returns the names of the set's own ACLs.
func (s *ACLSet) Names() []string {
	var out []string
	for n := range s.byName {
		out = append(out, n)
	}
	return out
}

var predefinedWords = map[string][]string{
	"TRUE":           {"always_true"},
	"FALSE":          {"always_false"},
	"HTTP":           {"req.proto_http"},
	"HTTP_1.0":       {"req.ver", "1.0"},
	"HTTP_1.1":       {"req.ver", "1.1"},
	"HTTP_2.0":       {"req.ver", "2.0"},
	"HTTP_CONTENT":   {"req.hdr_val(content-length)", "gt", "0"},
	"HTTP_URL_ABS":   {"url_reg", "^[^/:]*://"},
	"HTTP_URL_SLASH": {"url_beg", "/"},
	"HTTP_URL_STAR":  {"url", "*"},
	"LOCALHOST":      {"src", "127.0.0.1/8", "::1"},
	"METH_CONNECT":   {"method", "CONNECT"},
	"METH_DELETE":    {"method", "DELETE"},
	"METH_GET":       {"method", "GET", "HEAD"},
	"METH_HEAD":      {"method", "HEAD"},
	"METH_OPTIONS":   {"method", "OPTIONS"},
	"METH_POST":      {"method", "POST"},
	"METH_PUT":       {"method", "PUT"},
	"METH_TRACE":     {"method", "TRACE"},
	"RDP_COOKIE":     {"req.rdp_cookie_cnt", "gt", "0"},
	"REQ_CONTENT":    {"req.len", "gt", "0"},
	"WAIT_END":       {"wait_end"},
}

// predefinedACLs is built by fetch.go's init, once the fetch table exists.
var predefinedACLs map[string][]*ACL

func buildPredefined() map[string][]*ACL {
	m := map[string][]*ACL{}
	for name, w := range predefinedWords {
		a, err := compileACL(w, nil)
		if err != nil {
			panic("predefined acl " + name + ": " + err.Error())
		}
		a.Name = name
		m[name] = []*ACL{a}
	}
	return m
}

func predefined(name string) []*ACL { return predefinedACLs[name] }

// IsPredefined reports whether name is one of HAProxy's predefined ACLs.
func IsPredefined(name string) bool { return predefinedACLs[name] != nil }

// term is one ACL reference in a condition: the named ACLs (any), possibly negated.
type term struct {
	acls []*ACL
	neg  bool
	name string
}

// Cond is a compiled `if|unless` condition: terms AND together inside a group,
// groups (separated by `||`) OR together.
type Cond struct {
	unless bool
	groups [][]term
	text   string
}

// String returns the condition as written.
func (c *Cond) String() string {
	if c == nil {
		return ""
	}
	return c.text
}

// ParseCond compiles a condition: words starts with `if` or `unless`, then ACL
// names, `!NAME`, `||`, and anonymous ACLs `{ FETCH [flags] VALUE… }`.
func ParseCond(words []string, acls *ACLSet, ctx *Ctx) (*Cond, error) {
	if len(words) == 0 {
		return nil, nil
	}
	c := &Cond{text: strings.Join(words, " ")}
	switch words[0] {
	case "if":
	case "unless":
		c.unless = true
	default:
		return nil, fmt.Errorf("expected \"if\" or \"unless\", got %q", words[0])
	}
	words = words[1:]
	if len(words) == 0 {
		return nil, fmt.Errorf("%q: missing condition", c.text)
	}
	var group []term
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "||" || w == "or" {
			if len(group) == 0 {
				return nil, fmt.Errorf("%q: %q with nothing before it", c.text, w)
			}
			c.groups = append(c.groups, group)
			group = nil
			continue
		}
		// '!' negates; it may stand alone ("! name") and repeat ("!!name").
		neg := false
		for {
			for strings.HasPrefix(w, "!") {
				neg = !neg
				w = w[1:]
			}
			if w != "" {
				break
			}
			if i+1 >= len(words) {
				return nil, fmt.Errorf("%q: \"!\" with no ACL after it", c.text)
			}
			i++
			w = words[i]
		}
		if w == "{" || strings.HasPrefix(w, "{") {
			if w != "{" {
				return nil, fmt.Errorf("%q: an anonymous ACL needs a space after '{'", c.text)
			}
			j := i + 1
			for j < len(words) && words[j] != "}" {
				j++
			}
			if j == len(words) {
				return nil, fmt.Errorf("%q: missing '}' after an anonymous ACL", c.text)
			}
			if j == i+1 {
				return nil, fmt.Errorf("%q: empty anonymous ACL", c.text)
			}
			a, err := compileACL(words[i+1:j], ctx)
			if err != nil {
				return nil, fmt.Errorf("anonymous acl: %w", err)
			}
			a.Name = "{ " + strings.Join(words[i+1:j], " ") + " }"
			group = append(group, term{acls: []*ACL{a}, neg: neg, name: a.Name})
			i = j
			continue
		}
		if w == "}" {
			return nil, fmt.Errorf("%q: '}' without '{'", c.text)
		}
		l := acls.Lookup(w)
		if l == nil {
			return nil, fmt.Errorf("no such ACL : %q", w)
		}
		for _, a := range l {
			if u := a.expr.f.use; u&ctx.where() == 0 {
				return nil, fmt.Errorf("acl %q uses %q, which needs %s: not available here", w, a.expr.f.name, useName(u))
			}
		}
		group = append(group, term{acls: l, neg: neg, name: w})
	}
	if len(group) == 0 {
		return nil, fmt.Errorf("%q: condition ends with \"||\"", c.text)
	}
	c.groups = append(c.groups, group)
	return c, nil
}

// Match evaluates the condition over t. A nil Cond (no condition) is true.
func (c *Cond) Match(t Txn) bool {
	m, _ := c.eval(t, false)
	return m
}

// knownMethod reports whether m is one of the methods HAProxy identifies (its
// HTTP_METH_* list); they match their exact spelling only.
func knownMethod(m []byte) bool {
	switch string(m) {
	case "OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT":
		return true
	}
	return false
}

// lowest is the first place a fetch can run: what a rule using it needs.
func (f *fetchDef) lowest() Use { return f.use & -f.use }

// Needs returns what the condition's fetches need, one bit per kind of fetch used
// (UseConn for src, UseHTTPReq for path…): a mode tcp rule that needs more than
// UseConn cannot be carried out on a connection alone. A nil Cond needs nothing.
func (c *Cond) Needs() Use {
	if c == nil {
		return 0
	}
	var u Use
	for _, g := range c.groups {
		for _, t := range g {
			for _, a := range t.acls {
				u |= a.expr.f.lowest()
			}
		}
	}
	return u
}

// Needs returns what the expression's fetch needs (see Cond.Needs).
func (e *Expr) Needs() Use { return e.f.lowest() }

// Needs returns what the format's samples need (see Cond.Needs).
func (f *LogFormat) Needs() Use {
	var u Use
	for _, p := range f.parts {
		if p.e != nil {
			u |= p.e.Needs()
		}
	}
	return u
}

// UseName says in words what a Use needs, for messages.
func UseName(u Use) string {
	switch {
	case u&UseHTTPRes != 0:
		return useName(UseHTTPRes)
	case u&UseHTTPReq != 0:
		return useName(UseHTTPReq)
	case u&UseContent != 0:
		return useName(UseContent)
	case u&UseResContent != 0:
		return useName(UseResContent)
	}
	return useName(UseConn)
}

// Describe records where the ACL was written: the descriptions of its pattern lists
// as HAProxy's `show acl` prints them (see also Store.Describe).
func (a *ACL) Describe(file string, line int) {
	for _, l := range a.Lists {
		l.mu.Lock()
		if l.Desc == "" && l.Name == "" { // files: Store.Describe
			l.Desc = fmt.Sprintf("acl '%s' file '%s' line %d", a.expr.f.name, file, line)
		}
		l.mu.Unlock()
	}
}

// Describe records where the condition was written, for its anonymous ACLs.
func (c *Cond) Describe(file string, line int) {
	if c == nil {
		return
	}
	for _, g := range c.groups {
		for _, t := range g {
			if strings.HasPrefix(t.name, "{") {
				for _, a := range t.acls {
					a.Describe(file, line)
				}
			}
		}
	}
}
