package haproxy

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"tandem/internal/config"
)

// This file handles the keywords HAProxy removed (1.x timeouts, the reqxxx/rspxxx
// regex rules and block, removed in 2.1; nbproc, removed in 2.5; an address on a
// listen or frontend line). HAProxy 2.6 refuses them; so does tandem, with the line to
// write instead when one can be derived mechanically (tandem -c --suggest prints it).

// legacyKeyword describes one removed keyword.
type legacyKeyword struct {
	since   string // HAProxy version that removed it
	instead string // what to do instead, in words
}

var legacyKeywords = map[string]legacyKeyword{
	"clitimeout": {"2.1", `use "timeout client"`},
	"contimeout": {"2.1", `use "timeout connect"`},
	"srvtimeout": {"2.1", `use "timeout server"`},
	"redispatch": {"2.1", `use "option redispatch"`},
	"block":      {"2.1", `use "http-request deny", with the same condition`},
	"reqadd":     {"2.1", `use "http-request add-header NAME VALUE"`},
	"rspadd":     {"2.1", `use "http-response add-header NAME VALUE"`},
	"reqdel":     {"2.1", `use "http-request del-header NAME"`},
	"reqidel":    {"2.1", `use "http-request del-header NAME"`},
	"rspdel":     {"2.1", `use "http-response del-header NAME"`},
	"rspidel":    {"2.1", `use "http-response del-header NAME"`},
	"reqrep":     {"2.1", `use "http-request replace-path", "replace-uri" or "replace-header"`},
	"reqirep":    {"2.1", `use "http-request replace-header" (or replace-uri with a case-insensitive regex)`},
	"rsprep":     {"2.1", `use "http-response replace-header"`},
	"rspirep":    {"2.1", `use "http-response replace-header"`},
	"reqdeny":    {"2.1", `use "http-request deny if COND"`},
	"reqideny":   {"2.1", `use "http-request deny if COND"`},
	"reqallow":   {"2.1", `use "http-request allow if COND"`},
	"reqiallow":  {"2.1", `use "http-request allow if COND"`},
	"reqpass":    {"2.1", `delete the line (it only stopped other reqxxx rules)`},
	"reqipass":   {"2.1", `delete the line (it only stopped other reqxxx rules)`},
	"reqtarpit":  {"2.1", `use "http-request tarpit if COND"`},
	"reqitarpit": {"2.1", `use "http-request tarpit if COND"`},
	"reqsetbe":   {"1.5", `use "use_backend NAME if COND"`},
	"reqisetbe":  {"1.5", `use "use_backend NAME if COND"`},
	"rspdeny":    {"2.1", `use "http-response deny if COND"`},
	"rspideny":   {"2.1", `use "http-response deny if COND"`},
	"nbproc":     {"2.5", `delete the line (threads are used; "nbthread" sets how many)`},

	"option http-use-htx": {"", `delete the line (HTX is always on)`},
}

// legacyName returns the removed keyword a statement starts with, if any.
func legacyName(w []string) (string, legacyKeyword, bool) {
	if len(w) > 1 {
		if lk, ok := legacyKeywords[w[0]+" "+w[1]]; ok {
			return w[0] + " " + w[1], lk, true
		}
	}
	lk, ok := legacyKeywords[w[0]]
	return w[0], lk, ok
}

// legacyError reports a removed keyword, with its rewrite when there is one.
func (p *parser) legacyError(st *stmt, name string, lk legacyKeyword) {
	msg := fmt.Sprintf("keyword %q was removed in HAProxy %s (HAProxy 2.6 refuses it too): %s", name, lk.since, lk.instead)
	if lk.since == "" {
		msg = fmt.Sprintf("keyword %q is gone from HAProxy (HAProxy 2.6 refuses it too): %s", name, lk.instead)
	}
	if lines, _ := legacyRewrite(st.words); len(lines) > 0 {
		msg += "; write instead: " + strings.Join(lines, " / ")
	}
	p.errorf(st.pos, "%s", msg)
}

// legacyRewrite returns the lines that replace a statement using a removed keyword and
// true, nil and true when the line is to be deleted, or false when no mechanical rewrite
// exists.
func legacyRewrite(w []string) ([]string, bool) {
	lines := legacyLines(w)
	if lines != nil {
		return lines, true
	}
	switch name, _, _ := legacyName(w); name {
	case "nbproc", "reqpass", "reqipass", "option http-use-htx":
		return nil, true
	}
	return nil, false
}

