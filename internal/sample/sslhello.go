package sample

import (
	"errors"

	"tandem/internal/clienthello"
)

// The fetches on a TLS ClientHello passing through the request buffer (HAProxy's
// req.ssl_*: SNI passthrough in mode tcp with tcp-request inspect-delay). They read
// t.Payload(); while the hello is incomplete they have no answer and may change.

// helloCache is the hello parsed out of a payload, kept in the State so that the
// req.ssl_* fetches of a rule set (and each ALPN an ACL tries) parse the payload once
// rather than once per fetch. It is keyed by the payload's first byte and length:
// the payload only grows while rules read it, and the State is reset for a new
// transaction.
type helloCache struct {
	p    *byte
	n    int
	h    *clienthello.Hello
	wait bool
}

// helloOf parses the hello at the start of the payload: nil when the payload is not
// (or not yet: waitMore set) a whole hello.
func helloOf(t Txn) (h *clienthello.Hello, waitMore bool) {
	p := t.Payload()
	c := &t.State().hello
	if len(p) > 0 && c.p == &p[0] && c.n == len(p) {
		return c.h, c.wait
	}
	h, err := clienthello.Parse(p)
	if err != nil {
		h, waitMore = nil, errors.Is(err, clienthello.ErrNeedMore)
	}
	if len(p) > 0 {
		*c = helloCache{p: &p[0], n: len(p), h: h, wait: waitMore}
	}
	return h, waitMore
}

func fetchSSLHelloType(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	h, wait := helloOf(t)
	if h == nil {
		if wait {
			mayChange(t)
		}
		return v, false
	}
	return Int(int64(h.Type)), true
}

func fetchReqSSLSNI(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	h, wait := helloOf(t)
	if h == nil || !h.HasSNI || h.Type != clienthello.TypeClientHello {
		if wait {
			mayChange(t)
		}
		return v, false
	}
	return Str(appendScratch(t, h.SNI)), true
}

// fetchReqSSLALPN answers the protocols the client offers: in an ACL each in turn (as
// HAProxy, `req.ssl_alpn h2` matches a client offering "http/1.1,h2"), as a sample the
// first.
func fetchReqSSLALPN(t Txn, _ []arg, cur *cursor) (v Value, ok bool) {
	h, wait := helloOf(t)
	if h == nil || len(h.ALPN) == 0 || h.Type != clienthello.TypeClientHello {
		if wait {
			mayChange(t)
		}
		cur.more = false
		return v, false
	}
	i := 0
	if cur.all {
		i = cur.i
		cur.i++
		cur.more = cur.i < len(h.ALPN)
		if i >= len(h.ALPN) {
			return v, false
		}
	}
	return Str(appendScratch(t, h.ALPN[i])), true
}

// fetchReqSSLVer answers the version of the first record (major<<16 | minor: 3.1 is
// 0x30001), from its header alone, as HAProxy: a record of type 20 to 23 (or 255) of
// version 3.0 or later with a plausible length.
func fetchReqSSLVer(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	p := t.Payload()
	if len(p) == 0 {
		mayChange(t)
		return v, false
	}
	if !(p[0] >= 0x14 && p[0] <= 0x17 || p[0] == 0xff) {
		return v, false // SSLv2 hellos are not read
	}
	if len(p) < 5 {
		mayChange(t)
		return v, false
	}
	ver := int64(p[1])<<16 | int64(p[2])
	n := int(p[3])<<8 | int(p[4])
	if ver < 0x30000 || n < 1 || n > 1<<14+2048 {
		return v, false
	}
	return Int(ver), true
}

// mayChange marks the evaluation as one whose answer may change as more request bytes
// arrive (HAProxy's SMP_F_MAY_CHANGE): tcp-request content rules wait for them.
func mayChange(t Txn) { t.State().MayChange() }

// appendScratch copies s into the State's scratch space.
func appendScratch(t Txn, s string) []byte {
	st := t.State()
	start := len(st.scratch)
	st.scratch = append(st.scratch, s...)
	return st.scratch[start:]
}

func init() {
	use := UseContent | UseHTTPReq | UseHTTPRes
	for _, f := range []struct {
		names []string
		fn    fetchFn
		out   Type
	}{
		{[]string{"req.ssl_hello_type", "req_ssl_hello_type"}, fetchSSLHelloType, TInt},
		{[]string{"req.ssl_sni", "req_ssl_sni"}, fetchReqSSLSNI, TStr},
		{[]string{"req.ssl_alpn"}, fetchReqSSLALPN, TStr},
		{[]string{"req.ssl_ver", "req_ssl_ver"}, fetchReqSSLVer, TInt},
	} {
		def := &fetchDef{name: f.names[0], fn: f.fn, out: f.out, use: use, payload: true, mayChange: true}
		addFetch(def)
		for _, alias := range f.names[1:] {
			aliasFetch(alias, f.names[0])
		}
	}
}
