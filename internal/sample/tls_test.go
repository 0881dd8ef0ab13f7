package sample

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
	"testing"
)

// tlsTxn is a testTxn on a TLS connection.
type tlsTxn struct {
	*testTxn
	f *TLSFacts
}

func (t *tlsTxn) TLSFacts() *TLSFacts { return t.f }

func derName(tb testing.TB, n pkix.Name) []byte {
	tb.Helper()
	b, err := asn1.Marshal(n.ToRDNSequence())
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func testFacts(tb testing.TB, cert bool) *TLSFacts {
	f := &TLSFacts{SNI: []byte("Www.Example.com"), Protocol: []byte("TLSv1.3"), Cipher: []byte("TLS_AES_128_GCM_SHA256"),
		ALPN: []byte("http/1.1"), Resumed: true}
	if cert {
		f.CertUsed = true
		f.CertSubject, _ = ParseDN(derName(tb, pkix.Name{Country: []string{"FR"}, Organization: []string{"Org"},
			OrganizationalUnit: []string{"u1", "u2"}, CommonName: "client, one"}))
		f.CertIssuer, _ = ParseDN(derName(tb, pkix.Name{CommonName: "CA"}))
		f.CertSerial = []byte{0x01, 0xab}
		f.SubjectLine, _ = AppendDN(nil, f.CertSubject, "", 0, DNOneline)
		f.IssuerLine, _ = AppendDN(nil, f.CertIssuer, "", 0, DNOneline)
	}
	return f
}

// TestTLSFetches checks the TLS fetches (configuration.txt §7.3.4) on a plain
// connection, a TLS one without and one with a client certificate. What a plain
// connection answers (ssl_fc, ssl_fc_has_sni and ssl_fc_is_resumed false, the others
// nothing) is what Debian's haproxy answers (e2e TestTLSFetchesMatchHAProxy).
func TestTLSFetches(t *testing.T) {
	for _, tc := range []struct {
		expr             string
		plain, tls, cert string
		typ              Type
	}{
		{"ssl_fc", "0", "1", "1", TBool},
		{"ssl_fc_has_sni", "0", "1", "1", TBool},
		{"ssl_fc_sni", "<none>", "Www.Example.com", "Www.Example.com", TStr},
		{"ssl_fc_protocol", "<none>", "TLSv1.3", "TLSv1.3", TStr},
		{"ssl_fc_cipher", "<none>", "TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", TStr},
		{"ssl_fc_alpn", "<none>", "http/1.1", "http/1.1", TStr},
		{"ssl_fc_is_resumed", "0", "1", "1", TBool},
		{"ssl_c_used", "<none>", "0", "1", TBool},
		{"ssl_c_verify", "<none>", "0", "0", TInt},
		{"ssl_c_serial,hex", "<none>", "<none>", "01AB", TStr},
		{"ssl_c_s_dn", "<none>", "<none>", "/C=FR/O=Org/OU=u1/OU=u2/CN=client, one", TStr},
		{"ssl_c_s_dn(OU)", "<none>", "<none>", "u1", TStr},
		{"ssl_c_s_dn(OU,2)", "<none>", "<none>", "u2", TStr},
		{"ssl_c_s_dn(OU,-1)", "<none>", "<none>", "u2", TStr},
		{"ssl_c_s_dn(OU,-2)", "<none>", "<none>", "u1", TStr},
		{"ssl_c_s_dn(OU,3)", "<none>", "<none>", "<none>", TStr},
		{"ssl_c_s_dn(OU,0)", "<none>", "<none>", "<none>", TStr},
		{"ssl_c_s_dn(2.5.4.3)", "<none>", "<none>", "client, one", TStr},
		{"ssl_c_s_dn(,0,rfc2253)", "<none>", "<none>", `CN=client\, one,OU=u1+OU=u2,O=Org,C=FR`, TStr},
		{"ssl_c_i_dn(CN)", "<none>", "<none>", "CA", TStr},
		{"ssl_c_i_dn", "<none>", "<none>", "/CN=CA", TStr},
		{"ssl_c_serial", "<none>", "<none>", "\x01\xab", TBin},
		{"ssl_c_i_dn(,0,rfc2253)", "<none>", "<none>", "CN=CA", TStr},
	} {
		checkEval(t, newTxn(t, testReq), tc.expr, tc.plain, tc.typ)
		checkEval(t, &tlsTxn{newTxn(t, testReq), testFacts(t, false)}, tc.expr, tc.tls, tc.typ)
		checkEval(t, &tlsTxn{newTxn(t, testReq), testFacts(t, true)}, tc.expr, tc.cert, tc.typ)
	}
}

// TestTLSConditions: the typical lines of real configurations (issue 11's survey).
func TestTLSConditions(t *testing.T) {
	for _, tc := range []struct {
		cond        string
		plain, tlsc bool
	}{
		{"unless { ssl_fc }", true, false},
		{"if { ssl_fc }", false, true},
		{"if !{ ssl_fc }", true, false},
		{"if { ssl_fc_sni -i www.example.com }", false, true},
		{"if { ssl_fc_sni www.example.com }", false, false},
		{"if { ssl_fc_sni_end -i .example.com }", false, true},
		{"if { ssl_fc_sni_reg -i ^www\\. }", false, true},
		{"if { ssl_fc_has_sni }", false, true},
		{"if { ssl_fc_protocol TLSv1.3 }", false, true},
		{"if { ssl_fc_alpn -i h2 }", false, false},
		{"if { ssl_c_used }", false, false},
		{"if { ssl_c_verify 0 }", false, true},
	} {
		c, err := ParseCond(strings.Fields(tc.cond), NewACLSet(), nil)
		if err != nil {
			t.Errorf("%s: %v", tc.cond, err)
			continue
		}
		if got := c.Match(newTxn(t, testReq)); got != tc.plain {
			t.Errorf("%s on a plain connection: %v, want %v", tc.cond, got, tc.plain)
		}
		if got := c.Match(&tlsTxn{newTxn(t, testReq), testFacts(t, false)}); got != tc.tlsc {
			t.Errorf("%s on TLS: %v, want %v", tc.cond, got, tc.tlsc)
		}
	}
}

// TestTLSFetchAllocs: the fetches read facts gathered at the handshake.
func TestTLSFetchAllocs(t *testing.T) {
	c, err := ParseCond(strings.Fields("if { ssl_fc } { ssl_fc_sni -i www.example.com } { ssl_c_s_dn(CN) -m found } { ssl_c_s_dn(OU,-1) u2 } { ssl_c_s_dn(,0,rfc2253) -m sub Org }"), NewACLSet(), nil)
	if err != nil {
		t.Fatal(err)
	}
	txn := &tlsTxn{newTxn(t, testReq), testFacts(t, true)}
	if n := testing.AllocsPerRun(100, func() { c.Match(txn) }); n != 0 {
		t.Errorf("%v allocations per match", n)
	}
	plain := newTxn(t, testReq)
	if n := testing.AllocsPerRun(100, func() { c.Match(plain) }); n != 0 {
		t.Errorf("%v allocations per match on a plain connection", n)
	}
}

func FuzzFormatDN(f *testing.F) {
	f.Add(derName(f, pkix.Name{Country: []string{"FR"}, CommonName: " a,b# "}), "", 0, false)
	f.Add(derName(f, pkix.Name{OrganizationalUnit: []string{"x", "y"}}), "OU", -1, true)
	f.Add([]byte{0x30, 0x03, 0x31, 0x01}, "CN", 1, false)
	f.Fuzz(func(t *testing.T, raw []byte, entry string, occ int, rfc bool) {
		form := DNOneline
		if rfc {
			form = DNRFC2253
		}
		out, ok := FormatDN([]byte("p"), raw, entry, occ, form)
		if len(out) < 1 || out[0] != 'p' {
			t.Fatalf("the prefix was lost: %q", out)
		}
		if !ok && len(out) != 1 {
			t.Fatalf("no answer but %q written", out)
		}
	})
}
