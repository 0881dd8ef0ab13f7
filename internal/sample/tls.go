package sample

import (
	"crypto/x509/pkix"
	"fmt"
)

// TLSFacts are what HAProxy's ssl_fc_* and ssl_c_* fetches read of the client
// connection (configuration.txt §7.3.4), gathered once when its handshake ends.
type TLSFacts struct {
	SNI      []byte // as the client sent it; nil when none
	ALPN     []byte // the protocol agreed; nil when none
	Protocol []byte // "TLSv1.2", "TLSv1.3"
	Cipher   []byte // OpenSSL's name of the suite
	Resumed  bool
	// The client certificate, verified (a failed verification ends the handshake):
	// CertUsed is false when the client sent none.
	CertUsed                bool
	CertSubject, CertIssuer pkix.RDNSequence
	CertSerial              []byte // the serial number's big-endian magnitude
	SubjectLine, IssuerLine []byte // the names as AppendDN writes them by default
}

// TLSTxn is a Txn whose connection may be TLS. TLSFacts returns nil for a plain
// connection; a Txn that does not implement TLSTxn has only plain connections.
type TLSTxn interface {
	TLSFacts() *TLSFacts
}

func tlsFacts(t Txn) *TLSFacts {
	if tt, ok := t.(TLSTxn); ok {
		return tt.TLSFacts()
	}
	return nil
}

// fetchTLSStr answers a string fact: nothing on a plain connection or when the fact
// is empty, as HAProxy.
func fetchTLSStr(get func(*TLSFacts) []byte) fetchFn {
	return func(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
		f := tlsFacts(t)
		if f == nil {
			return v, false
		}
		b := get(f)
		if len(b) == 0 {
			return v, false
		}
		return Str(b), true
	}
}

func fetchSSLFc(t Txn, _ []arg, _ *cursor) (Value, bool) { return Bool(tlsFacts(t) != nil), true }

func fetchSSLHasSNI(t Txn, _ []arg, _ *cursor) (Value, bool) {
	f := tlsFacts(t)
	return Bool(f != nil && len(f.SNI) > 0), true
}

// fetchSSLResumed answers false on a plain connection, as HAProxy.
func fetchSSLResumed(t Txn, _ []arg, _ *cursor) (Value, bool) {
	f := tlsFacts(t)
	return Bool(f != nil && f.Resumed), true
}

func fetchSSLCUsed(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	f := tlsFacts(t)
	if f == nil {
		return v, false
	}
	return Bool(f.CertUsed), true
}

// fetchSSLCVerify is OpenSSL's verify result: 0 (X509_V_OK), as a certificate that
// fails verification ends the handshake.
func fetchSSLCVerify(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	if tlsFacts(t) == nil {
		return v, false
	}
	return Int(0), true
}

func fetchSSLCSerial(t Txn, _ []arg, _ *cursor) (v Value, ok bool) {
	f := tlsFacts(t)
	if f == nil || !f.CertUsed {
		return v, false
	}
	return Value{Type: TBin, B: f.CertSerial}, true
}

// fetchSSLCDN answers ssl_c_s_dn and ssl_c_i_dn([entry[,occ[,format]]]). Without
// arguments it reads the line made at the handshake; the other forms are written in
// the State's scratch space, without allocating once it has grown.
func fetchSSLCDN(issuer bool) fetchFn {
	return func(t Txn, a []arg, _ *cursor) (v Value, ok bool) {
		f := tlsFacts(t)
		if f == nil || !f.CertUsed {
			return v, false
		}
		raw, line := f.CertSubject, f.SubjectLine
		if issuer {
			raw, line = f.CertIssuer, f.IssuerLine
		}
		entry, form := a[0].s, DNOneline
		if a[2].s == "rfc2253" {
			form = DNRFC2253
		}
		if entry == "" && form == DNOneline {
			return Str(line), len(line) > 0
		}
		occ := 1
		if a[1].set {
			occ = int(a[1].i)
		}
		st := t.State()
		start := len(st.scratch)
		out, ok := AppendDN(st.scratch, raw, entry, occ, form)
		if !ok {
			return v, false
		}
		st.scratch = out
		return Str(out[start:]), true
	}
}

func checkDNArgs(_ []string, a []arg, _ *Ctx) error {
	if a[2].set && a[2].s != "rfc2253" {
		return fmt.Errorf("format %q: HAProxy knows only \"rfc2253\"", a[2].s)
	}
	return nil
}

func init() {
	addFetch(&fetchDef{name: "ssl_fc", fn: fetchSSLFc, out: TBool, use: UseAny})
	addFetch(&fetchDef{name: "ssl_fc_has_sni", fn: fetchSSLHasSNI, out: TBool, use: UseAny})
	sni := &fetchDef{name: "ssl_fc_sni", fn: fetchTLSStr(func(f *TLSFacts) []byte { return f.SNI }), out: TStr, use: UseAny}
	addFetch(sni)
	for _, d := range []struct {
		sfx string
		m   matchKind
	}{{"_end", mEnd}, {"_reg", mReg}} { // HAProxy's two ACL derivatives of ssl_fc_sni
		f := *sni
		f.name, f.match, f.aclOnly = sni.name+d.sfx, d.m, true
		fetches[f.name] = &f
	}
	addFetch(&fetchDef{name: "ssl_fc_protocol", fn: fetchTLSStr(func(f *TLSFacts) []byte { return f.Protocol }), out: TStr, use: UseAny})
	addFetch(&fetchDef{name: "ssl_fc_cipher", fn: fetchTLSStr(func(f *TLSFacts) []byte { return f.Cipher }), out: TStr, use: UseAny})
	addFetch(&fetchDef{name: "ssl_fc_alpn", fn: fetchTLSStr(func(f *TLSFacts) []byte { return f.ALPN }), out: TStr, use: UseAny})
	// HAProxy 2.6 has no "ssl_fc_session_reused": ssl_fc_is_resumed is its name.
	addFetch(&fetchDef{name: "ssl_fc_is_resumed", fn: fetchSSLResumed, out: TBool, use: UseAny})
	addFetch(&fetchDef{name: "ssl_c_used", fn: fetchSSLCUsed, out: TBool, use: UseAny})
	addFetch(&fetchDef{name: "ssl_c_verify", fn: fetchSSLCVerify, out: TInt, use: UseAny})
	addFetch(&fetchDef{name: "ssl_c_serial", fn: fetchSSLCSerial, out: TBin, use: UseAny})
	dnArgs := []argKind{aStr, aInt, aStr}
	addFetch(&fetchDef{name: "ssl_c_s_dn", fn: fetchSSLCDN(false), args: dnArgs, out: TStr, use: UseAny, compile: checkDNArgs})
	addFetch(&fetchDef{name: "ssl_c_i_dn", fn: fetchSSLCDN(true), args: dnArgs, out: TStr, use: UseAny, compile: checkDNArgs})
}
