package sample

import (
	"errors"
	"fmt"
	"strings"
)

// Use is a set of places where a fetch can run: what a rule set has at hand.
type Use uint16

// Places (HAProxy's "layer" of a fetch).
const (
	UseConn       Use = 1 << iota // the connection: tcp-request connection and later
	UseContent                    // request bytes: tcp-request content and later
	UseHTTPReq                    // a parsed HTTP request: http-request, use_backend in HTTP mode
	UseHTTPRes                    // a parsed HTTP response: http-response, http-after-response
	UseResContent                 // response bytes: tcp-response content

	// UseAny is everything: for fetches that need nothing.
	UseAny = UseConn | UseContent | UseHTTPReq | UseHTTPRes
)

// Where lists what a rule set of each kind can fetch; Ctx.Where takes one of these.
const (
	WhereTCPConnection = UseConn
	WhereTCPContent    = UseConn | UseContent
	WhereHTTPRequest   = UseConn | UseContent | UseHTTPReq
	WhereHTTPResponse  = UseConn | UseContent | UseHTTPReq | UseHTTPRes
	WhereTCPResponse   = UseConn | UseResContent
	// WhereAll is every place: what an acl line may fetch (its uses are checked).
	WhereAll = WhereHTTPResponse | UseResContent
)

// Ctx is what parsing needs besides the words: where the expression will run and how
// to reach pattern and map files.
type Ctx struct {
	// Where is what the rule set that will evaluate the expression can fetch
	// (WhereHTTPRequest, …). 0 means WhereHTTPResponse: everything.
	Where Use
	// Store holds the pattern and map files; nil refuses -f and map().
	Store *Store
	// ReadFile reads a pattern or map file the first time the Store sees its name.
	ReadFile func(name string) ([]byte, error)
	// Userlist finds a userlist section for http_auth() and http_auth_group(); nil
	// refuses them.
	Userlist func(name string) (Users, error)
	// Proxy is the section the rule is written in: the default stick table of
	// stick-counter fetches (src_*, sc_*(N,TABLE) without a table).
	Proxy string
	// UseTable, when set, is told every stick table a fetch or converter names, so that
	// the configuration can check they exist once every section is read.
	UseTable func(name string)
}

func (c *Ctx) where() Use {
	if c == nil || c.Where == 0 {
		return WhereHTTPResponse
	}
	return c.Where
}

// Expr is a compiled sample expression: a fetch and its converters.
type Expr struct {
	text  string
	f     *fetchDef
	args  []arg
	convs []convCall
	out   Type
}

type convCall struct {
	c    *convDef
	args []arg
}

// String returns the expression as written.
func (e *Expr) String() string { return e.text }

// Type is the type of the expression's output.
func (e *Expr) Type() Type { return e.out }

// Eval evaluates e over t. ok is false when the fetch finds nothing (no such header,
// no request in this phase, …) or a converter fails. The Value stays valid until the
// next evaluation on t.
func (e *Expr) Eval(t Txn) (Value, bool) {
	st := t.State()
	st.scratch = st.scratch[:0]
	return e.eval(t, st)
}

// eval evaluates without resetting the scratch space (nested evaluations).
func (e *Expr) eval(t Txn, st *State) (Value, bool) {
	st.cur = cursor{}
	v, ok := e.f.fn(t, e.args, &st.cur)
	if !ok {
		return Value{}, false
	}
	return e.convert(t, st, v)
}

func (e *Expr) convert(t Txn, st *State, v Value) (Value, bool) {
	for i := range e.convs {
		c := &e.convs[i]
		var ok bool
		if v, ok = cast(st, v, c.c.in); !ok {
			return Value{}, false
		}
		if v, ok = c.c.fn(t, st, c.args, v); !ok {
			return Value{}, false
		}
	}
	return v, true
}

// cursor walks the values of a fetch that has several (every occurrence of a
// header): an ACL matches any of them. all is set by the caller for ACLs; the fetch
// sets more when it may have another value.
type cursor struct {
	all  bool
	more bool
	i    int // header index
	off  int // offset in the current header value (comma-separated lists)
}

