package check

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"time"

	"tandem/internal/config"
)

// TCP is the plain check: a connect that succeeds.
type TCP struct {
	Addr  string      // host:port
	TLS   *tls.Config // check-ssl: the check is a TLS handshake (nil: a connect)
	Proxy []byte      // the PROXY header each check starts with (nil: none)
}

// Check implements Checker.
func (c *TCP) Check(ctx context.Context) Result {
	start := time.Now()
	nc, fail := dialCheck(ctx, c.Addr, c.TLS, c.Proxy)
	if fail != nil {
		fail.Duration = time.Since(start)
		return *fail
	}
	abort(nc)
	if c.TLS != nil {
		return Result{Status: L6OK, Duration: time.Since(start)}
	}
	return Result{Status: L4OK, Duration: time.Since(start)}
}

// TCPRules runs a tcp-check rule sequence: connect, send, expect, in order. With no
// connect first, the sequence starts with a connect to Addr.
type TCPRules struct {
	Addr  string
	TLS   *tls.Config // check-ssl: every connect of the sequence speaks TLS
	Proxy []byte      // the PROXY header every connect of the sequence starts with
	Rules []config.TCPCheckRule
	res   []*regexp.Regexp // compiled rstring patterns, by rule index
}

// NewTCPRules compiles the rules' patterns.
func NewTCPRules(addr string, rules []config.TCPCheckRule) (*TCPRules, error) {
	t := &TCPRules{Addr: addr, Rules: rules, res: make([]*regexp.Regexp, len(rules))}
	for i, r := range rules {
		if r.Action == "expect" && r.Match == "rstring" {
			re, err := regexp.Compile(r.Pattern)
			if err != nil {
				return nil, fmt.Errorf("tcp-check expect rstring %q: %w", r.Pattern, err)
			}
			t.res[i] = re
		}
	}
	return t, nil
}

// Check implements Checker.
func (t *TCPRules) Check(ctx context.Context) Result {
	start := time.Now()
	r := t.run(ctx)
	r.Duration = time.Since(start)
	return r
}

func (t *TCPRules) run(ctx context.Context) Result {
	var nc net.Conn
	unwatch := func() bool { return false }
	defer func() {
		if nc != nil {
			unwatch()
			abort(nc)
		}
	}()
	connect := func(addr string) *Result {
		if nc != nil {
			unwatch()
			abort(nc)
			nc = nil
		}
		var fail *Result
		nc, fail = dialCheck(ctx, addr, t.TLS, t.Proxy)
		if fail != nil {
			nc = nil
			return fail
		}
		unwatch = watch(ctx, nc)
		return nil
	}
	rules := t.Rules
	if len(rules) == 0 || rules[0].Action != "connect" {
		if r := connect(t.Addr); r != nil {
			return *r
		}
	}
	var buf []byte
	for i, rule := range rules {
		switch rule.Action {
		case "connect":
			addr := t.Addr
			if rule.Port > 0 {
				host, _, _ := net.SplitHostPort(t.Addr)
				addr = net.JoinHostPort(host, strconv.Itoa(rule.Port))
			}
			if r := connect(addr); r != nil {
				return *r
			}
			buf = buf[:0]
		case "send":
			if _, err := nc.Write([]byte(rule.Data)); err != nil {
				return Result{Status: L6RSP, Info: "send failed: " + errnoText(err)}
			}
		case "expect":
			if r := t.expect(nc, i, rule, &buf); r != nil {
				return *r
			}
		}
	}
	return Result{Status: L4OK, Info: "(tcp-check)"}
}

// expect reads until rule i is decided: a plain rule passes once the pattern arrives; a
// negated one passes when data arrived without it (or the server closed), and fails as
// soon as the pattern shows. It returns nil when the rule passed.
func (t *TCPRules) expect(nc net.Conn, i int, rule config.TCPCheckRule, buf *[]byte) *Result {
	fail := func(st Status, info string) *Result { return &Result{Status: st, Info: info} }
	what := rule.Match + " " + strconv.Quote(rule.Pattern)
	for {
		found := t.matches(i, rule, *buf)
		switch {
		case found && !rule.Negate:
			return nil
		case found:
			return fail(L6RSP, fmt.Sprintf("TCPCHK matched unwanted content '%s' at step %d", rule.Pattern, i+1))
		case rule.Negate && len(*buf) > 0:
			return nil
		case len(*buf) >= maxResponse:
			return fail(L6RSP, fmt.Sprintf("TCPCHK did not match content '%s' at step %d", rule.Pattern, i+1))
		}
		tmp := make([]byte, 4096)
		n, err := nc.Read(tmp)
		*buf = append(*buf, tmp[:n]...)
		if err != nil && n == 0 {
			switch {
			case isTimeout(err):
				return fail(L6TOUT, "timeout waiting for "+what)
			case rule.Negate:
				return nil // closed without ever sending the pattern
			}
			return fail(L6RSP, fmt.Sprintf("TCPCHK did not match content '%s' at step %d", rule.Pattern, i+1))
		}
	}
}

func (t *TCPRules) matches(i int, rule config.TCPCheckRule, buf []byte) bool {
	switch rule.Match {
	case "rstring":
		return t.res[i].Match(buf)
	default: // string, binary
		return bytes.Contains(buf, []byte(rule.Pattern))
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
