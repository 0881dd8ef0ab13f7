package sample

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// matchKind is an ACL match method (-m …).
type matchKind uint8

const (
	mNone matchKind = iota
	mFound
	mBool
	mInt
	mIP
	mBin
	mLen
	mStr
	mBeg
	mSub
	mDom
	mDir
	mEnd
	mReg
)

var matchNames = map[string]matchKind{
	"found": mFound, "bool": mBool, "int": mInt, "ip": mIP, "bin": mBin, "len": mLen,
	"str": mStr, "beg": mBeg, "sub": mSub, "dom": mDom, "dir": mDir, "end": mEnd, "reg": mReg,
}

func (m matchKind) String() string {
	for n, k := range matchNames {
		if k == m {
			return n
		}
	}
	return "none"
}

func defaultMatch(t Type) matchKind {
	switch t {
	case TBool:
		return mBool
	case TInt:
		return mInt
	case TIPv4, TIPv6:
		return mIP
	case TBin:
		return mBin
	}
	return mStr
}

// intRange is an integer pattern: lo..hi inclusive.
type intRange struct{ lo, hi int64 }

type v4Range struct{ lo, hi uint32 }
type v6Range struct{ lo, hi [16]byte }

// patSet is a compiled, immutable list of patterns for one match method: the data
// path reads it through an atomic pointer (view.snap).
type patSet struct {
	kind  matchKind
	icase bool
	n     int
	// str, bin: key → first entry index. beg, end: one map per pattern length.
	strs   map[string]int
	lens   []int
	byLen  []map[string]int
	list   []string // sub, dom, dir: patterns (lower-case with -i)
	listIx []int
	res    []*regexp.Regexp
	ints   []intRange
	intIx  []int
	// ip: merged sorted ranges (ACLs) and, for maps, prefixes by length (longest first).
	v4      []v4Range
	v6      []v6Range
	pfxLens []int
	pfx     []map[netip.Addr]int
	vals    []Value // map values by entry index
}

// compilePattern checks one pattern for kind and returns its canonical form.
func parseIntPattern(s string) (intRange, error) {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		r := intRange{lo: math.MinInt64, hi: math.MaxInt64}
		var err error
		if s[:i] != "" {
			if r.lo, err = strconv.ParseInt(s[:i], 10, 64); err != nil {
				return r, fmt.Errorf("%q is not an integer range", s)
			}
		}
		if s[i+1:] != "" {
			if r.hi, err = strconv.ParseInt(s[i+1:], 10, 64); err != nil {
				return r, fmt.Errorf("%q is not an integer range", s)
			}
		}
		return r, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return intRange{}, fmt.Errorf("%q is not an integer", s)
	}
	return intRange{n, n}, nil
}

// parseIPPattern parses an address or a CIDR (a.b.c.d/m or a.b.c.d/255.255.0.0).
func parseIPPattern(s string) (netip.Prefix, error) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		if p, err := netip.ParsePrefix(s); err == nil {
			return p.Masked(), nil
		}
		a, err1 := netip.ParseAddr(s[:i])
		m, err2 := netip.ParseAddr(s[i+1:])
		if err1 == nil && err2 == nil && a.Is4() && m.Is4() {
			var args []arg
			if args, err1 = parseArgs("mask", []argKind{aIPMask}, 1, []string{s[i+1:]}, nil); err1 == nil {
				return netip.PrefixFrom(a, int(args[0].i)).Masked(), nil
			}
		}
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or network", s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or network (host names are not resolved)", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func v4u(a netip.Addr) uint32 { b := a.As4(); return binary.BigEndian.Uint32(b[:]) }