func legacyLines(w []string) []string {
	cond := func(rest []string) ([]string, bool) { // an optional trailing condition
		if len(rest) == 0 {
			return nil, true
		}
		return rest, rest[0] == "if" || rest[0] == "unless"
	}
	line := func(words ...string) []string {
		q := make([]string, len(words))
		for i, s := range words {
			q[i] = cfgWord(s)
		}
		return []string{strings.Join(q, " ")}
	}
	side := "http-request"
	if strings.HasPrefix(w[0], "rsp") {
		side = "http-response"
	}
	switch w[0] {
	case "clitimeout", "contimeout", "srvtimeout":
		if len(w) == 2 {
			return line("timeout", map[string]string{"clitimeout": "client", "contimeout": "connect", "srvtimeout": "server"}[w[0]], w[1])
		}
	case "redispatch":
		if len(w) == 1 {
			return line("option", "redispatch")
		}
	case "block":
		if c, ok := cond(w[1:]); ok && len(c) > 0 {
			return line(append([]string{"http-request", "deny"}, c...)...)
		}
	case "reqadd", "rspadd":
		if len(w) < 2 {
			return nil
		}
		name, value, found := strings.Cut(w[1], ":")
		c, ok := cond(w[2:])
		if !found || !ok || !validToken(name) {
			return nil
		}
		return line(append([]string{side, "add-header", name, fmtEscape(strings.TrimLeft(value, " \t"))}, c...)...)
	case "reqdel", "reqidel", "rspdel", "rspidel":
		if len(w) < 2 {
			return nil
		}
		c, ok := cond(w[2:])
		m := delHeaderRE.FindStringSubmatch(w[1])
		if !ok || m == nil {
			return nil
		}
		return line(append([]string{side, "del-header", m[1]}, c...)...)
	case "reqrep", "reqirep", "rsprep", "rspirep":
		if len(w) < 3 {
			return nil
		}
		c, ok := cond(w[3:])
		if !ok {
			return nil
		}
		icase := w[0] == "reqirep" || w[0] == "rspirep"
		if r := rewriteHeaderRep(side, w[1], w[2], icase); r != nil {
			return line(append(r, c...)...)
		}
		if side == "http-request" {
			if r := rewriteURIRep(w[1], w[2], icase); r != nil {
				return line(append(r, c...)...)
			}
		}
	case "reqdeny", "reqideny", "reqallow", "reqiallow", "reqtarpit", "reqitarpit", "rspdeny", "rspideny":
		if len(w) != 2 {
			return nil // a condition after the regex would need an "and": left to the user
		}
		m := headerRE.FindStringSubmatch(w[1])
		if m == nil {
			return nil
		}
		action := strings.TrimPrefix(w[0][3:], "i")
		icase := w[0][3] == 'i'
		fetch := "req."
		if side == "http-response" {
			fetch = "res."
		}
		if m[2] == "" || m[2] == ".*" { // the header is present
			return line(side, action, "if", "{", fetch+"hdr_cnt("+m[1]+")", "gt", "0", "}")
		}
		acl := []string{side, action, "if", "{", fetch + "fhdr(" + m[1] + ")", "-m", "reg"}
		if icase {
			acl = append(acl, "-i")
		}
		return line(append(acl, "^"+m[2], "}")...)
	}
	return nil
}

// delHeaderRE recognises a reqdel regex that removes one header by name: "^Name:",
// optionally followed by ".*" and "$".
var delHeaderRE = regexp.MustCompile(`^\^([A-Za-z0-9!#$%&'*+.^_|~-]+):(?:\.\*)?\$?$`)

// headerRE splits "^Name:[ ]VALUE-REGEX" into the header name and the value regex.
var headerRE = regexp.MustCompile(`^\^([A-Za-z0-9_-]+):(?: \*| |\\s\*|\\s\+|\[ \]\*)?(.*)$`)

// uriLineRE recognises a request-line rewrite that keeps the method: "^([^ :]*) REGEX".
var uriLineRE = regexp.MustCompile(`^\^\(\[\^ :\]\*\) (.*)$`)

