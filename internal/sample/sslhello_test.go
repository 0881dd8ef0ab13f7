package sample

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// captureConn records what a TLS client writes and answers nothing.
type captureConn struct {
	net.Conn
	buf bytes.Buffer
}

func (c *captureConn) Write(p []byte) (int, error) { c.buf.Write(p); return 0, errors.New("captured") }
func (c *captureConn) Read([]byte) (int, error)    { return 0, errors.New("captured") }
func (c *captureConn) SetDeadline(time.Time) error { return nil }
func (c *captureConn) Close() error                { return nil }

// goHello returns the ClientHello Go's client sends.
func goHello(tb testing.TB, sni string, alpn ...string) []byte {
	tb.Helper()
	c := &captureConn{}
	tls.Client(c, &tls.Config{ServerName: sni, NextProtos: alpn, InsecureSkipVerify: true}).Handshake()
	if c.buf.Len() == 0 {
		tb.Fatal("no hello written")
	}
	return c.buf.Bytes()
}

// twoRecords splits the handshake message of a one-record hello over two records.
func twoRecords(hello []byte, at int) []byte {
	body := hello[5:]
	rec := func(b []byte) []byte {
		return append([]byte{22, hello[1], hello[2], byte(len(b) >> 8), byte(len(b))}, b...)
	}
	return append(rec(body[:at]), rec(body[at:])...)
}

func TestSSLHelloFetches(t *testing.T) {
	hello := goHello(t, "Pass.Example", "h2", "http/1.1")
	var long []string
	for i := 0; len(strings.Join(long, "")) < 2048; i++ {
		long = append(long, strings.Repeat("x", 60)+string(rune('a'+i%26)))
	}
	big := goHello(t, "big.example", long...)
	if len(big) < 2048 {
		t.Fatalf("big hello is %d bytes", len(big))
	}
	for _, tc := range []struct {
		name, expr string
		payload    []byte
		want       string
	}{
		{"type", "req.ssl_hello_type", hello, "1"},
		{"type alias", "req_ssl_hello_type", hello, "1"},
		{"sni", "req.ssl_sni", hello, "Pass.Example"},
		{"sni alias", "req_ssl_sni", hello, "Pass.Example"},
		{"alpn", "req.ssl_alpn", hello, "h2"},
		{"version of the record", "req.ssl_ver", hello, "196609"},
		{"two records", "req.ssl_sni", twoRecords(hello, 40), "Pass.Example"},
		{"2 KB hello", "req.ssl_sni", big, "big.example"},
		{"incomplete", "req.ssl_sni", hello[:len(hello)-1], "<none>"},
		{"incomplete type", "req.ssl_hello_type", hello[:100], "<none>"},
		{"version from the header alone", "req.ssl_ver", hello[:5], "196609"},
		{"not TLS", "req.ssl_hello_type", []byte("GET / HTTP/1.1\r\n"), "<none>"},
		{"not TLS version", "req.ssl_ver", []byte("GET / HTTP/1.1\r\n"), "<none>"},
		{"no sni", "req.ssl_sni", goHello(t, ""), "<none>"},
	} {
		txn := newTxn(t, "")
		txn.payload = tc.payload
		checkEval(t, txn, tc.expr, tc.want, TAny)
	}
	for _, tc := range []struct {
		cond string
		want bool
	}{
		{"if { req.ssl_alpn h2 }", true},
		{"if { req.ssl_alpn http/1.1 }", true}, // the second offered: HAProxy tries each
		{"if { req.ssl_alpn h3 }", false},
	} {
		c, err := ParseCond(strings.Fields(tc.cond), NewACLSet(), &Ctx{})
		if err != nil {
			t.Fatal(err)
		}
		txn := newTxn(t, "")
		txn.payload = hello
		if got := c.Match(txn); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.cond, got, tc.want)
		}
	}
	c, err := ParseCond(strings.Fields("if { req_ssl_sni -i pass.example } { req.ssl_hello_type 1 }"), NewACLSet(), &Ctx{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(hello); i += 97 { // bytes arriving: no match until the hello is whole
		txn := newTxn(t, "")
		txn.payload = hello[:i]
		if c.Match(txn) {
			t.Errorf("matched on %d of %d bytes", i, len(hello))
		}
	}
	txn := newTxn(t, "")
	txn.payload = hello
	if !c.Match(txn) {
		t.Error("no match on the whole hello")
	}
}

// TestSSLHelloParsedOnce: the req.ssl_* fetches of a condition parse the payload's
// hello once: evaluating them again over the same bytes allocates nothing, bytes that
// arrive are parsed anew, and a new transaction (ResetAll) over new bytes in the same
// buffer reads them.
func TestSSLHelloParsedOnce(t *testing.T) {
	hello := goHello(t, "Pass.Example", "h2", "http/1.1")
	c, err := ParseCond(strings.Fields("if { req_ssl_sni -i pass.example } { req.ssl_hello_type 1 } { req.ssl_alpn http/1.1 }"), NewACLSet(), &Ctx{})
	if err != nil {
		t.Fatal(err)
	}
	buf := append([]byte(nil), hello...)
	txn := newTxn(t, "")
	for _, n := range []int{1, 60, len(buf) - 1} {
		txn.payload = buf[:n]
		if c.Match(txn) {
			t.Fatalf("matched on %d of %d bytes", n, len(buf))
		}
	}
	txn.payload = buf
	if !c.Match(txn) {
		t.Fatal("no match on the whole hello")
	}
	if n := testing.AllocsPerRun(100, func() { c.Match(txn) }); n != 0 {
		t.Errorf("%.1f allocations per evaluation of three req.ssl_* fetches over a parsed hello, want 0", n)
	}
	other := goHello(t, "Pass.Elpmaxe", "h2", "http/1.1")
	if len(other) != len(buf) {
		t.Fatalf("hellos of %d and %d bytes: the test needs equal lengths", len(other), len(buf))
	}
	copy(buf, other)
	txn.st.ResetAll()
	if c.Match(txn) {
		t.Error("after ResetAll, the old hello's answer was used for new bytes in the same buffer")
	}
	checkEval(t, txn, "req.ssl_sni", "Pass.Elpmaxe", TStr)
}
