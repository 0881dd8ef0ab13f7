package sample

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// argKind is what a fetch or converter argument is.
type argKind uint8

const (
	aStr     argKind = iota
	aInt             // a decimal integer
	aHdrName         // a header name: kept lower-case
	aReg             // a regular expression (RE2)
	aVar             // a variable: scope.name
	aIPMask          // an IPv4 mask: a.b.c.d or a prefix length
	aIP6Mask         // an IPv6 prefix length
	aSample          // a sample expression or a string (concat)
)

// arg is one compiled argument.
type arg struct {
	s     string
	i     int64
	set   bool
	re    *regexp.Regexp
	scope Scope
	m     *view // a map's compiled lookup (map converters)
	def   *Value
	ext   any // what a registered fetch or converter compiled
}

func parseArgs(name string, kinds []argKind, min int, raw []string, ctx *Ctx) ([]arg, error) {
	if len(raw) < min {
		if min == 1 {
			return nil, fmt.Errorf("%q: missing argument", name)
		}
		return nil, fmt.Errorf("%q: needs %d arguments, got %d", name, min, len(raw))
	}
	if len(raw) > len(kinds) {
		return nil, fmt.Errorf("%q: takes at most %d arguments, got %d", name, len(kinds), len(raw))
	}
	out := make([]arg, len(kinds))
	for i, r := range raw {
		a := &out[i]
		a.s, a.set = r, true
		switch kinds[i] {
		case aInt:
			n, err := strconv.ParseInt(r, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%q: argument %d: %q is not an integer", name, i+1, r)
			}
			a.i = n
		case aHdrName:
			a.s = strings.ToLower(r)
		case aReg:
			re, err := CompileRegexp(r, false)
			if err != nil {
				return nil, fmt.Errorf("%q: %w", name, err)
			}
			a.re = re
		case aVar:
			sc, n, err := ParseVarName(r)
			if err != nil {
				return nil, fmt.Errorf("%q: %w", name, err)
			}
			a.scope, a.s = sc, n
		case aIPMask:
			if n, err := strconv.Atoi(r); err == nil {
				if n < 0 || n > 32 {
					return nil, fmt.Errorf("%q: mask %q out of 0..32", name, r)
				}
				a.i = int64(n)
			} else if ip, err := netip.ParseAddr(r); err == nil && ip.Is4() {
				b := ip.As4()
				m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
				ones := 0
				for ones < 32 && m&(1<<(31-ones)) != 0 {
					ones++
				}
				if ones < 32 && m<<ones != 0 {
					return nil, fmt.Errorf("%q: %q is not a contiguous netmask", name, r)
				}
				a.i = int64(ones)
			} else {
				return nil, fmt.Errorf("%q: %q is not a netmask", name, r)
			}
		case aIP6Mask:
			n, err := strconv.Atoi(r)
			if err != nil || n < 0 || n > 128 {
				return nil, fmt.Errorf("%q: IPv6 mask %q out of 0..128", name, r)
			}
			a.i = int64(n)
		}
	}
	return out, nil
}

// CompileRegexp compiles an HAProxy regular expression with Go's RE2, which has no
// backreferences nor lookaround (and so no catastrophic backtracking either): the
// error of a pattern that uses them says so.
func CompileRegexp(p string, icase bool) (*regexp.Regexp, error) {
	q := p
	if icase {
		q = "(?i)" + p
	}
	re, err := regexp.Compile(q)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
		hint := ""
		if strings.Contains(p, "(?=") || strings.Contains(p, "(?!") || strings.Contains(p, "(?<") || hasBackref(p) {
			hint = " (tandem uses Go's RE2 syntax: no backreferences, no lookahead or lookbehind)"
		}
		return nil, fmt.Errorf("regular expression %q: %s%s", p, msg, hint)
	}
	return re, nil
}

func hasBackref(p string) bool {
	for i := 0; i+1 < len(p); i++ {
		if p[i] == '\\' {
			if c := p[i+1]; c >= '1' && c <= '9' {
				return true
			}
			i++
		}
	}
	return false
}

// ParseVarName splits a variable reference "txn.name" (var(), set-var, unset-var) into
// its scope and name.
func ParseVarName(s string) (Scope, string, error) {
	i := strings.IndexByte(s, '.')
	if i < 0 {
		return 0, "", fmt.Errorf("variable %q: missing scope (proc., sess., txn., req., res. or check.)", s)
	}
	for sc, n := range scopeNames {
		if s[:i] == n {
			name := s[i+1:]
			if name == "" {
				return 0, "", fmt.Errorf("variable %q: missing name", s)
			}
			for _, c := range name {
				if !(c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
					return 0, "", fmt.Errorf("variable %q: invalid character %q in the name", s, c)
				}
			}
			if Scope(sc) == ScopeProc || Scope(sc) == ScopeCheck {
				return 0, "", fmt.Errorf("variable %q: %s. variables are not supported by tandem yet (use txn. or sess.)", s, n)
			}
			return Scope(sc), name, nil
		}
	}
	return 0, "", fmt.Errorf("variable %q: unknown scope %q (proc, sess, txn, req, res or check)", s, s[:i])
}