// rewriteHeaderRep turns "reqrep ^Name:\ REGEX Name:\ REPL" into replace-header. The
// old rule replaced what matched at the start of the header line and kept the rest;
// replace-header replaces whole values, so the rest of the value is captured and put back.
func rewriteHeaderRep(side, search, repl string, icase bool) []string {
	m := headerRE.FindStringSubmatch(search)
	if m == nil {
		return nil
	}
	name, valRE := m[1], m[2]
	rname, rval, ok := strings.Cut(repl, ":")
	if !ok || !strings.EqualFold(rname, name) {
		return nil
	}
	if sep := search[len(name)+2 : len(search)-len(valRE)]; valRE == "" && sep == "" {
		// "^Name:" kept the blanks after the colon in the rest of the line; a header
		// value has none, so there is no exact replace-header for it.
		return nil
	}
	newRE, tail, ok := anchoredWithTail(valRE, icase)
	if !ok {
		return nil
	}
	return []string{side, "replace-header", name, newRE, fmtEscape(strings.TrimLeft(rval, " ")) + tail}
}

// rewriteURIRep turns the request-line form "reqrep ^([^\ :]*)\ REGEX \1\ REPL" into
// replace-uri (the URI is what followed the method).
func rewriteURIRep(search, repl string, icase bool) []string {
	m := uriLineRE.FindStringSubmatch(search)
	if m == nil || !strings.HasPrefix(repl, `\1 `) {
		return nil
	}
	newRE, tail, ok := anchoredWithTail(m[1], icase)
	if !ok {
		return nil
	}
	// The method was group 1: the other groups move down by one.
	out := renumberRefs(strings.TrimPrefix(repl, `\1 `), -1)
	if out == "" {
		return nil
	}
	return []string{"http-request", "replace-uri", newRE, fmtEscape(out) + tail}
}

// anchoredWithTail anchors re at the start, adds a last group for whatever follows the
// match and returns the back-reference to it. It fails on a regex RE2 cannot compile.
func anchoredWithTail(re string, icase bool) (string, string, bool) {
	full := "^(?:" + re + ")(.*)$"
	if icase {
		full = "(?i)" + full
	}
	c, err := regexp.Compile(full)
	if err != nil || c.NumSubexp() > 9 {
		return "", "", false
	}
	out := "^" + re + "(.*)"
	if re == "" {
		out = "^(.*)"
	}
	if icase {
		out = "(?i)" + out
	}
	return out, `\` + strconv.Itoa(c.NumSubexp()), true
}

// renumberRefs shifts the back-references \1..\9 of s by d; "" if one would fall below 1.
func renumberRefs(s string, d int) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] >= '1' && s[i+1] <= '9' {
			n := int(s[i+1]-'0') + d
			if n < 1 {
				return ""
			}
			b.WriteString(`\` + strconv.Itoa(n))
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// fmtEscape protects '%' in a value that becomes a log-format string.
func fmtEscape(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// cfgWord writes s as one haproxy.cfg word that reads back as s: bare when it can be,
// else in double quotes, else in single quotes.
func cfgWord(s string) string {
	if s != "" && !strings.ContainsFunc(s, isControl) && lexesAs(s, s) {
		return s
	}
	dq := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s) + `"`
	if lexesAs(dq, s) {
		return dq
	}
	return `'` + s + `'`
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

func lexesAs(text, want string) bool {
	var errs config.ErrorList
	lx := &lexer{env: func(string) (string, bool) { return "", false }, errs: &errs}
	words, ok := lx.line(config.Pos{}, text)
	return ok && len(errs) == 0 && len(words) == 1 && words[0] == want
}

// Suggestion is a rewrite of one configuration line that uses a removed keyword.
type Suggestion struct {
	Pos config.Pos
	Old string   // the line as written (without its indentation)
	New []string // the lines to write instead (several for "listen NAME ADDR", none to delete it)
}

// Suggest returns the rewrites of the lines of data that use removed keywords, in order.
func Suggest(name string, data []byte) []Suggestion {
	var errs config.ErrorList
	lines := strings.Split(string(data), "\n")
	var out []Suggestion
	for _, st := range lex(name, data, func(string) (string, bool) { return "", false }, &errs) {
		var repl []string
		ok := false
		switch w := st.words; {
		case (w[0] == "listen" || w[0] == "frontend") && len(w) >= 3 && w[2] != "from":
			repl, ok = []string{w[0] + " " + cfgWord(w[1]), "    bind " + strings.Join(quoteAll(w[2:]), " ")}, true
		default:
			if _, _, legacy := legacyName(w); legacy {
				repl, ok = legacyRewrite(w)
			}
		}
		if !ok {
			continue
		}
		old := strings.TrimSpace(strings.TrimSuffix(lines[st.pos.Line-1], "\r"))
		out = append(out, Suggestion{Pos: st.pos, Old: old, New: repl})
	}
	return out
}

func quoteAll(w []string) []string {
	q := make([]string, len(w))
	for i, s := range w {
		q[i] = cfgWord(s)
	}
	return q
}