// compile builds the set for entries (key, value) with match method kind; isMap
// keeps values (converted to out).
func compile(kind matchKind, icase bool, entries []Entry, isMap bool, out Type) (*patSet, error) {
	ps := &patSet{kind: kind, icase: icase, n: len(entries)}
	if isMap {
		ps.vals = make([]Value, len(entries))
	}
	for i, e := range entries {
		key := e.Key
		if isMap {
			v, err := mapValue(e.Value, out)
			if err != nil {
				return nil, fmt.Errorf("map entry %q: %w", e.Key, err)
			}
			ps.vals[i] = v
		}
		if icase && kind != mReg {
			key = strings.ToLower(key)
		}
		switch kind {
		case mStr, mBin:
			if kind == mBin {
				b, err := parseHex(key)
				if err != nil {
					return nil, err
				}
				key = string(b)
			}
			if ps.strs == nil {
				ps.strs = map[string]int{}
			}
			if _, dup := ps.strs[key]; !dup {
				ps.strs[key] = i
			}
		case mBeg, mEnd:
			j := sort.SearchInts(ps.lens, len(key))
			if j == len(ps.lens) || ps.lens[j] != len(key) {
				ps.lens = append(ps.lens, 0)
				copy(ps.lens[j+1:], ps.lens[j:])
				ps.lens[j] = len(key)
				ps.byLen = append(ps.byLen, nil)
				copy(ps.byLen[j+1:], ps.byLen[j:])
				ps.byLen[j] = map[string]int{}
			}
			if _, dup := ps.byLen[j][key]; !dup {
				ps.byLen[j][key] = i
			}
		case mSub, mDom, mDir:
			ps.list = append(ps.list, key)
			ps.listIx = append(ps.listIx, i)
		case mReg:
			re, err := CompileRegexp(key, icase)
			if err != nil {
				return nil, err
			}
			ps.res = append(ps.res, re)
			ps.listIx = append(ps.listIx, i)
		case mInt, mLen, mBool:
			r, err := parseIntPattern(key)
			if err != nil {
				return nil, err
			}
			ps.ints = append(ps.ints, r)
			ps.intIx = append(ps.intIx, i)
		case mIP:
			p, err := parseIPPattern(key)
			if err != nil {
				return nil, err
			}
			ps.addPrefix(p, i, isMap)
		case mFound:
			return nil, fmt.Errorf("-m found takes no pattern, got %q", key)
		}
	}
	if kind == mIP {
		ps.finishIP()
	}
	return ps, nil
}

func (ps *patSet) addPrefix(p netip.Prefix, i int, isMap bool) {
	if isMap {
		j := 0
		for j < len(ps.pfxLens) && ps.pfxLens[j] > p.Bits()+boolInt(p.Addr().Is6())*1000 {
			j++
		}
		key := p.Bits() + boolInt(p.Addr().Is6())*1000
		if j == len(ps.pfxLens) || ps.pfxLens[j] != key {
			ps.pfxLens = append(ps.pfxLens, 0)
			copy(ps.pfxLens[j+1:], ps.pfxLens[j:])
			ps.pfxLens[j] = key
			ps.pfx = append(ps.pfx, nil)
			copy(ps.pfx[j+1:], ps.pfx[j:])
			ps.pfx[j] = map[netip.Addr]int{}
		}
		if _, dup := ps.pfx[j][p.Addr()]; !dup {
			ps.pfx[j][p.Addr()] = i
		}
		return
	}
	if p.Addr().Is4() {
		lo := v4u(p.Addr())
		hi := lo | uint32(uint64(1)<<(32-p.Bits())-1)
		ps.v4 = append(ps.v4, v4Range{lo, hi})
		return
	}
	lo := p.Addr().As16()
	hi := lo
	for b := p.Bits(); b < 128; b++ {
		hi[b/8] |= 0x80 >> (b % 8)
	}
	ps.v6 = append(ps.v6, v6Range{lo, hi})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// finishIP sorts and merges the ranges so a lookup is a binary search.
func (ps *patSet) finishIP() {
	sort.Slice(ps.v4, func(i, j int) bool { return ps.v4[i].lo < ps.v4[j].lo })
	m := ps.v4[:0]
	for _, r := range ps.v4 {
		if n := len(m); n > 0 && (r.lo <= m[n-1].hi || m[n-1].hi != math.MaxUint32 && r.lo == m[n-1].hi+1) {
			if r.hi > m[n-1].hi {
				m[n-1].hi = r.hi
			}
			continue
		}
		m = append(m, r)
	}
	ps.v4 = m
	sort.Slice(ps.v6, func(i, j int) bool { return bytes.Compare(ps.v6[i].lo[:], ps.v6[j].lo[:]) < 0 })
	m6 := ps.v6[:0]
	for _, r := range ps.v6 {
		if n := len(m6); n > 0 && bytes.Compare(r.lo[:], m6[n-1].hi[:]) <= 0 {
			if bytes.Compare(r.hi[:], m6[n-1].hi[:]) > 0 {
				m6[n-1].hi = r.hi
			}
			continue
		}
		m6 = append(m6, r)
	}
	ps.v6 = m6
}

func parseHex(s string) ([]byte, error) {
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("%q is not a hexadecimal string", s)
	}
	out := make([]byte, len(s)/2)
	for i := 0; i < len(out); i++ {
		n, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("%q is not a hexadecimal string", s)
		}
		out[i] = byte(n)
	}
	return out, nil
}

