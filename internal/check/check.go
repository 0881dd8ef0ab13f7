// Package check carries out health checks as HAProxy does: one checker per protocol (TCP
// connect, HTTP per option httpchk/http-check, tcp-check rule sequences, agent-check), a
// pure rise/fall state machine (Machine) with inter/fastinter/downinter, and a Runner per
// server that checks on a jittered schedule, drives the server's live state in
// internal/backend and logs transitions with HAProxy's wording.
//
// Passive checks (observe layer4|layer7) count errors seen on live traffic through
// backend.Observer and apply on-error between active checks.
package check

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"syscall"
	"time"
)

// Status is a check's result, as HAProxy's stats page shows it.
type Status int

// Check statuses (HAProxy's names in String, its descriptions in Desc).
const (
	StatusUnknown Status = iota
	L4OK                 // connect succeeded (plain TCP check)
	L4TOUT               // connect timed out
	L4CON                // connect failed (refused, unreachable...)
	L6TOUT               // a read timed out (tcp-check)
	L6RSP                // the server answered, but not what was expected (tcp-check) or closed
	L7OK                 // HTTP check passed
	L7TOUT               // HTTP response timed out
	L7RSP                // invalid HTTP response
	L7STS                // wrong HTTP status
	L7OKC                // check passed on a conditional status (404 with disable-on-404)
	L6OK                 // TLS handshake succeeded (plain TCP check over check-ssl)
)

var statusNames = [...]string{"UNK", "L4OK", "L4TOUT", "L4CON", "L6TOUT", "L6RSP", "L7OK", "L7TOUT", "L7RSP", "L7STS", "L7OKC", "L6OK"}
var statusDescs = [...]string{"Unknown", "Layer4 check passed", "Layer4 timeout", "Layer4 connection problem",
	"Layer6 timeout", "Layer6 invalid response", "Layer7 check passed", "Layer7 timeout", "Layer7 invalid response",
	"Layer7 wrong status", "Layer7 check conditionally passed", "Layer6 check passed"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "UNK"
}

// Desc is HAProxy's long description of the status, used in log lines.
func (s Status) Desc() string {
	if int(s) < len(statusDescs) {
		return statusDescs[s]
	}
	return "Unknown"
}

// Result is the outcome of one check.
type Result struct {
	Status   Status
	Code     int    // HTTP status, 0 when none
	Info     string // detail: the error text or the response's reason phrase
	Duration time.Duration
}

// OK reports whether the check passed.
func (r Result) OK() bool {
	return r.Status == L4OK || r.Status == L6OK || r.Status == L7OK || r.Status == L7OKC
}

// Checker runs one check against a server. ctx bounds it (timeout check, or inter).
type Checker interface {
	Check(ctx context.Context) Result
}

// dialer connects the checks; tests may swap it.
var dialTCP = func(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{KeepAlive: -1} // a check lives for a moment: spare the keepalive syscalls
	return d.DialContext(ctx, "tcp", addr)
}

// abort closes a check connection with a reset, as HAProxy does, so that a thousand
// checks a second leave no TIME_WAIT sockets behind.
func abort(nc net.Conn) {
	if t, ok := nc.(*tls.Conn); ok {
		nc = t.NetConn()
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	nc.Close()
}

// connectResult turns a failed connect into a Result.
func connectResult(err error) Result {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return Result{Status: L4TOUT, Info: "Connection timed out"}
	}
	return Result{Status: L4CON, Info: errnoText(err)}
}

// errnoText is the libc text of err's errno, as HAProxy prints it ("Connection refused").
func errnoText(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		s := en.Error()
		if s != "" {
			return string(s[0]-32) + s[1:] // Go's errno strings are lower case
		}
	}
	return err.Error()
}

// watch makes nc's pending I/O fail at once when ctx ends (a stop or a reload must not
// wait for a check's timeout). Call the returned func when done with nc.
func watch(ctx context.Context, nc net.Conn) func() bool {
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	return context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
}
