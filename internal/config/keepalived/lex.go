// Package keepalived reads keepalived.conf (the subset tandem implements: global_defs,
// vrrp_script, vrrp_instance, vrrp_sync_group and include) into the resolved
// config.VRRP model, reporting every problem as `FILE:LINE: message`.
//
// Anything keepalived accepts but tandem does not implement is an error naming its
// file and line, never silently ignored: a config that would fail over differently
// under tandem than under keepalived must not start. Settings that change nothing
// tandem does are accepted with a warning that says why: mail alerts
// (notification_email, smtp_*, smtp_alert also in vrrp_instance and vrrp_sync_group),
// LVS/IPVS tuning (lvs_id, lvs_timeouts, lvs_sync_daemon, lvs_sync_daemon_interface)
// and keepalived's own process scheduling (max_auto_priority, vrrp_no_swap).
// virtual_server (LVS) is refused with a pointer to a haproxy.cfg `mode tcp` listen
// section.
//
// What users write is read with keepalived 2.2's meaning: a '{' alone on the line after
// its keyword opens the block; `state` other than MASTER or BACKUP (written in
// capitals) starts as BACKUP; `nopreempt` ignores an argument; a track_script naming
// no vrrp_script is dropped; each with a warning where keepalived logs one.
//
// Supported keywords:
//
//	global_defs      router_id vrrp_version vrrp_garp_master_delay vrrp_garp_master_repeat
//	                 vrrp_garp_master_refresh vrrp_garp_master_refresh_repeat
//	                 vrrp_garp_interval vrrp_gna_interval enable_script_security
//	                 script_user vrrp_skip_check_adv_addr vrrp_strict
//	vrrp_script      script interval timeout fall rise weight [reverse] init_fail user
//	vrrp_instance    state interface virtual_router_id priority advert_int version
//	                 nopreempt preempt preempt_delay authentication { auth_type PASS; auth_pass }
//	                 virtual_ipaddress virtual_ipaddress_excluded (ADDR[/LEN] [brd A] [dev D]
//	                 [scope S] [label L] [no_track]) unicast_src_ip mcast_src_ip unicast_peer
//	                 track_script track_interface (NAME [weight N [reverse]]) notify_master
//	                 notify_backup notify_fault notify_stop notify notify_master_rx_lower_pri
//	                 garp_master_delay
//	                 garp_master_repeat garp_master_refresh garp_master_refresh_repeat
//	                 dont_track_primary
//	                 skip_check_adv_addr strict_mode
//	vrrp_sync_group  group track_script track_interface notify_master notify_backup
//	                 notify_fault notify_stop notify
//	include          (and includer, includem, includew, includeb, includea): glob
//	                 patterns, relative to the including file's directory
//
// In-process trackers: a vrrp_script whose script starts with "tandem:" is not
// run as a command; tandem evaluates it against its own proxy, sub-second
// intervals allowed, with the usual interval, fall, rise and weight:
//
//	vrrp_script proxy_ok {
//	    script "tandem:backend web_servers min 1"   # or "tandem:frontend http_front",
//	    interval 0.2                                # or "tandem:backend app min 50%"
//	    fall 2
//	    rise 2
//	    weight -20
//	}
//
// The file stays keepalived syntax (keepalived would run "tandem:…", fail, and
// count the check as failed).
package keepalived

import (
	"path/filepath"
	"strings"

	"tandem/internal/config"
)

// token is one word, quoted string, "{" or "}" with where it was written.
type token struct {
	pos    config.Pos
	text   string
	quoted bool
}

func (t token) isOpen() bool  { return !t.quoted && t.text == "{" }
func (t token) isClose() bool { return !t.quoted && t.text == "}" }

// source reads files for include; tests and the fuzzer replace it.
type source interface {
	ReadFile(name string) ([]byte, error)
	Glob(pattern string) ([]string, error)
}

const maxIncludeDepth = 8

// lexer turns files into a token stream, expanding include lines as keepalived
// does: at the line level, paths relative to the including file's directory.
type lexer struct {
	src    source
	errs   *config.ErrorList
	warns  *[]*config.Error
	toks   []token
	active map[string]bool
}

// newline marks the end of a line in the token stream.
const newline = "\n"

func (lx *lexer) file(name string, data []byte, depth int) {
	if lx.active[name] {
		return
	}
	lx.active[name] = true
	defer delete(lx.active, name)
	for i, line := range strings.Split(string(data), "\n") {
		pos := config.Pos{File: name, Line: i + 1}
		words := lx.splitLine(pos, line)
		if len(words) == 0 {
			continue
		}
		if w := words[0]; !w.quoted && isInclude(w.text) {
			lx.include(name, words, depth)
			continue
		}
		lx.toks = append(lx.toks, words...)
		lx.toks = append(lx.toks, token{pos: pos, text: newline})
	}
}

