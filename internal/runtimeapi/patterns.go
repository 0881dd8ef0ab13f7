package runtimeapi

import (
	"bytes"
	"strconv"
	"strings"

	"tandem/internal/sample"
)

// The pattern list commands: `show|get|add|del|clear acl` and `show|get|add|set|del|
// clear map`, over the live lists of the running configuration (sample.Store), with
// HAProxy 2.6's outputs, error texts and quirks (any level may use them; `get`, `add`
// and `set map` find a list by #<id> whatever it is used by, `del acl` reports an
// unknown list as a map). A list has one version, 0: `@0` is the current version as
// in HAProxy, `show`/`clear` of another version find nothing, and `prepare` is refused
// (so `commit` always finds its version out of range, as HAProxy without `prepare`).
// A reload reads the files again: changes made here are lost unless written to them.

type patKind int

const (
	patACL patKind = iota
	patMap
)

func (k patKind) name() string { return [...]string{"acl", "map"}[k] }

// unknown is HAProxy's text for a list that is not there.
func (k patKind) unknown() string {
	if k == patACL {
		return "Unknown ACL identifier. Please use #<id> or <file>.\n"
	}
	return "Unknown map identifier. Please use #<id> or <file>.\n"
}

func (k patKind) missing() string {
	if k == patACL {
		return "Missing ACL identifier.\n"
	}
	return "Missing map identifier.\n"
}

const (
	msgMalformedRef = "Malformed identifier. Please use #<id> or <file>.\n"
	msgAddACLUsage  = "'add acl' expects two parameters: ACL identifier and pattern.\n"
	msgAddMapUsage  = "'add map' expects three parameters (map identifier, key and value) or one parameter (map identifier) and a payload\n"
	msgSetMapUsage  = "'set map' expects three parameters: map identifier, key and value.\n"
	msgACLShared    = "This ACL is shared with a map containing samples. You must use the command 'add map' to add values.\n"
	msgPayload      = "tandem does not read a payload ('<<') for 'add map': send one 'add map <map> <key> <value>' per entry.\n"
)

func patCmd(k patKind, f func(*session, *bytes.Buffer, patKind, []string)) func(*session, *bytes.Buffer, []string) {
	return func(s *session, out *bytes.Buffer, args []string) { f(s, out, k, args) }
}

func (s *session) patterns() *sample.Store {
	if s.src.Config == nil {
		return nil
	}
	if cfg := s.src.Config(); cfg != nil {
		return cfg.Patterns
	}
	return nil
}

// lookupList finds the list ref names; with used, only a list used as k (`show`,
// `del`, `clear`), else any list (`get`, `add`, `set`).
func (s *session) lookupList(ref string, k patKind, used bool) *sample.List {
	st := s.patterns()
	if st == nil {
		return nil
	}
	l := st.LookupRef(ref)
	if l == nil || used && (k == patACL && !l.IsACL || k == patMap && !l.IsMap) {
		return nil
	}
	return l
}

// version reads a leading "@<ver>" word as HAProxy (its leading digits, 32 bits).
func version(args []string) (ver uint32, rest []string, ok bool) {
	if len(args) == 0 || !strings.HasPrefix(args[0], "@") {
		return 0, args, false
	}
	for _, c := range []byte(args[0][1:]) {
		if c < '0' || c > '9' {
			break
		}
		ver = ver*10 + uint32(c-'0')
	}
	return ver, args[1:], true
}

// entryRef reads a "#0x<hex>" entry reference; byID is false for a key.
func entryRef(w string) (id uint64, byID, ok bool) {
	hex, isRef := strings.CutPrefix(w, "#0x")
	if !isRef {
		return 0, false, true
	}
	if hex == "" {
		return 0, true, false
	}
	for _, c := range []byte(hex) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return 0, true, false
		}
	}
	n, err := strconv.ParseUint(hex, 16, 64)
	if err != nil || n > 1<<63-1 { // strtoll saturates: no entry has that id
		n = 1<<63 - 1
	}
	return n, true, true
}

func (s *session) patShow(out *bytes.Buffer, k patKind, args []string) {
	ver, args, hasVer := version(args)
	if len(args) == 0 && !hasVer {
		if st := s.patterns(); st != nil {
			out.Write(st.AppendShowLists(nil, k == patMap))
		} else {
			out.WriteString("# id (file) description\n")
		}
		return
	}
	l := s.lookupList(arg(args, 0), k, true)
	if l == nil {
		out.WriteString(k.unknown())
		return
	}
	if ver == 0 { // the current version; no other exists
		out.Write(l.AppendShow(nil))
	}
}

