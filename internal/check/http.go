package check

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"tandem/internal/config"
)

// maxResponse bounds what an HTTP check reads (HAProxy reads up to tune.bufsize).
const maxResponse = 16384

// Expect is a parsed `http-check expect` rule.
type Expect struct {
	Negate  bool
	Match   string // "" (any 2xx/3xx), status, rstatus, string, rstring
	Ranges  [][2]int
	Pattern string
	re      *regexp.Regexp
}

// ParseExpect reads the raw `http-check expect` arguments kept by the config parser.
func ParseExpect(raw string) (Expect, error) {
	var e Expect
	args := strings.Fields(raw)
	withArg := map[string]bool{"min-recv": true, "comment": true, "ok-status": true, "error-status": true,
		"tout-status": true, "on-success": true, "on-error": true, "status-code": true}
	i := 0
	for i < len(args) && withArg[args[i]] {
		i += 2
	}
	if i < len(args) && args[i] == "!" {
		e.Negate = true
		i++
	}
	if i >= len(args) {
		return e, nil
	}
	e.Match = args[i]
	e.Pattern = strings.Join(args[i+1:], " ")
	switch e.Match {
	case "status":
		for _, code := range strings.Split(e.Pattern, ",") {
			lo, hi, isRange := strings.Cut(code, "-")
			a, err := strconv.Atoi(lo)
			if err != nil {
				return e, fmt.Errorf("http-check expect status: invalid status %q", code)
			}
			b := a
			if isRange {
				if b, err = strconv.Atoi(hi); err != nil {
					return e, fmt.Errorf("http-check expect status: invalid status %q", code)
				}
			}
			e.Ranges = append(e.Ranges, [2]int{a, b})
		}
	case "rstatus", "rstring":
		re, err := regexp.Compile(e.Pattern)
		if err != nil {
			return e, fmt.Errorf("http-check expect %s: %w", e.Match, err)
		}
		e.re = re
	case "string":
	default:
		// hdr/fhdr: not carried out yet; fall back to HAProxy's default (2xx/3xx)
		e.Match = ""
	}
	return e, nil
}

// needsBody reports whether the rule looks at the body.
func (e *Expect) needsBody() bool { return e.Match == "string" || e.Match == "rstring" }

// judge returns the check status for a response.
func (e *Expect) judge(code int, body []byte) (Status, bool) {
	var ok bool
	st := L7STS
	switch e.Match {
	case "":
		ok = code >= 200 && code < 400
	case "status":
		for _, r := range e.Ranges {
			if code >= r[0] && code <= r[1] {
				ok = true
			}
		}
	case "rstatus":
		ok = e.re.MatchString(strconv.Itoa(code))
	case "string":
		ok, st = bytes.Contains(body, []byte(e.Pattern)), L7RSP
	case "rstring":
		ok, st = e.re.Match(body), L7RSP
	}
	if ok != e.Negate {
		return L7OK, true
	}
	return st, false
}

// HTTP is the `option httpchk` check.
type HTTP struct {
	Addr   string
	TLS    *tls.Config // check-ssl: HTTPS checks
	Proxy  []byte      // the PROXY header each check starts with (nil: none)
	req    []byte
	expect Expect
}

// NewHTTP builds the check of backend settings hc.
func NewHTTP(addr string, hc config.HealthCheck) (*HTTP, error) {
	e, err := ParseExpect(hc.Expect)
	if err != nil {
		return nil, err
	}
	m, uri, ver := hc.Method, hc.URI, hc.Version
	if m == "" {
		m = "OPTIONS"
	}
	if uri == "" {
		uri = "/"
	}
	if ver == "" {
		ver = "HTTP/1.0"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s\r\n", m, uri, ver)
	hasHost := false
	for _, h := range hc.Headers {
		if name, _, _ := strings.Cut(h, ":"); strings.EqualFold(strings.TrimSpace(name), "host") {
			hasHost = true
		}
		b.WriteString(h + "\r\n")
	}
	if !hasHost && ver == "HTTP/1.1" {
		b.WriteString("Host: " + addr + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	return &HTTP{Addr: addr, req: []byte(b.String()), expect: e}, nil
}

// Request returns the bytes the check sends.
func (h *HTTP) Request() []byte { return h.req }

// Check implements Checker.
func (h *HTTP) Check(ctx context.Context) Result {
	start := time.Now()
	r := h.run(ctx)
	r.Duration = time.Since(start)
	return r
}

func (h *HTTP) run(ctx context.Context) Result {
	nc, fail := dialCheck(ctx, h.Addr, h.TLS, h.Proxy)
	if fail != nil {
		return *fail
	}
	defer abort(nc)
	defer watch(ctx, nc)()
	if _, err := nc.Write(h.req); err != nil {
		return Result{Status: L7RSP, Info: "write failed: " + errnoText(err)}
	}
	buf := make([]byte, 0, 1024)
	code, reason, headEnd := 0, "", -1
	for len(buf) < maxResponse {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := nc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if headEnd < 0 {
			if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
				headEnd = i + 4
			} else if i := bytes.Index(buf, []byte("\n\n")); i >= 0 {
				headEnd = i + 2
			}
			if code == 0 {
				if nl := bytes.IndexByte(buf, '\n'); nl >= 0 {
					var ok bool
					code, reason, ok = statusLine(buf[:nl])
					if !ok {
						return Result{Status: L7RSP, Info: "Invalid HTTP response"}
					}
				}
			}
		}
		if headEnd >= 0 && !h.expect.needsBody() {
			break
		}
		if err != nil {
			if isTimeout(err) {
				return Result{Status: L7TOUT, Info: "Read timeout"}
			}
			break
		}
	}
	if code == 0 {
		if len(buf) == 0 {
			return Result{Status: L7RSP, Info: "Empty response"}
		}
		return Result{Status: L7RSP, Info: "Invalid HTTP response"}
	}
	var body []byte
	if headEnd >= 0 {
		body = buf[headEnd:]
	}
	st, _ := h.expect.judge(code, body)
	info := reason
	if st == L7RSP && !h.expect.Negate {
		info = "TCPCHK did not match content '" + h.expect.Pattern + "'"
	}
	return Result{Status: st, Code: code, Info: info}
}

// statusLine reads "HTTP/1.x CODE REASON".
func statusLine(b []byte) (int, string, bool) {
	s := strings.TrimRight(string(b), "\r")
	if !strings.HasPrefix(s, "HTTP/") {
		return 0, "", false
	}
	_, rest, ok := strings.Cut(s, " ")
	if !ok || len(rest) < 3 {
		return 0, "", false
	}
	code, err := strconv.Atoi(rest[:3])
	if err != nil || code < 100 || code > 999 {
		return 0, "", false
	}
	return code, strings.TrimSpace(rest[3:]), true
}