// ParseExpr compiles a sample expression such as `req.hdr(host),lower,map(hosts.map)`.
func ParseExpr(text string, ctx *Ctx) (*Expr, error) {
	e, rest, err := parseExpr(text, ctx, false)
	if err != nil {
		return nil, err
	}
	if rest != "" {
		return nil, fmt.Errorf("sample expression %q: unexpected %q after the expression", text, rest)
	}
	return e, nil
}

// parseExpr parses one expression at the start of text and returns what follows a
// closing ']' or nothing: the expression ends at a ']' at depth 0 or at the end.
func parseExpr(text string, ctx *Ctx, acl bool) (*Expr, string, error) {
	name, args, rest, err := splitCall(text)
	if err != nil {
		return nil, "", fmt.Errorf("sample expression %q: %w", text, err)
	}
	f, err := lookupFetch(name, ctx, acl)
	if err != nil {
		return nil, "", err
	}
	e := &Expr{f: f, out: f.out}
	if e.args, err = parseArgs(name, f.args, f.minArgs, args, ctx); err != nil {
		return nil, "", err
	}
	if f.compile != nil {
		if err := f.compile(args, e.args, ctx); err != nil {
			return nil, "", fmt.Errorf("fetch %q: %w", name, err)
		}
	}
	for rest != "" && rest[0] == ',' {
		var cname string
		var cargs []string
		cname, cargs, rest, err = splitCall(rest[1:])
		if err != nil {
			return nil, "", fmt.Errorf("sample expression %q: %w", text, err)
		}
		c := convs[cname]
		if c == nil {
			return nil, "", fmt.Errorf("unknown converter %q in %q", cname, text)
		}
		if !castable(e.out, c.in) {
			return nil, "", fmt.Errorf("converter %q takes %s input, but %q gives %s", cname, c.in, text[:len(text)-len(rest)], e.out)
		}
		cc := convCall{c: c}
		if cc.args, err = parseArgs(cname, c.args, c.minArgs, cargs, ctx); err != nil {
			return nil, "", err
		}
		if c.compile != nil {
			if err := c.compile(cargs, cc.args, ctx); err != nil {
				return nil, "", fmt.Errorf("converter %q: %w", cname, err)
			}
		}
		e.out = c.out
		e.convs = append(e.convs, cc)
	}
	e.text = text[:len(text)-len(rest)]
	return e, rest, nil
}

var errEmpty = errors.New("missing fetch name")

// splitCall splits `name(a,b),rest` into name, its raw arguments and what follows
// (starting at the ',' or ']' after the call, or ""). Arguments may be quoted with
// ' or " and may escape a character with '\'.
func splitCall(s string) (name string, args []string, rest string, err error) {
	i := 0
	for i < len(s) && s[i] != '(' && s[i] != ',' && s[i] != ']' && s[i] != ' ' {
		i++
	}
	name = s[:i]
	if name == "" {
		return "", nil, "", errEmpty
	}
	if i == len(s) || s[i] != '(' {
		if i < len(s) && s[i] == ' ' {
			return "", nil, "", fmt.Errorf("unexpected space after %q", name)
		}
		return name, nil, s[i:], nil
	}
	i++
	var b strings.Builder
	for {
		if i >= len(s) {
			return "", nil, "", fmt.Errorf("missing ')' after the arguments of %q", name)
		}
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) {
				b.WriteByte(s[i+1])
				i += 2
				continue
			}
			return "", nil, "", fmt.Errorf("a '\\' ends the arguments of %q", name)
		case '\'', '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return "", nil, "", fmt.Errorf("unterminated quote in the arguments of %q", name)
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 2
			continue
		case ',':
			args = append(args, b.String())
			b.Reset()
			i++
			continue
		case ')':
			args = append(args, b.String())
			if len(args) == 1 && args[0] == "" {
				args = nil
			}
			return name, args, s[i+1:], nil
		}
		b.WriteByte(c)
		i++
	}
}