func (s *session) patGet(out *bytes.Buffer, k patKind, args []string) {
	if len(args) < 2 || args[0] == "" || args[1] == "" {
		if k == patACL {
			out.WriteString("Missing ACL identifier and/or key.\n")
		} else {
			out.WriteString("Missing map identifier and/or key.\n")
		}
		return
	}
	l := s.lookupList(args[0], k, false)
	if l == nil {
		out.WriteString(k.unknown())
		return
	}
	out.Write(l.AppendGet(nil, args[1], k == patMap))
}

func (s *session) patAdd(out *bytes.Buffer, k patKind, args []string) {
	ver, args, _ := version(args)
	// A payload is cut off the line before the command runs (cutPayload); a "<<" word
	// stays only on a last line without its end.
	if k == patMap && (s.hasPayload || len(args) >= 2 && args[len(args)-1] == "<<") {
		out.WriteString(msgPayload)
		return
	}
	if k == patACL && len(args) < 2 {
		out.WriteString(msgAddACLUsage)
		return
	}
	if k == patMap && len(args) < 3 {
		out.WriteString(msgAddMapUsage)
		return
	}
	l := s.lookupList(args[0], k, false)
	if l == nil {
		out.WriteString(k.unknown())
		return
	}
	if ver != 0 {
		if int32(ver) > 0 {
			out.WriteString("Version number in the future, please use 'prepare " + k.name() + "' before.\n")
		} else {
			out.WriteString("tandem keeps one version (0) of a list and does not support 'prepare " + k.name() + "': '@<ver>' other than 0 is refused.\n")
		}
		return
	}
	if k == patACL && l.IsMap {
		out.WriteString(msgACLShared)
		return
	}
	value := ""
	if k == patMap {
		value = args[2]
	}
	if _, err := l.Add(args[1], value); err != nil {
		out.WriteString(err.Error() + ".\n")
	}
}

func (s *session) patSet(out *bytes.Buffer, _ patKind, args []string) {
	if len(args) < 3 {
		out.WriteString(msgSetMapUsage)
		return
	}
	l := s.lookupList(args[0], patMap, false)
	if l == nil {
		out.WriteString(patMap.unknown())
		return
	}
	id, byID, ok := entryRef(args[1])
	if !ok {
		out.WriteString(msgMalformedRef)
		return
	}
	if !l.Set(args[1], id, byID, args[2]) {
		out.WriteString("entry not found.\n")
	}
}

func (s *session) patDel(out *bytes.Buffer, k patKind, args []string) {
	if len(args) < 2 {
		if k == patACL {
			out.WriteString("This command expects two parameters: ACL identifier and key.\n")
		} else {
			out.WriteString("This command expects two parameters: map identifier and key.\n")
		}
		return
	}
	l := s.lookupList(args[0], k, true)
	if l == nil {
		out.WriteString(patMap.unknown()) // HAProxy says "map" for both
		return
	}
	id, byID, ok := entryRef(args[1])
	if !ok {
		out.WriteString(msgMalformedRef)
		return
	}
	if !l.Del(args[1], id, byID) {
		out.WriteString("Key not found.\n")
	}
}

func (s *session) patClear(out *bytes.Buffer, k patKind, args []string) {
	ver, args, _ := version(args)
	if len(args) == 0 {
		out.WriteString(k.missing())
		return
	}
	l := s.lookupList(args[0], k, true)
	if l == nil {
		out.WriteString(k.unknown())
		return
	}
	if ver == 0 {
		l.Clear()
	}
}

func (s *session) patPrepare(out *bytes.Buffer, k patKind, args []string) {
	if len(args) == 0 || s.lookupList(args[0], k, true) == nil {
		out.WriteString(k.unknown())
		return
	}
	out.WriteString("tandem does not support 'prepare " + k.name() + "' (versioned replacement): change the entries with add/del/clear " + k.name() + ", or edit the file and reload.\n")
}

func (s *session) patCommit(out *bytes.Buffer, k patKind, args []string) {
	_, args, hasVer := version(args)
	if !hasVer {
		out.WriteString("Missing version number.\n")
		return
	}
	if len(args) == 0 {
		out.WriteString(k.missing())
		return
	}
	if s.lookupList(args[0], k, true) == nil {
		out.WriteString(k.unknown())
		return
	}
	// Only version 0 exists (no prepare): every version is out of range.
	out.WriteString("Version number out of range.\n")
}
