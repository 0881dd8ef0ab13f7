package sample

import (
	"fmt"
	"strings"
)

// fetchFn produces the fetch's value in *v. With cur.all set (an ACL), a fetch with
// several values returns the next one on each call and sets cur.more while others
// may follow; otherwise it returns the one HAProxy's sample context returns.
type fetchFn func(t Txn, a []arg, cur *cursor) (Value, bool)

type fetchDef struct {
	name    string
	fn      fetchFn
	args    []argKind
	minArgs int
	out     Type
	use     Use
	match   matchKind // the default match method in an ACL
	aclOnly bool      // an ACL derivative (path_beg…): not a sample fetch
	ref     RefKind   // what its first argument names (Refs)
	// mayChange: it reads request contents that may still grow (HAProxy's
	// SMP_F_MAY_CHANGE): in tcp-request content rules a miss waits for more data.
	mayChange bool
	// payload: it reads the raw request bytes (HAProxy's L6 fetches), which HAProxy
	// ignores on HTTP proxies.
	payload bool
	// compile, when set, checks and compiles the arguments once parsed (a) or as
	// written (raw), when the configuration is read.
	compile func(raw []string, a []arg, ctx *Ctx) error
}

var fetches = map[string]*fetchDef{}

func addFetch(f *fetchDef) {
	if f.match == mNone {
		f.match = defaultMatch(f.out)
	}
	fetches[f.name] = f
}

// aliasFetch registers name as another name of fetch of: a copy named name, as
// HAProxy's messages and `show acl` name the keyword as written.
func aliasFetch(name, of string) {
	f := *fetches[of]
	f.name = name
	fetches[name] = &f
}

// addDerivatives registers NAME_beg, NAME_dir, … for a string fetch, as HAProxy's
// ACL derivatives (only valid in ACLs).
func addDerivatives(base *fetchDef, names ...string) {
	for _, d := range []struct {
		sfx string
		m   matchKind
	}{{"_beg", mBeg}, {"_dir", mDir}, {"_dom", mDom}, {"_end", mEnd}, {"_len", mLen}, {"_reg", mReg}, {"_sub", mSub}} {
		for _, n := range append([]string{base.name}, names...) {
			f := *base
			f.name, f.match, f.aclOnly = n+d.sfx, d.m, true
			fetches[f.name] = &f
		}
	}
}

func lookupFetch(name string, ctx *Ctx, acl bool) (*fetchDef, error) {
	f := fetches[name]
	if f == nil {
		if strings.HasPrefix(name, "ssl_") || strings.HasPrefix(name, "req.ssl_") || strings.HasPrefix(name, "req_ssl_") {
			return nil, fmt.Errorf("unknown fetch method %q (or one of HAProxy's TLS fetches that tandem does not support yet: issue 11)", name)
		}
		return nil, fmt.Errorf("unknown fetch method %q", name)
	}
	if f.aclOnly && !acl {
		return nil, fmt.Errorf("%q is only an ACL keyword; as a sample use %q with a match in an ACL", name, f.name[:strings.LastIndexByte(f.name, '_')])
	}
	if w := ctx.where(); f.use&w == 0 {
		return nil, fmt.Errorf("fetch %q cannot be used here: it needs %s, which this rule set does not have", name, useName(f.use))
	}
	return f, nil
}

func useName(u Use) string {
	switch {
	case u&UseConn != 0:
		return "a connection"
	case u&UseContent != 0:
		return "request contents (tcp-request content or later)"
	case u&UseHTTPReq != 0:
		return "an HTTP request"
	case u&UseHTTPRes != 0:
		return "an HTTP response (http-response rules)"
	}
	return "response contents (tcp-response content)"
}

