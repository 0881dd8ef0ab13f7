package rules

import (
	"strconv"

	"tandem/internal/sample"
)

var reasons = map[int]string{
	100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created", 202: "Accepted",
	203: "Non-Authoritative Information", 204: "No Content", 205: "Reset Content", 206: "Partial Content",
	300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
	305: "Use Proxy", 307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request",
	401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
	405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required",
	408: "Request Timeout", 409: "Conflict", 410: "Gone", 411: "Length Required",
	412: "Precondition Failed", 413: "Payload Too Large", 414: "URI Too Long",
	415: "Unsupported Media Type", 416: "Range Not Satisfiable", 417: "Expectation Failed",
	418: "I'm a teapot", 421: "Misdirected Request", 422: "Unprocessable Content", 423: "Locked",
	424: "Failed Dependency", 425: "Too Early", 426: "Upgrade Required", 428: "Precondition Required",
	429: "Too Many Requests", 431: "Request Header Fields Too Large", 451: "Unavailable For Legal Reasons",
	500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
	504: "Gateway Timeout", 505: "HTTP Version Not Supported", 506: "Variant Also Negotiates",
	507: "Insufficient Storage", 508: "Loop Detected", 510: "Not Extended",
	511: "Network Authentication Required",
}

// Reason is the standard reason phrase of a status code HAProxy writes when it
// makes a status line ("Other" for codes it does not know).
func Reason(code int) string {
	if r, ok := reasons[code]; ok {
		return r
	}
	return "Other"
}

// AppendStatusLine appends "HTTP/1.1 CODE REASON\r\n".
func AppendStatusLine(dst []byte, code int) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = appendStatus(dst, code)
	dst = append(dst, ' ')
	dst = append(dst, Reason(code)...)
	return append(dst, "\r\n"...)
}

// AppendRedirect appends the head of rule r's redirect response, without the empty
// line that ends it (the data path adds "connection: close" first when it must),
// for the request m holds. HAProxy 2.6 writes exactly these lines.
func AppendRedirect(dst []byte, r *Rule, t sample.Txn, m *Msg) []byte {
	s := r.Redirect
	dst = AppendStatusLine(dst, s.Code)
	dst = append(dst, "content-length: 0\r\nlocation: "...)
	switch s.Kind {
	case RedirLocation:
		if s.Value != nil {
			dst = s.Value.Append(dst, t)
		} else {
			dst = append(dst, s.Literal...)
		}
	default:
		var path []byte
		if m.Req != nil {
			tg := m.Req.Target.Of(m.Buf)
			pre, p, _ := splitTarget(tg)
			path = tg[len(pre):]
			if s.DropQuery {
				path = p
			}
		}
		if s.Kind == RedirScheme {
			dst = appendValue(dst, s, t)
			dst = append(dst, "://"...)
			if m.Req != nil {
				if h, ok := m.Req.Get(m.Buf, "host"); ok {
					dst = append(dst, h...)
				}
			}
			if len(path) == 0 || string(path) == "*" {
				path = slash
			}
		} else {
			start := len(dst)
			dst = appendValue(dst, s, t)
			if len(dst)-start == 1 && dst[start] == '/' {
				dst = dst[:start] // prefix "/": the same URI
			}
		}
		dst = append(dst, path...)
		if s.AppendSlash && (len(dst) == 0 || dst[len(dst)-1] != '/') {
			dst = append(dst, '/')
		}
	}
	dst = append(dst, "\r\n"...)
	if s.Code != 301 && s.Code != 308 {
		dst = append(dst, "cache-control: no-cache\r\n"...)
	}
	if s.SetCookie != "" {
		dst = append(dst, "set-cookie: "...)
		dst = append(dst, s.SetCookie...)
		dst = append(dst, "; path=/;\r\n"...)
	}
	if s.ClearCookie != "" {
		dst = append(dst, "set-cookie: "...)
		dst = append(dst, s.ClearCookie...)
		dst = append(dst, "; path=/; Max-Age=0;\r\n"...)
	}
	return dst
}

var slash = []byte("/")

func appendValue(dst []byte, s *RedirectSpec, t sample.Txn) []byte {
	if s.Value != nil {
		return s.Value.Append(dst, t)
	}
	return append(dst, s.Literal...)
}

// AppendReply appends the response of a deny, tarpit or return rule whose reply is
// built here (ReplyEmpty, ReplyBody, ReplyLF): the head without its ending empty
// line, and separately the body. ReplyDefault and ReplyRaw are the data path's
// error pages and files.
func AppendReply(head, body []byte, rp *Reply, t sample.Txn) ([]byte, []byte) {
	head = AppendStatusLine(head, rp.Status)
	for _, h := range rp.Headers {
		head = append(head, h.Name...)
		head = append(head, ": "...)
		head = h.Value.Append(head, t)
		head = append(head, "\r\n"...)
	}
	if rp.Status == 204 || rp.Status == 304 {
		return head, body // no body, no length (HAProxy 2.6)
	}
	switch rp.Kind {
	case ReplyBody:
		body = append(body, rp.Body...)
	case ReplyLF:
		body = rp.LF.Append(body, t)
	}
	head = append(head, "content-length: "...)
	head = strconv.AppendInt(head, int64(len(body)), 10)
	head = append(head, "\r\n"...)
	if rp.ContentType != "" {
		head = append(head, "content-type: "...)
		head = append(head, rp.ContentType...)
		head = append(head, "\r\n"...)
	}
	return head, body
}
