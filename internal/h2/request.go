package h2

import (
	"errors"
	"strconv"
	"strings"

	"golang.org/x/net/http2/hpack"

	"tandem/internal/http1"
)

// errMalformed is a request RFC 9113 §8.1.1 calls malformed: a stream error of type
// PROTOCOL_ERROR, never a forwarded request.
var errMalformed = errors.New("h2: malformed request")

// Request is an HTTP/2 request translated for the HTTP/1 engine.
type Request struct {
	Head          []byte // the HTTP/1.1 request head, through its empty line
	LogLine       string // the request line as HAProxy logs it for HTTP/2
	Method        string
	ContentLength int64 // -1: none
	Chunked       bool  // the body is sent chunked (no content-length, body follows)
	Connect       bool
}

// connectionSpecific are the header fields RFC 9113 §8.2.2 forbids.
func connectionSpecific(name string) bool {
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return true
	}
	return false
}

// validName reports whether name is a lower-case token (RFC 9113 §8.2.1).
func validName(name string) bool {
	return validToken(name) && strings.IndexFunc(name, func(c rune) bool { return c >= 'A' && c <= 'Z' }) < 0
}

// validToken reports whether s is a non-empty RFC 9110 token, as HTTP/1 checks it.
func validToken(s string) bool { return http1.IsToken([]byte(s)) }

// validValue reports whether v has no NUL, CR or LF and no leading or trailing
// whitespace (RFC 9113 §8.2.1).
func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == 0 || c == '\r' || c == '\n' || (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	if v != "" && (v[0] == ' ' || v[0] == '\t' || v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		return false
	}
	return true
}

// TranslateRequest validates the header list of a request's HEADERS (RFC 9113 §8) and
// writes it as an HTTP/1.1 request head. endStream says the HEADERS frame ended the
// stream (no body). scheme is the connection's ("https" over TLS, "http" for h2c),
// used in the log line when the request has no :scheme (CONNECT).
func TranslateRequest(fields []hpack.HeaderField, endStream bool, scheme string) (*Request, error) {
	var method, path, authority, rscheme string
	var seen [4]bool
	regular := false
	cl := int64(-1)
	var cookies []string
	for _, f := range fields {
		if strings.HasPrefix(f.Name, ":") {
			if regular {
				return nil, errMalformed // pseudo-header after a regular field
			}
			var i int
			switch f.Name {
			case ":method":
				i, method = 0, f.Value
			case ":path":
				i, path = 1, f.Value
			case ":authority":
				i, authority = 2, f.Value
			case ":scheme":
				i, rscheme = 3, f.Value
			default:
				return nil, errMalformed
			}
			if seen[i] || !validValue(f.Value) {
				return nil, errMalformed
			}
			seen[i] = true
			continue
		}
		regular = true
		if !validName(f.Name) || !validValue(f.Value) || connectionSpecific(f.Name) {
			return nil, errMalformed
		}
		switch f.Name {
		case "te":
			if f.Value != "trailers" {
				return nil, errMalformed
			}
		case "content-length":
			n, err := strconv.ParseInt(f.Value, 10, 64)
			if err != nil || n < 0 || f.Value[0] == '+' || (cl >= 0 && n != cl) {
				return nil, errMalformed
			}
			cl = n
		case "cookie":
			cookies = append(cookies, f.Value)
		}
	}
	if !seen[0] || method == "" || !validToken(method) {
		return nil, errMalformed
	}
	connect := method == "CONNECT"
	if connect {
		if seen[1] || seen[3] || authority == "" {
			return nil, errMalformed
		}
	} else {
		if !seen[1] || !seen[3] || path == "" || rscheme == "" {
			return nil, errMalformed
		}
		if path[0] != '/' && !(path == "*" && method == "OPTIONS") {
			return nil, errMalformed
		}
		for i := 0; i < len(path); i++ {
			if path[i] <= ' ' || path[i] >= 0x7f || path[i] == '#' {
				return nil, errMalformed
			}
		}
	}
	if strings.ContainsAny(authority, " \t@") {
		return nil, errMalformed
	}
	if endStream && cl > 0 {
		return nil, errMalformed // content-length disagrees with the (absent) DATA
	}
	r := &Request{Method: method, ContentLength: cl, Connect: connect}
	var b []byte
	target := path
	if connect {
		target = authority
	}
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\n"...)
	host := authority
	for _, f := range fields {
		if f.Name == "host" {
			if authority != "" && !strings.EqualFold(f.Value, authority) {
				return nil, errMalformed // :authority and Host name different entities
			}
			if host == "" {
				host = f.Value
			}
		}
	}
	if host != "" {
		b = append(b, "host: "...)
		b = append(b, host...)
		b = append(b, "\r\n"...)
	}
	for _, f := range fields {
		if f.Name[0] == ':' || f.Name == "host" || f.Name == "cookie" {
			continue
		}
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, "\r\n"...)
	}
	if len(cookies) > 0 {
		b = append(b, "cookie: "...)
		for i, c := range cookies {
			if i > 0 {
				b = append(b, "; "...)
			}
			b = append(b, c...)
		}
		b = append(b, "\r\n"...)
	}
	if !endStream && cl < 0 && !connect {
		b = append(b, "transfer-encoding: chunked\r\n"...)
		r.Chunked = true
	}
	b = append(b, "\r\n"...)
	r.Head = b
	if connect {
		r.LogLine = method + " " + authority + " HTTP/2.0"
	} else if authority != "" {
		r.LogLine = method + " " + rscheme + "://" + authority + path + " HTTP/2.0"
	} else {
		r.LogLine = method + " " + path + " HTTP/2.0"
	}
	return r, nil
}

// ValidateTrailers checks a trailing HEADERS block of a request: no pseudo-header,
// the rules of regular fields. It returns the trailer section in chunked form
// (the last chunk and the fields, through the empty line).
func ValidateTrailers(fields []hpack.HeaderField) ([]byte, error) {
	b := []byte("0\r\n")
	for _, f := range fields {
		if strings.HasPrefix(f.Name, ":") || !validName(f.Name) || !validValue(f.Value) || connectionSpecific(f.Name) {
			return nil, errMalformed
		}
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...), nil
}
