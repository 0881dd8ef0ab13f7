package sample

import (
	"bytes"
	"net/netip"
	"unsafe"

	"tandem/internal/http1"
)

// unsafeBytes views a configuration string as bytes; the bytes are never written.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// nextHdr returns the next value of header name ("" : every header) after cur: with
// split, each comma-separated element of a value is a value of its own.
func nextHdr(h *http1.Head, buf []byte, name string, split bool, cur *cursor) ([]byte, bool) {
	for cur.i < h.NHeaders {
		hd := &h.Headers[cur.i]
		if name != "" && !http1.EqualFold(hd.Name.Of(buf), name) {
			cur.i++
			cur.off = 0
			continue
		}
		val := hd.Value.Of(buf)
		if !split {
			cur.i++
			return val, true
		}
		if cur.off > len(val) {
			cur.i++
			cur.off = 0
			continue
		}
		tok, rest := http1.NextToken(val[cur.off:])
		if rest == nil {
			cur.i++
			cur.off = 0
		} else {
			cur.off = len(val) - len(rest)
		}
		return tok, true
	}
	return nil, false
}

// hdrOcc returns occurrence occ of the header's values: 1 the first, -1 the last.
func hdrOcc(h *http1.Head, buf []byte, name string, split bool, occ int64) ([]byte, bool) {
	if occ < 0 {
		var c cursor
		n := int64(0)
		for {
			if _, ok := nextHdr(h, buf, name, split, &c); !ok {
				break
			}
			n++
		}
		occ = n + occ + 1
		if occ <= 0 {
			return nil, false
		}
	}
	var c cursor
	for i := int64(1); ; i++ {
		v, ok := nextHdr(h, buf, name, split, &c)
		if !ok {
			return nil, false
		}
		if i == occ {
			return v, true
		}
	}
}

// hdrValue is the shared part of the header fetches: every value for an ACL without
// an occurrence, else the occurrence asked (default: the last).
func hdrValue(t Txn, d dir, a []arg, split bool, cur *cursor) ([]byte, bool) {
	h, buf := headOf(t, d)
	if h == nil {
		return nil, false
	}
	if cur.all && !a[1].set {
		v, ok := nextHdr(h, buf, a[0].s, split, cur)
		cur.more = ok
		return v, ok
	}
	cur.more = false
	occ := a[1].i
	if !a[1].set || occ == 0 {
		occ = -1
	}
	return hdrOcc(h, buf, a[0].s, split, occ)
}

func fetchHdr(d dir, split bool) fetchFn {
	return func(t Txn, a []arg, cur *cursor) (v Value, ok bool) {
		b, ok := hdrValue(t, d, a, split, cur)
		v = Value{Type: TStr, B: b}
		return v, ok
	}
}

func fetchHdrVal(d dir) fetchFn {
	return func(t Txn, a []arg, cur *cursor) (v Value, ok bool) {
		b, ok := hdrValue(t, d, a, true, cur)
		v = Int(atoi(b))
		return v, ok
	}
}

func fetchHdrIP(d dir) fetchFn {
	return func(t Txn, a []arg, cur *cursor) (v Value, ok bool) {
		b, ok := hdrValue(t, d, a, true, cur)
		if !ok {
			return v, false
		}
		ip, ok := parseIPLoose(b)
		if !ok {
			return v, false // not an address: ignored (an ACL moves on to the next value)
		}
		v = IP(ip)
		return v, true
	}
}

// parseIPLoose parses an address, an IPv4 address may carry a ":port" that is dropped.
func parseIPLoose(b []byte) (netip.Addr, bool) {
	s := unsafeString(b)
	if ip, err := netip.ParseAddr(s); err == nil {
		return ip, true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Is4() {
		return ap.Addr(), true
	}
	return netip.Addr{}, false
}

func fetchHdrCnt(d dir, split bool) fetchFn {
	return func(t Txn, a []arg, _ *cursor) (v Value, ok bool) {
		h, buf := headOf(t, d)
		if h == nil {
			return v, false
		}
		var c cursor
		n := int64(0)
		for {
			if _, ok := nextHdr(h, buf, a[0].s, split, &c); !ok {
				break
			}
			n++
		}
		v = Int(n)
		return v, true
	}
}

// nextCookie returns the value of the next cookie named name ("" : any) of the
// Cookie (request) or Set-Cookie (response, first attribute only) headers, found by
// the kind http1 gave each header when it parsed the head.
func nextCookie(h *http1.Head, buf []byte, res bool, name string, cur *cursor) ([]byte, bool) {
	kind := http1.KCookie
	if res {
		kind = http1.KSetCookie
	}
	for ; cur.i < h.NHeaders; cur.i, cur.off = cur.i+1, 0 {
		hd := &h.Headers[cur.i]
		if hd.Kind != kind {
			continue
		}
		val := hd.Value.Of(buf)
		for cur.off < len(val) {
			pair := val[cur.off:]
			if end := bytes.IndexByte(pair, ';'); end >= 0 {
				pair = pair[:end]
			}
			cur.off += len(pair) + 1
			if res {
				cur.off = len(val) // only NAME=VALUE, the attributes follow
			}
			n, v, ok := bytes.Cut(pair, []byte{'='})
			if ok && (name == "" || string(bytes.Trim(n, " \t")) == name) {
				return bytes.Trim(v, " \t"), true
			}
		}
	}
	return nil, false
}

// cookValue: every matching cookie for an ACL; in a sample, the last one named name,
// or the first cookie when no name is given.
func cookValue(t Txn, d dir, a []arg, cur *cursor) ([]byte, bool) {
	h, buf := headOf(t, d)
	if h == nil {
		return nil, false
	}
	res := d == dirRes
	if cur.all {
		v, ok := nextCookie(h, buf, res, a[0].s, cur)
		cur.more = ok
		return v, ok
	}
	var c cursor
	var last []byte
	found := false
	for {
		v, ok := nextCookie(h, buf, res, a[0].s, &c)
		if !ok {
			break
		}
		last, found = v, true
		if a[0].s == "" {
			break
		}
	}
	return last, found
}

func fetchCook(d dir) fetchFn {
	return func(t Txn, a []arg, cur *cursor) (v Value, ok bool) {
		b, ok := cookValue(t, d, a, cur)
		v = Value{Type: TStr, B: b}
		return v, ok
	}
}

func fetchCookVal(d dir) fetchFn {
	return func(t Txn, a []arg, cur *cursor) (v Value, ok bool) {
		b, ok := cookValue(t, d, a, cur)
		v = Int(atoi(b))
		return v, ok
	}
}

func fetchCookCnt(d dir) fetchFn {
	return func(t Txn, a []arg, _ *cursor) (v Value, ok bool) {
		h, buf := headOf(t, d)
		if h == nil {
			return v, false
		}
		var c cursor
		n := int64(0)
		for {
			if _, ok := nextCookie(h, buf, d == dirRes, a[0].s, &c); !ok {
				break
			}
			n++
		}
		v = Int(n)
		return v, true
	}
}
