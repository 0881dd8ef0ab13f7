package haproxy

import (
	"fmt"
	"strconv"
	"strings"

	"tandem/internal/config"
)

// stmt is one non-empty configuration line cut into words.
type stmt struct {
	pos   config.Pos
	words []string
	unset []string // environment variables the line names that are not set (they expand to "")
}

// lexer cuts a file into statements the way HAProxy's configuration reader does
// (configuration.txt §2.1–2.3): words are separated by unprotected spaces or tabs,
// an unprotected '#' starts a comment, a backslash escapes the next character,
// double quotes protect spaces and '#' but still expand "$VAR" and "${VAR}",
// single quotes protect everything. Outside double quotes '$' is literal, as in
// HAProxy 2.6.
type lexer struct {
	file    string
	env     func(string) (string, bool)
	errs    *config.ErrorList
	section string // for the ${.SECTION} pseudo-variable

	// per line
	pos     config.Pos
	words   []string
	unset   []string // variables that were not set
	cur     strings.Builder
	started bool // the current word exists, even if empty ("")
}

// sectionWords are the keywords that open a section; they set ${.SECTION}.
var sectionWords = map[string]bool{
	"global": true, "defaults": true, "frontend": true, "backend": true, "listen": true,
	"userlist": true, "peers": true, "mailers": true, "resolvers": true, "program": true,
	"http-errors": true, "ring": true, "cache": true, "fcgi-app": true,
}

func lex(file string, data []byte, env func(string) (string, bool), errs *config.ErrorList) []stmt {
	lx := &lexer{file: file, env: env, errs: errs}
	var out []stmt
	text := string(data)
	for n := 1; len(text) > 0; n++ {
		var ln string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			ln, text = text[:i], text[i+1:]
		} else {
			ln, text = text, ""
		}
		ln = strings.TrimSuffix(ln, "\r")
		words, ok := lx.line(config.Pos{File: file, Line: n}, ln)
		if !ok || len(words) == 0 {
			continue
		}
		if sectionWords[words[0]] {
			lx.section = words[0]
			if len(words) > 1 {
				lx.section = words[1]
			}
		}
		out = append(out, stmt{pos: config.Pos{File: file, Line: n}, words: words, unset: lx.unset})
	}
	return out
}

func (lx *lexer) fail(col int, format string, args ...any) bool {
	lx.errs.Add(lx.pos, "%s at column %d", fmt.Sprintf(format, args...), col+1)
	return false
}

func (lx *lexer) endWord() {
	if lx.started {
		lx.words = append(lx.words, lx.cur.String())
	}
	lx.cur.Reset()
	lx.started = false
}

// line returns the words of one line; ok is false when the line has a syntax error
// (already reported).
func (lx *lexer) line(pos config.Pos, s string) (words []string, ok bool) {
	lx.pos, lx.words, lx.started, lx.unset = pos, nil, false, nil
	lx.cur.Reset()
	const (
		bare = iota
		dquote
		squote
	)
	state, quoteCol := bare, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch state {
		case squote:
			if c == '\'' {
				state = bare
			} else {
				lx.cur.WriteByte(c)
			}
			continue
		case dquote:
			switch c {
			case '"':
				state = bare
			case '\\':
				n, ok := lx.escape(s, i)
				if !ok {
					return nil, false
				}
				i += n
			case '$':
				n, ok := lx.expand(s, i)
				if !ok {
					return nil, false
				}
				i += n
			default:
				lx.cur.WriteByte(c)
			}
			continue
		}
		switch c {
		case ' ', '\t':
			lx.endWord()
		case '#':
			lx.endWord()
			return lx.words, true
		case '"':
			state, quoteCol, lx.started = dquote, i, true
		case '\'':
			state, quoteCol, lx.started = squote, i, true
		case '\\':
			lx.started = true
			n, ok := lx.escape(s, i)
			if !ok {
				return nil, false
			}
			i += n
		default:
			lx.started = true
			lx.cur.WriteByte(c)
		}
	}
	if state != bare {
		return nil, lx.fail(quoteCol, "unmatched quote")
	}
	lx.endWord()
	return lx.words, true
}

// escape handles the backslash at s[i] and returns how many extra bytes it used.
func (lx *lexer) escape(s string, i int) (int, bool) {
	if i+1 >= len(s) {
		lx.cur.WriteByte('\\') // a trailing backslash stays, as HAProxy does
		return 0, true
	}
	switch c := s[i+1]; c {
	case ' ', '\t', '#', '\\', '\'', '"', '$':
		lx.cur.WriteByte(c)
	case 'n':
		lx.cur.WriteByte('\n')
	case 'r':
		lx.cur.WriteByte('\r')
	case 't':
		lx.cur.WriteByte('\t')
	case 'x':
		if i+3 >= len(s) {
			return 0, lx.fail(i, "truncated or invalid hexadecimal sequence")
		}
		v, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
		if err != nil {
			return 0, lx.fail(i, "truncated or invalid hexadecimal sequence")
		}
		lx.cur.WriteByte(byte(v))
		return 3, true
	default:
		lx.cur.WriteByte('\\')
		lx.cur.WriteByte(c)
	}
	return 1, true
}

func isVarStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isVarChar(c byte) bool { return isVarStart(c) || c >= '0' && c <= '9' }

// expand handles "$NAME", "${NAME}", "${NAME-default}" and "${NAME[*]}" at s[i]
// inside double quotes, and returns how many extra bytes it used.
func (lx *lexer) expand(s string, i int) (int, bool) {
	j := i + 1
	braced := j < len(s) && s[j] == '{'
	if braced {
		j++
	}
	start := j
	if j < len(s) && s[j] == '.' && braced { // pseudo-variables: .FILE .LINE .SECTION
		j++
	}
	if j >= len(s) || !isVarStart(s[j]) {
		return 0, lx.fail(j, "forbidden first char in environment variable name")
	}
	for j < len(s) && isVarChar(s[j]) {
		j++
	}
	name := s[start:j]
	var def string
	hasDef, split := false, false
	if braced {
		if j < len(s) && s[j] == '-' {
			k := strings.IndexByte(s[j:], '}')
			if k < 0 {
				return 0, lx.fail(start-1, "unmatched brace in environment variable name")
			}
			def, hasDef = s[j+1:j+k], true
			j += k
		} else if strings.HasPrefix(s[j:], "[*]") {
			split = true
			j += 3
		}
		if j >= len(s) || s[j] != '}' {
			return 0, lx.fail(start-1, "unmatched brace in environment variable name")
		}
		j++
	}
	val, found := lx.lookup(name)
	if !found && hasDef {
		val = def
	} else if !found {
		lx.unset = append(lx.unset, name)
	}
	if !split {
		lx.cur.WriteString(val)
		return j - i - 1, true
	}
	for k, f := range strings.Fields(val) {
		if k > 0 {
			lx.endWord()
			lx.started = true
		}
		lx.cur.WriteString(f)
	}
	return j - i - 1, true
}

func (lx *lexer) lookup(name string) (string, bool) {
	switch name {
	case ".FILE":
		return lx.file, true
	case ".LINE":
		return strconv.Itoa(lx.pos.Line), true
	case ".SECTION":
		return lx.section, true
	}
	return lx.env(name)
}