func isInclude(w string) bool {
	switch w {
	case "include", "includer", "includem", "includew", "includeb", "includea":
		return true
	}
	return false
}

func (lx *lexer) include(from string, words []token, depth int) {
	pos := words[0].pos
	if len(words) != 2 {
		lx.errs.Add(pos, "%s: expected exactly one file name", words[0].text)
		return
	}
	if depth >= maxIncludeDepth {
		lx.errs.Add(pos, "include %q: includes nested deeper than %d", words[1].text, maxIncludeDepth)
		return
	}
	pattern := words[1].text
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(from), pattern)
	}
	names, err := lx.src.Glob(pattern)
	if err != nil {
		lx.errs.Add(pos, "include %q: %v", words[1].text, err)
		return
	}
	if len(names) == 0 {
		if strings.ContainsAny(pattern, "*?[{") {
			*lx.warns = append(*lx.warns, config.Errorf(pos, "include %q matches no file", words[1].text))
		} else {
			lx.errs.Add(pos, "include %q: no such file", words[1].text)
		}
		return
	}
	for _, n := range names {
		if lx.active[n] {
			lx.errs.Add(pos, "include %q: includes itself", n)
			continue
		}
		data, err := lx.src.ReadFile(n)
		if err != nil {
			lx.errs.Add(pos, "include %q: %v", n, err)
			continue
		}
		lx.file(n, data, depth+1)
	}
}

// splitLine cuts one line into tokens: comments start at an unquoted '#' or '!';
// '{' and '}' are tokens of their own even when written against a word.
func (lx *lexer) splitLine(pos config.Pos, line string) []token {
	var out []token
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			out = append(out, token{pos: pos, text: cur.String()})
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '#' || c == '!':
			flush()
			return out
		case c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f':
			flush()
		case c == '{' || c == '}':
			flush()
			out = append(out, token{pos: pos, text: string(c)})
		case c == '"':
			flush()
			end := strings.IndexByte(line[i+1:], '"')
			if end < 0 {
				lx.errs.Add(pos, "unterminated quoted string")
				return append(out, token{pos: pos, text: line[i+1:], quoted: true})
			}
			out = append(out, token{pos: pos, text: line[i+1 : i+1+end], quoted: true})
			i += end + 1
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return out
}

// node is one statement: a keyword, its arguments, and its block if it has one.
type node struct {
	pos      config.Pos
	name     string
	args     []token
	block    bool
	children []*node
}

// tree builds statements from the token stream. A statement ends at a newline,
// at '{' (which opens its block) or at '}' (which closes the enclosing block).
func (lx *lexer) tree() []*node {
	i := 0
	root := lx.statements(&i, 0, config.Pos{})
	for i < len(lx.toks) {
		t := lx.toks[i]
		if t.isClose() {
			lx.errs.Add(t.pos, "unexpected '}' with no open block")
		}
		i++
		root = append(root, lx.statements(&i, 0, config.Pos{})...)
	}
	return root
}

func (lx *lexer) statements(i *int, depth int, open config.Pos) []*node {
	var out []*node
	var cur *node
	for *i < len(lx.toks) {
		t := lx.toks[*i]
		switch {
		case t.text == newline && !t.quoted:
			cur = nil
			*i++
		case t.isOpen():
			*i++
			if cur == nil && len(out) > 0 && !out[len(out)-1].block {
				// keepalived: a block keyword whose '{' is not on its line takes
				// a '{' that starts the next line ("vrrp_instance VI_1\n{").
				cur = out[len(out)-1]
			}
			if cur == nil {
				lx.errs.Add(t.pos, "'{' with no keyword before it")
				cur = &node{pos: t.pos}
				out = append(out, cur)
			}
			if depth >= 16 {
				lx.errs.Add(t.pos, "blocks nested too deep")
				return out
			}
			cur.block = true
			cur.children = lx.statements(i, depth+1, t.pos)
			cur = nil
		case t.isClose():
			if depth == 0 {
				return out
			}
			*i++
			return out
		default:
			*i++
			if cur == nil {
				cur = &node{pos: t.pos, name: t.text}
				out = append(out, cur)
			} else {
				cur.args = append(cur.args, t)
			}
		}
	}
	if depth > 0 {
		lx.errs.Add(open, "block opened here is never closed")
	}
	return out
}
