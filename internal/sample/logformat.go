package sample

import (
	"fmt"
	"strings"
)

// LogFormat is a compiled log-format string of literal text and `%[expr]` samples,
// as header values, `return` bodies (lf-string) and redirect locations take them.
// The classic log variables (%ci, %ST, …) belong to internal/logging and are refused
// here.
type LogFormat struct {
	text  string
	parts []lfPart
}

type lfPart struct {
	lit   string
	e     *Expr
	quote bool // %{+Q}: the sample is written between double quotes
}

// ParseLogFormat compiles s: `%%` is a '%', `%[expr]` and `%{+Q}[expr]` are samples.
func ParseLogFormat(s string, ctx *Ctx) (*LogFormat, error) {
	f := &LogFormat{text: s}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.parts = append(f.parts, lfPart{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			lit.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return nil, fmt.Errorf("log-format %q: '%%' at the end (write %%%% for a '%%')", s)
		}
		j := i + 1
		quote := false
		if s[j] == '{' {
			k := strings.IndexByte(s[j:], '}')
			if k < 0 {
				return nil, fmt.Errorf("log-format %q: missing '}' after '%%{'", s)
			}
			for _, fl := range strings.Split(s[j+1:j+k], ",") {
				switch fl {
				case "+Q":
					quote = true
				case "-Q", "":
				default:
					return nil, fmt.Errorf("log-format %q: flag %q is not supported by tandem (only +Q)", s, fl)
				}
			}
			j += k + 1
			if j >= len(s) || s[j] != '[' {
				return nil, fmt.Errorf("log-format %q: tandem supports flags only before a sample %%{…}[expr]", s)
			}
		}
		switch s[j] {
		case '%':
			lit.WriteByte('%')
			i = j
		case '[':
			e, rest, err := parseExpr(s[j+1:], ctx, false)
			if err != nil {
				return nil, fmt.Errorf("log-format %q: %w", s, err)
			}
			if rest == "" || rest[0] != ']' {
				return nil, fmt.Errorf("log-format %q: missing ']' after %q", s, e.text)
			}
			flush()
			f.parts = append(f.parts, lfPart{e: e, quote: quote})
			i = len(s) - len(rest)
		default:
			k := j
			for k < len(s) && (s[k] >= 'a' && s[k] <= 'z' || s[k] >= 'A' && s[k] <= 'Z') {
				k++
			}
			return nil, fmt.Errorf("log-format %q: the log variable %%%s is not supported here by tandem yet (use a sample %%[fetch], or %%%% for a '%%')", s, s[j:k])
		}
	}
	flush()
	return f, nil
}

// String returns the format as written.
func (f *LogFormat) String() string { return f.text }

// Const returns the text when the format has no sample (so callers can skip it).
func (f *LogFormat) Const() (string, bool) {
	if len(f.parts) == 0 {
		return "", true
	}
	if len(f.parts) == 1 && f.parts[0].e == nil {
		return f.parts[0].lit, true
	}
	return "", false
}

// Append appends the format evaluated over t to dst. A sample that is not found
// writes nothing, as HAProxy does outside log lines (a log line writes "-").
func (f *LogFormat) Append(dst []byte, t Txn) []byte {
	for i := range f.parts {
		p := &f.parts[i]
		if p.e == nil {
			dst = append(dst, p.lit...)
			continue
		}
		v, ok := p.e.Eval(t)
		if p.quote {
			dst = append(dst, '"')
		}
		if ok {
			dst = v.AppendText(dst)
		}
		if p.quote {
			dst = append(dst, '"')
		}
	}
	return dst
}