func init() {
	reqUse := UseHTTPReq | UseHTTPRes
	resUse := UseHTTPRes
	// Constants and variables.
	addFetch(&fetchDef{name: "always_true", fn: fetchConstBool(true), out: TBool, use: UseAny})
	addFetch(&fetchDef{name: "always_false", fn: fetchConstBool(false), out: TBool, use: UseAny})
	addFetch(&fetchDef{name: "int", fn: fetchInt, args: []argKind{aInt}, minArgs: 1, out: TInt, use: UseAny})
	addFetch(&fetchDef{name: "str", fn: fetchStr, args: []argKind{aStr}, minArgs: 1, out: TStr, use: UseAny})
	addFetch(&fetchDef{name: "bool", fn: fetchBoolArg, args: []argKind{aInt}, minArgs: 1, out: TBool, use: UseAny})
	addFetch(&fetchDef{name: "var", fn: fetchVar, args: []argKind{aVar, aStr}, minArgs: 1, out: TAny, use: UseAny, match: mStr})
	addFetch(&fetchDef{name: "wait_end", fn: fetchWaitEnd, mayChange: true, out: TBool, use: UseContent | reqUse | UseResContent})

	// Connection.
	addFetch(&fetchDef{name: "src", fn: fetchSrc, out: TIPv4, use: UseAny, match: mIP})
	addFetch(&fetchDef{name: "src_port", fn: fetchSrcPort, out: TInt, use: UseAny})
	addFetch(&fetchDef{name: "dst", fn: fetchDst, out: TIPv4, use: UseAny, match: mIP})
	addFetch(&fetchDef{name: "dst_port", fn: fetchDstPort, out: TInt, use: UseAny})
	addFetch(&fetchDef{name: "nbsrv", fn: fetchCounter(NbSrv), args: []argKind{aStr}, out: TInt, use: UseAny, ref: RefBackend})
	addFetch(&fetchDef{name: "srv_is_up", fn: fetchSrvIsUp, args: []argKind{aStr}, minArgs: 1, out: TBool, use: UseAny, compile: checkServerRef, ref: RefServer})
	addFetch(&fetchDef{name: "srv_conn", fn: fetchSrvConn, args: []argKind{aStr}, minArgs: 1, out: TInt, use: UseAny, compile: checkServerRef, ref: RefServer})
	addFetch(&fetchDef{name: "be_conn", fn: fetchCounter(BeConn), args: []argKind{aStr}, out: TInt, use: UseAny, ref: RefBackend})
	addFetch(&fetchDef{name: "fe_conn", fn: fetchCounter(FeConn), args: []argKind{aStr}, out: TInt, use: UseAny, ref: RefFrontend})

	// Request contents.
	addFetch(&fetchDef{name: "req.len", fn: fetchReqLen, payload: true, mayChange: true, out: TInt, use: UseContent | reqUse})
	aliasFetch("req_len", "req.len")
	addFetch(&fetchDef{name: "req.payload", fn: fetchPayload, payload: true, mayChange: true, args: []argKind{aInt, aInt}, minArgs: 2, out: TBin, use: UseContent | reqUse, match: mBin})
	addFetch(&fetchDef{name: "req.rdp_cookie_cnt", fn: fetchRDPCookieCnt, payload: true, mayChange: true, args: []argKind{aStr}, out: TInt, use: UseContent | reqUse})
	aliasFetch("rdp_cookie_cnt", "req.rdp_cookie_cnt")

	// Response contents (tcp-response content).
	addFetch(&fetchDef{name: "res.len", fn: fetchResLen, mayChange: true, payload: true, out: TInt, use: UseResContent})
	addFetch(&fetchDef{name: "res.payload", fn: fetchResPayload, args: []argKind{aInt, aInt}, minArgs: 2, mayChange: true, payload: true, out: TBin, use: UseResContent, match: mBin})

	// The HTTP request.
	addFetch(&fetchDef{name: "req.proto_http", fn: fetchProtoHTTP, mayChange: true, out: TBool, use: UseContent | reqUse})
	addFetch(&fetchDef{name: "req.ver", fn: fetchReqVer, out: TStr, use: reqUse})
	aliasFetch("req_ver", "req.ver")
	addFetch(&fetchDef{name: "method", fn: fetchMethod, out: TMeth, use: reqUse})
	for _, p := range []struct {
		name  string
		fn    fetchFn
		alias []string
	}{
		{"path", fetchPath, nil}, {"url", fetchURL, nil}, {"base", fetchBase, nil},
		{"query", fetchQuery, nil}, {"pathq", fetchPathQ, nil},
	} {
		f := &fetchDef{name: p.name, fn: p.fn, out: TStr, use: reqUse}
		addFetch(f)
		if p.name != "query" && p.name != "pathq" {
			addDerivatives(f)
		}
	}
	up := &fetchDef{name: "urlp", fn: fetchURLParam, args: []argKind{aStr, aStr}, out: TStr, use: reqUse}
	addFetch(up)
	aliasFetch("url_param", "urlp")
	addDerivatives(up)
	addFetch(&fetchDef{name: "urlp_val", fn: fetchURLParamVal, args: []argKind{aStr, aStr}, out: TInt, use: reqUse})

	hdrArgs := []argKind{aHdrName, aInt}
	hdr := &fetchDef{name: "hdr", fn: fetchHdr(dirAuto, true), args: hdrArgs, out: TStr, use: reqUse}
	addFetch(hdr)
	// The hdr_* ACL keywords always read the request.
	addDerivatives(&fetchDef{name: "hdr", fn: fetchHdr(dirReq, true), args: hdrArgs, out: TStr, use: reqUse})
	addFetch(&fetchDef{name: "req.hdr", fn: fetchHdr(dirReq, true), args: hdrArgs, out: TStr, use: reqUse})
	addFetch(&fetchDef{name: "req.fhdr", fn: fetchHdr(dirReq, false), args: hdrArgs, minArgs: 1, out: TStr, use: reqUse})
	addFetch(&fetchDef{name: "hdr_cnt", fn: fetchHdrCnt(dirReq, true), args: []argKind{aHdrName}, out: TInt, use: reqUse})
	aliasFetch("req.hdr_cnt", "hdr_cnt")
	addFetch(&fetchDef{name: "req.fhdr_cnt", fn: fetchHdrCnt(dirReq, false), args: []argKind{aHdrName}, out: TInt, use: reqUse})
	addFetch(&fetchDef{name: "hdr_val", fn: fetchHdrVal(dirReq), args: hdrArgs, out: TInt, use: reqUse})
	aliasFetch("req.hdr_val", "hdr_val")
	addFetch(&fetchDef{name: "hdr_ip", fn: fetchHdrIP(dirReq), args: hdrArgs, out: TIPv4, use: reqUse, match: mIP})
	aliasFetch("req.hdr_ip", "hdr_ip")
	ck := &fetchDef{name: "req.cook", fn: fetchCook(dirReq), args: []argKind{aStr}, out: TStr, use: reqUse}
	addFetch(ck)
	addDerivatives(ck, "cook")
	aliasFetch("cook", "req.cook")
	addFetch(&fetchDef{name: "req.cook_cnt", fn: fetchCookCnt(dirReq), args: []argKind{aStr}, out: TInt, use: reqUse})
	aliasFetch("cook_cnt", "req.cook_cnt")
	addFetch(&fetchDef{name: "req.cook_val", fn: fetchCookVal(dirReq), args: []argKind{aStr}, out: TInt, use: reqUse})
	aliasFetch("cook_val", "req.cook_val")

	// The HTTP response.
	addFetch(&fetchDef{name: "status", fn: fetchStatus, out: TInt, use: resUse})
	addFetch(&fetchDef{name: "res.ver", fn: fetchResVer, out: TStr, use: resUse})
	rh := &fetchDef{name: "res.hdr", fn: fetchHdr(dirRes, true), args: hdrArgs, out: TStr, use: resUse}
	addFetch(rh)
	addDerivatives(&fetchDef{name: "shdr", fn: rh.fn, args: hdrArgs, out: TStr, use: resUse})
	aliasFetch("shdr", "res.hdr")
	addFetch(&fetchDef{name: "res.fhdr", fn: fetchHdr(dirRes, false), args: hdrArgs, minArgs: 1, out: TStr, use: resUse})
	addFetch(&fetchDef{name: "res.hdr_cnt", fn: fetchHdrCnt(dirRes, true), args: []argKind{aHdrName}, out: TInt, use: resUse})
	aliasFetch("shdr_cnt", "res.hdr_cnt")
	addFetch(&fetchDef{name: "res.fhdr_cnt", fn: fetchHdrCnt(dirRes, false), args: []argKind{aHdrName}, out: TInt, use: resUse})
	addFetch(&fetchDef{name: "res.hdr_val", fn: fetchHdrVal(dirRes), args: hdrArgs, out: TInt, use: resUse})
	aliasFetch("shdr_val", "res.hdr_val")
	rc := &fetchDef{name: "res.cook", fn: fetchCook(dirRes), args: []argKind{aStr}, out: TStr, use: resUse}
	addFetch(rc)
	addDerivatives(&fetchDef{name: "scook", fn: rc.fn, args: rc.args, out: TStr, use: resUse})
	aliasFetch("scook", "res.cook")
	addFetch(&fetchDef{name: "res.cook_cnt", fn: fetchCookCnt(dirRes), args: []argKind{aStr}, out: TInt, use: resUse})
	addFetch(&fetchDef{name: "res.cook_val", fn: fetchCookVal(dirRes), args: []argKind{aStr}, out: TInt, use: resUse})

	predefinedACLs = buildPredefined()
}

func checkServerRef(_ []string, a []arg, _ *Ctx) error {
	s := a[0].s
	if i := strings.IndexByte(s, '/'); i == 0 || i == len(s)-1 {
		return fmt.Errorf("%q: expected [BACKEND/]SERVER", s)
	}
	return nil
}
