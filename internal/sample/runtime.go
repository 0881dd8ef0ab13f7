package sample

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// What the runtime API needs beyond the Store's changes: HAProxy's texts for a
// pattern a list refuses, HAProxy's #<id> rule, and `get acl`/`get map`.

// LookupRef returns the list named ref as HAProxy's runtime API reads it: a file
// path, or "#" and a decimal number (strtol's rules: "#" alone is 0, a sign is
// allowed, nothing may follow the digits).
func (s *Store) LookupRef(ref string) *List {
	num, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return s.Lookup(ref)
	}
	id := 0
	if num != "" {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n < 0 || n > 1<<31 {
			return nil
		}
		id = int(n)
	}
	return s.Lookup("#" + strconv.Itoa(id))
}

// check reports whether the view accepts the entry (key, value), with HAProxy's
// message when it does not.
func (v *view) check(key, value string) error {
	if v.isMap {
		if _, err := mapValue(value, v.out); err != nil {
			return fmt.Errorf("unable to parse '%s'", value)
		}
	}
	switch v.kind {
	case mIP:
		if _, err := parseIPPattern(key); err != nil {
			return fmt.Errorf("'%s' is not a valid IPv4 or IPv6 address", key)
		}
	case mInt, mLen, mBool:
		if _, err := parseIntPattern(key); err != nil {
			return fmt.Errorf("'%s' is not a number", key)
		}
	case mBin:
		for i := 0; i < len(key); i++ {
			if !isHex(key[i]) {
				return fmt.Errorf("an hex digit is expected (found '%c')", key[i])
			}
		}
		if len(key)%2 != 0 {
			return fmt.Errorf("'%s' is not a valid hexadecimal string (odd length)", key)
		}
	case mReg:
		if _, err := CompileRegexp(key, v.icase); err != nil {
			msg := err.Error()
			if i := strings.Index(msg, ": "); i >= 0 {
				msg = msg[i+2:]
			}
			return fmt.Errorf("regex '%s' is invalid (error=%s)", key, msg)
		}
	case mFound:
		return fmt.Errorf("'%s': -m found takes no pattern", key)
	}
	return nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// valueTypeNames are HAProxy's names of sample types, as `get map` prints them.
var valueTypeNames = [...]string{TBool: "bool", TInt: "sint", TIPv4: "ipv4", TIPv6: "ipv6", TStr: "str", TBin: "bin", TMeth: "meth"}

// AppendGet appends what `get map` (maps true) or `get acl` print for value: one
// line per use of the list, in the order the uses were made.
func (l *List) AppendGet(dst []byte, value string, maps bool) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	result := "match"
	if maps {
		result = "found"
	}
	for _, k := range l.marks {
		dst = fmt.Appendf(dst, "type=%s, case=sensitive, %s=no\n", k, result)
	}
	for _, v := range l.views {
		cs := "sensitive"
		if v.icase {
			cs = "insensitive"
		}
		dst = fmt.Appendf(dst, "type=%s, case=%s, ", v.kind, cs)
		i, ok := v.lookup(l.entries, value)
		if !ok {
			dst = fmt.Appendf(dst, "%s=no\n", result)
			continue
		}
		idx := "list"
		if v.kind == mIP || (v.kind == mStr || v.kind == mBeg) && !v.icase {
			idx = "tree"
		}
		e := l.entries[i]
		if !maps {
			dst = fmt.Appendf(dst, "match=yes, idx=%s, pattern=\"%s\"\n", idx, e.Key)
			continue
		}
		dst = fmt.Appendf(dst, "found=yes, idx=%s, key=\"%s\", ", idx, e.Key)
		if !v.isMap {
			dst = append(dst, "value=none\n"...)
			continue
		}
		mv, _ := mapValue(e.Value, v.out)
		dst = append(dst, "value=\""...)
		dst = mv.AppendText(dst)
		dst = fmt.Appendf(dst, "\", type=\"%s\"\n", valueTypeNames[v.out])
	}
	return dst
}

// lookup finds the entry of ents (the entries v was compiled from) that the text s
// matches, as the data path would after casting s to the type the match reads.
func (v *view) lookup(ents []Entry, s string) (int, bool) {
	ps := v.snap.Load()
	var val Value
	switch v.kind {
	case mIP:
		a, err := netip.ParseAddr(s)
		if err != nil {
			return 0, false
		}
		if !v.isMap {
			return longestPrefix(ents, a.Unmap())
		}
		val = IP(a)
	case mInt, mBool:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, false
		}
		val = Int(n)
	default:
		val = Value{Type: TStr, B: []byte(s)}
	}
	var st State
	i, ok := ps.match(&st, val)
	if !ok || i >= len(ents) {
		return 0, false
	}
	return i, true
}

// longestPrefix is the entry an IP ACL's tree reports: the longest network that
// holds a (the data path only needs to know that one does).
func longestPrefix(ents []Entry, a netip.Addr) (int, bool) {
	best, bits := 0, -1
	for i, e := range ents {
		p, err := parseIPPattern(e.Key)
		if err != nil {
			continue
		}
		if p.Addr().Is4() == a.Is4() && p.Contains(a) && p.Bits() > bits {
			best, bits = i, p.Bits()
		}
	}
	return best, bits >= 0
}