// match reports whether v matches one pattern, and which entry (for maps: the one
// HAProxy picks: exact key, longest prefix for IPs, else the first in file order).
// The sample has already been cast to what kind reads.
func (ps *patSet) match(st *State, v Value) (int, bool) {
	switch ps.kind {
	case mFound:
		return 0, true
	case mBool:
		return 0, v.I != 0
	case mInt, mLen:
		n := v.I
		if ps.kind == mLen {
			n = int64(len(v.B))
		}
		for i, r := range ps.ints {
			if r.lo <= n && n <= r.hi {
				return ps.intIx[i], true
			}
		}
		return 0, false
	case mIP:
		return ps.matchIP(v.IP)
	}
	s := v.B
	if ps.icase && ps.kind != mReg {
		s = lowerInto(st, s)
	}
	switch ps.kind {
	case mStr, mBin:
		i, ok := ps.strs[unsafeString(s)]
		return i, ok
	case mBeg:
		// The longest prefix wins, as HAProxy's prefix tree (map_beg).
		for j := len(ps.lens) - 1; j >= 0; j-- {
			l := ps.lens[j]
			if l > len(s) {
				continue
			}
			if i, ok := ps.byLen[j][unsafeString(s[:l])]; ok {
				return i, true
			}
		}
		return 0, false
	case mEnd:
		best, found := -1, false
		for j, l := range ps.lens {
			if l > len(s) {
				break
			}
			if i, ok := ps.byLen[j][unsafeString(s[len(s)-l:])]; ok && (!found || i < best) {
				best, found = i, true
			}
		}
		return best, found
	case mSub:
		for j, p := range ps.list {
			if bytes.Contains(s, unsafeBytes(p)) {
				return ps.listIx[j], true
			}
		}
	case mDom:
		for j, p := range ps.list {
			if matchWord(s, p, '.', "/?.:") {
				return ps.listIx[j], true
			}
		}
	case mDir:
		for j, p := range ps.list {
			if matchWord(s, p, '/', "/?") {
				return ps.listIx[j], true
			}
		}
	case mReg:
		for j, re := range ps.res {
			if re.Match(s) {
				return ps.listIx[j], true
			}
		}
	}
	return 0, false
}

func (ps *patSet) matchIP(a netip.Addr) (int, bool) {
	if !a.IsValid() {
		return 0, false
	}
	a = a.Unmap()
	if ps.pfx != nil {
		for j, l := range ps.pfxLens {
			is6 := l >= 1000
			if is6 != a.Is6() {
				continue
			}
			p, _ := a.Prefix(l % 1000)
			if i, ok := ps.pfx[j][p.Addr()]; ok {
				return i, true
			}
		}
		return 0, false
	}
	if a.Is4() {
		u := v4u(a)
		i := sort.Search(len(ps.v4), func(i int) bool { return ps.v4[i].hi >= u })
		return 0, i < len(ps.v4) && ps.v4[i].lo <= u
	}
	b := a.As16()
	i := sort.Search(len(ps.v6), func(i int) bool { return bytes.Compare(ps.v6[i].hi[:], b[:]) >= 0 })
	return 0, i < len(ps.v6) && bytes.Compare(ps.v6[i].lo[:], b[:]) <= 0
}

// matchWord reports whether pattern p (its leading and trailing trim bytes cut)
// appears in s between delimiters (or the ends of s): -m dom and -m dir.
func matchWord(s []byte, p string, trim byte, delims string) bool {
	for len(p) > 0 && p[0] == trim {
		p = p[1:]
	}
	for len(p) > 0 && p[len(p)-1] == trim {
		p = p[:len(p)-1]
	}
	if p == "" {
		return false
	}
	isDelim := func(c byte) bool { return strings.IndexByte(delims, c) >= 0 }
	for i := 0; i+len(p) <= len(s); i++ {
		if i > 0 && !isDelim(s[i-1]) {
			continue
		}
		if string(s[i:i+len(p)]) != p {
			continue
		}
		if e := i + len(p); e == len(s) || isDelim(s[e]) {
			return true
		}
	}
	return false
}

// lowerInto returns s in lower case, in scratch space when it has upper-case bytes.
func lowerInto(st *State, s []byte) []byte {
	for i, c := range s {
		if 'A' <= c && c <= 'Z' {
			out := st.grow(len(s))
			copy(out, s[:i])
			for j := i; j < len(s); j++ {
				c := s[j]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				out[j] = c
			}
			return out
		}
	}
	return s
}
