package httpproxy

import (
	"bufio"
	"net"
	"net/http"
	"testing"
	"time"

	"tandem/internal/sample"
)

// The converter tandem_test_set_sess(NAME) stores its input in sess.NAME through the
// transaction's State, as the set-var action and converter do (a test stand-in, so
// this package's test does not depend on the actions).
func init() {
	sample.RegisterConverter(sample.Converter{
		Name: "tandem_test_set_sess", MinArgs: 1, MaxArgs: 1, In: sample.TStr, Out: sample.TStr,
		Compile: func(args []string, _ *sample.Ctx) (any, error) { return args[0], nil },
		Eval: func(t sample.Txn, c any, in sample.Value) (sample.Value, bool) {
			t.State().SetVar(sample.ScopeSess, c.(string), in)
			return in, true
		},
	})
}

const sessVarsCfg = `defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:1
    use_backend be_b if { req.hdr(x-login),tandem_test_set_sess(user) -m found }
    use_backend be_b if { var(sess.user) -m found }
    use_backend be_c if { var(txn.user) -m found }
    default_backend be_a
backend be_a
    server a {a}
backend be_b
    server b {b}
backend be_c
    server c {c}
`

// TestSessVarsLastTheConnection: a sess. variable set by request 1 is seen by the
// requests after it on the same client connection, and not by another connection
// (nor as a txn. variable).
func TestSessVarsLastTheConnection(t *testing.T) {
	_, addr := rulesProxy(t, sessVarsCfg, nil, "a", "b", "c")
	type conn struct {
		c  net.Conn
		br *bufio.Reader
	}
	dial := func() *conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return &conn{c, bufio.NewReader(c)}
	}
	ask := func(c *conn, extra string) string {
		t.Helper()
		c.c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n")); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(c.br, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("X-Server")
	}
	one, two := dial(), dial()
	for i, step := range []struct {
		c     *conn
		extra string
		want  string
	}{
		{one, "", "a"},                   // nothing set yet
		{two, "", "a"},                   // nor on the other connection
		{one, "X-Login: alice\r\n", "b"}, // sets sess.user
		{one, "", "b"},                   // the next request of the connection sees it
		{two, "", "a"},                   // another connection does not
		{one, "", "b"},                   // nor does it fade after a request
		{two, "X-Login: bob\r\n", "b"},
		{two, "", "b"},
	} {
		if got := ask(step.c, step.extra); got != step.want {
			t.Errorf("step %d (%q): served by %q, want %q", i, step.extra, got, step.want)
		}
	}
	three := dial()
	if got := ask(three, ""); got != "a" {
		t.Errorf("a new connection sees another's sess. variable: served by %q", got)
	}
}
