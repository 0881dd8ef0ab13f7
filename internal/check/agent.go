package check

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"time"
)

// AgentReply is what an agent-check reply asks for. Fields the agent did not mention
// are left unset (HAProxy: "parameters which are not advertised by the agent are not
// changed").
type AgentReply struct {
	Weight  int    // percent of the configured weight; -1: not given
	MaxConn int    // maxconn:N; -1: not given
	Admin   string // "", "ready", "drain", "maint"
	Oper    string // "", "up", "down", "fail", "stopped"
	Desc    string // text after '#' following down/fail/stopped
}

// ParseAgentReply reads one agent line: words separated by spaces, tabs or commas, up
// to the first CR or LF.
func ParseAgentReply(line string) AgentReply {
	r := AgentReply{Weight: -1, MaxConn: -1}
	if i := strings.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	if i := strings.IndexByte(line, '#'); i >= 0 {
		r.Desc = strings.TrimSpace(line[i+1:])
		line = line[:i]
	}
	for _, w := range strings.FieldsFunc(line, func(c rune) bool { return c == ' ' || c == '\t' || c == ',' }) {
		lw := strings.ToLower(w)
		switch {
		case strings.HasSuffix(lw, "%"):
			if n, err := strconv.Atoi(lw[:len(lw)-1]); err == nil && n >= 0 {
				r.Weight = min(n, 1000)
			}
		case strings.HasPrefix(lw, "maxconn:"):
			if n, err := strconv.Atoi(lw[len("maxconn:"):]); err == nil && n >= 0 {
				r.MaxConn = n
			}
		case lw == "ready" || lw == "drain" || lw == "maint":
			r.Admin = lw
		case lw == "up" || lw == "down" || lw == "fail" || lw == "stopped":
			r.Oper = lw
		}
	}
	return r
}

// Agent is the agent-check: connect, send AgentSend, read one line.
type Agent struct {
	Addr string
	Send string
}

// AgentResult is one agent check: the connection outcome and the reply.
type AgentResult struct {
	Result
	Reply AgentReply
	Line  string
}

// CheckAgent runs one agent check. A failed connect is not a server failure (HAProxy:
// connectivity is the regular check's business); it only shows on the stats page.
func (a *Agent) CheckAgent(ctx context.Context) AgentResult {
	start := time.Now()
	out := AgentResult{Reply: AgentReply{Weight: -1, MaxConn: -1}}
	nc, err := dialTCP(ctx, a.Addr)
	if err != nil {
		out.Result = connectResult(err)
		out.Duration = time.Since(start)
		return out
	}
	defer abort(nc)
	defer watch(ctx, nc)()
	if a.Send != "" {
		if _, err := nc.Write([]byte(a.Send)); err != nil {
			out.Result = Result{Status: L7RSP, Info: errnoText(err), Duration: time.Since(start)}
			return out
		}
	}
	buf := make([]byte, 0, 256)
	tmp := make([]byte, 256)
	for len(buf) < 1024 && !bytes.ContainsAny(buf, "\r\n") {
		n, err := nc.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if err != nil {
			break
		}
	}
	out.Duration = time.Since(start)
	if len(buf) == 0 {
		out.Result.Status, out.Info = L7RSP, "Empty reply"
		return out
	}
	out.Line = strings.TrimRight(string(buf), "\r\n")
	if i := strings.IndexAny(out.Line, "\r\n"); i >= 0 {
		out.Line = out.Line[:i]
	}
	out.Reply = ParseAgentReply(out.Line)
	out.Result.Status = L7OK
	return out
}
