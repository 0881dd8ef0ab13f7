package e2e

import (
	"fmt"
	"strings"
)

// canonHTTP rewrites a stream of HTTP/1 messages so that what HTTP gives no meaning to
// compares equal (DIFFERENCES.md, "HTTP/1 on the wire"): header names in lower case
// (HAProxy 2.6 lowercases them, tandem forwards them as received), a chunked body as one
// chunk (HAProxy re-chunks what it forwards, tandem forwards the chunks as received) and
// the Connection header last, in lower case (tandem writes its own last). What does not
// parse is kept as it is.
func canonHTTP(s string) string {
	var out strings.Builder
	for range 1000 {
		end := strings.Index(s, "\r\n\r\n")
		if end < 0 {
			break
		}
		lines := strings.Split(s[:end], "\r\n")
		if !strings.Contains(lines[0], "HTTP/1.") {
			break
		}
		resp := strings.HasPrefix(lines[0], "HTTP/")
		status := 0
		if resp {
			fmt.Sscan(strings.TrimPrefix(lines[0][strings.IndexByte(lines[0], ' ')+1:], " "), &status)
		}
		out.WriteString(lines[0] + "\r\n")
		chunked, cl := false, -1
		var conn []string // Connection headers go last, their tokens in lower case
		for _, l := range lines[1:] {
			name, val, ok := strings.Cut(l, ":")
			if !ok {
				out.WriteString(l + "\r\n")
				continue
			}
			name = strings.ToLower(name)
			switch name {
			case "transfer-encoding":
				chunked = strings.Contains(strings.ToLower(val), "chunked")
			case "content-length":
				fmt.Sscan(strings.TrimSpace(val), &cl)
			case "connection":
				conn = append(conn, name+": "+strings.ToLower(strings.TrimSpace(val))+"\r\n")
				continue
			}
			out.WriteString(name + ":" + val + "\r\n")
		}
		for _, c := range conn {
			out.WriteString(c)
		}
		out.WriteString("\r\n")
		s = s[end+4:]
		switch {
		case resp && (status < 200 && status != 101 || status == 204 || status == 304):
		case resp && status == 101:
			out.WriteString(s)
			return out.String()
		case chunked:
			body, rest, ok := dechunk(s)
			if !ok {
				out.WriteString(s)
				return out.String()
			}
			out.WriteString(body)
			s = rest
		case cl >= 0:
			n := min(cl, len(s))
			out.WriteString(s[:n])
			s = s[n:]
		case resp: // until close
			out.WriteString(s)
			return out.String()
		}
	}
	out.WriteString(s)
	return out.String()
}

// dechunk decodes the chunked body at the start of s into one chunk (trailer names in
// lower case); ok is false when it does not parse or is incomplete.
func dechunk(s string) (canon, rest string, ok bool) {
	var data strings.Builder
	for range 100000 {
		line, after, found := strings.Cut(s, "\r\n")
		if !found {
			return "", "", false
		}
		var n int
		if _, err := fmt.Sscanf(strings.SplitN(line, ";", 2)[0], "%x", &n); err != nil {
			return "", "", false
		}
		s = after
		if n == 0 {
			var b strings.Builder
			if data.Len() > 0 {
				fmt.Fprintf(&b, "%x\r\n%s\r\n", data.Len(), data.String())
			}
			b.WriteString("0\r\n")
			for range 100 {
				l, after, found := strings.Cut(s, "\r\n")
				if !found {
					return "", "", false
				}
				s = after
				if l == "" {
					b.WriteString("\r\n")
					return b.String(), s, true
				}
				name, val, _ := strings.Cut(l, ":")
				b.WriteString(strings.ToLower(name) + ":" + val + "\r\n")
			}
			return "", "", false
		}
		if len(s) < n+2 || s[n:n+2] != "\r\n" {
			return "", "", false
		}
		data.WriteString(s[:n])
		s = s[n+2:]
	}
	return "", "", false
}

// withoutHeader removes the header lines named name (any case) from every head in the
// canonical form of s.
func withoutHeader(s, name string) string {
	c := canonHTTP(s)
	var out []string
	for _, l := range strings.SplitAfter(c, "\r\n") {
		if !strings.HasPrefix(l, strings.ToLower(name)+":") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}
