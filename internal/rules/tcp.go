package rules

import (
	"fmt"
	"strings"

	"tandem/internal/sample"
)

// This file compiles and runs the TCP rules (configuration.txt §4.2): tcp-request
// connection|session|content and tcp-response content. Each list runs in order; accept,
// reject and silent-drop end it, the other actions (track-sc*, sc-*, set-var, unset-var)
// go on.

// TCPPhase is the list a TCP rule belongs to.
type TCPPhase uint8

// TCP phases.
const (
	TCPConnection TCPPhase = iota // tcp-request connection
	TCPSession                    // tcp-request session
	TCPContent                    // tcp-request content
	TCPResponse                   // tcp-response content
)

var tcpPhaseNames = [...]string{"tcp-request connection", "tcp-request session", "tcp-request content", "tcp-response content"}

func (p TCPPhase) String() string { return tcpPhaseNames[p] }

// Where is what the rules of phase p can fetch. tcp-request content rules may read
// the HTTP request in mode http: the configuration refuses those in mode tcp.
func (p TCPPhase) Where() sample.Use {
	switch p {
	case TCPConnection, TCPSession:
		return sample.WhereTCPConnection
	case TCPContent:
		return sample.WhereHTTPRequest
	}
	return sample.WhereTCPResponse
}

// tcpActions are the actions each TCP phase takes.
var tcpActions = [...][]string{
	TCPConnection: {"accept", "reject", "silent-drop", "track-sc0", "track-sc1", "track-sc2", "sc-inc-gpc0", "sc-inc-gpc1", "sc-inc-gpc", "sc-set-gpt0", "sc-set-gpt", "set-var", "unset-var"},
	TCPSession:    {"accept", "reject", "silent-drop", "track-sc0", "track-sc1", "track-sc2", "sc-inc-gpc0", "sc-inc-gpc1", "sc-inc-gpc", "sc-set-gpt0", "sc-set-gpt", "set-var", "unset-var"},
	TCPContent:    {"accept", "reject", "silent-drop", "track-sc0", "track-sc1", "track-sc2", "sc-inc-gpc0", "sc-inc-gpc1", "sc-inc-gpc", "sc-set-gpt0", "sc-set-gpt", "set-var", "unset-var"},
	TCPResponse:   {"accept", "reject", "close", "silent-drop", "sc-inc-gpc0", "sc-inc-gpc1", "sc-inc-gpc", "sc-set-gpt0", "sc-set-gpt", "set-var", "unset-var"},
}

// tcpElsewhere are HAProxy 2.6 TCP actions tandem does not carry out.
var tcpElsewhere = strings.Fields(`expect-proxy expect-netscaler-cip capture do-resolve
send-spoe-group set-dst set-dst-port set-src set-src-port set-mark set-tos set-nice set-log-level
set-priority-class set-priority-offset switch-mode use-service lua set-var-fmt sc-add-gpc
sc-clr-gpc sc-clr-gpc0 sc-clr-gpc1 set-bandwidth-limit set-fc-mark set-fc-tos attach-srv`)

// ParseTCP compiles one TCP rule (args are the words after "tcp-request connection",
// "tcp-request session", "tcp-request content" or "tcp-response content").
func ParseTCP(ph TCPPhase, args []string, env *Env) (*Rule, error) {
	kw := ph.String()
	if len(args) == 0 {
		return nil, fmt.Errorf("%s: missing action (%s)", kw, strings.Join(tcpActions[ph], ", "))
	}
	name := args[0]
	base := name
	if i := strings.IndexByte(name, '('); i > 0 {
		base = name[:i]
	}
	known := false
	for _, a := range tcpActions[ph] {
		if a == base {
			known = true
		}
	}
	if !known {
		for _, a := range tcpElsewhere {
			if a == base {
				return nil, fmt.Errorf("%s %s: this HAProxy action is not supported by tandem yet", kw, base)
			}
		}
		return nil, fmt.Errorf("%s: unknown action %q (tandem supports %s)", kw, name, strings.Join(tcpActions[ph], ", "))
	}
	p := newParser(env, ph.Where(), kw+" "+base, args[1:])
	r := &Rule{}
	var err error
	switch base {
	case "accept":
		r.Action = Accept
	case "reject":
		r.Action = Reject
	case "close":
		r.Action = Close
	case "silent-drop":
		r.Action = SilentDrop
	case "set-var", "unset-var":
		err = p.variable(name, base, r)
		if err == nil && (ph == TCPConnection || ph == TCPSession) && r.VarScope != sample.ScopeSess {
			err = fmt.Errorf("%s: only sess.* variables exist before a stream starts (tandem has no proc.* variables here)", p.kw)
		}
	default:
		err = p.parseStick(name, r)
	}
	if err != nil {
		return nil, err
	}
	if r.Cond, err = p.cond(); err != nil {
		return nil, err
	}
	return r, nil
}

// Verdict is how a TCP rule list ended.
type Verdict uint8

// Verdicts.
const (
	Continue Verdict = iota // every rule ran (or none matched an ending action)
	Accepted                // accept
	Rejected                // reject
	Closed                  // tcp-response close
	Dropped                 // silent-drop: close without telling the client
	Wait                    // a condition needs more data: run again from Next when it comes
)

// RunTCP evaluates prog from rule from over t. With wait, conditions are evaluated
// as HAProxy's tcp-request content rules during inspect-delay: one that may still
// change stops the list with Wait and next is the rule to resume at (rules before it
// are not run again). Without wait every condition is final.
func RunTCP(prog Program, from int, t sample.Txn, wait bool) (v Verdict, next int) {
	for i := from; i < len(prog); i++ {
		r := prog[i]
		if r.Cond != nil {
			if wait {
				m, more := r.Cond.MatchMore(t)
				if more {
					return Wait, i
				}
				if !m {
					continue
				}
			} else if !r.Cond.Match(t) {
				continue
			}
		}
		switch r.Action {
		case Accept:
			return Accepted, i + 1
		case Reject:
			return Rejected, i + 1
		case Close:
			return Closed, i + 1
		case SilentDrop:
			return Dropped, i + 1
		case SetVar:
			if v, ok := r.Expr.Eval(t); ok {
				t.State().SetVar(r.VarScope, r.VarName, v)
			}
		case UnsetVar:
			t.State().UnsetVar(r.VarScope, r.VarName)
		case TrackSC, SCIncGPC, SCSetGPT:
			runStick(r, t)
		}
	}
	return Continue, len(prog)
}
