package httpproxy

import (
	"strconv"
	"time"

	"tandem/internal/config"
	"tandem/internal/http1"
)

// Error responses as HAProxy 2.6 sends them, byte for byte: 400 and 408 are answered
// while reading the request and always close; 500, 502, 503 and 504 keep the client
// connection open when it can be (the request was read whole), else say close.
type errorPage struct {
	keep  []byte // nil: the connection always closes after this one
	close []byte
}

var errorPages = map[int]errorPage{
	400: requestError(400, "Bad request", "Your browser sent an invalid request."),
	408: requestError(408, "Request Time-out", "Your browser didn't send a complete request in time."),
	422: {close: []byte("HTTP/1.1 422 Unprocessable Content\r\nContent-length: 116\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n" +
		"<html><body><h1>422 Unprocessable Content</h1>\nThe server cannot process the contained instructions.\n</body></html>\n")},
	// The pages of deny, tarpit, auth and return … default-errorfiles (HAProxy 2.6.12).
	200: serverError(200, "OK", "Service ready."),
	401: serverError(401, "Unauthorized", "You need a valid user and password to access this content."),
	403: serverError(403, "Forbidden", "Request forbidden by administrative rules."),
	404: serverError(404, "Not Found", "The resource could not be found."),
	405: serverError(405, "Method Not Allowed", "A request was made of a resource using a request method not supported by that resource"),
	407: serverError(407, "Unauthorized", "You need a valid user and password to access this content."),
	410: serverError(410, "Gone", "The resource is no longer available and will not be available again."),
	413: serverError(413, "Payload Too Large", "The request entity exceeds the maximum allowed."),
	425: serverError(425, "Too Early", "Your browser sent early data."),
	429: serverError(429, "Too Many Requests", "You have sent too many requests in a given amount of time."),
	501: serverError(501, "Not Implemented", ".The server does not support the functionality required to fulfill the request."),
	500: serverError(500, "Internal Server Error", "An internal server error occurred."),
	502: serverError(502, "Bad Gateway", "The server returned an invalid or incomplete response."),
	503: serverError(503, "Service Unavailable", "No server is available to handle this request."),
	504: serverError(504, "Gateway Time-out", "The server didn't respond in time."),
}

func errorBody(code int, reason, text string) (status, body string) {
	c := strconv.Itoa(code)
	return "HTTP/1.1 " + c + " " + reason + "\r\n", "<html><body><h1>" + c + " " + reason + "</h1>\n" + text + "\n</body></html>\n"
}

func requestError(code int, reason, text string) errorPage {
	status, body := errorBody(code, reason, text)
	return errorPage{close: []byte(status + "Content-length: " + strconv.Itoa(len(body)) + "\r\n" +
		"Cache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n" + body)}
}

func serverError(code int, reason, text string) errorPage {
	status, body := errorBody(code, reason, text)
	head := status + "content-length: " + strconv.Itoa(len(body)) + "\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n"
	return errorPage{keep: []byte(head + "\r\n" + body), close: []byte(head + "connection: close\r\n\r\n" + body)}
}

// reusableAfter reports whether a connection may stay open after the whole response b
// (an errorfile, or errorloc's redirect): its body is delimited by its Content-Length
// and it does not say close. HAProxy keeps such connections open.
func reusableAfter(b []byte) bool {
	r := new(http1.Response)
	if r.Parse(b) != nil || !r.KeepAlive() {
		return false
	}
	switch r.Framing {
	case http1.FrameLength:
		return int64(len(b)-r.Len) == r.ContentLength
	case http1.FrameNone:
		return len(b) == r.Len
	}
	return false
}

// errorResponse returns what to send for code (the backend's errorfile, else the
// frontend's, else the built-in page) and whether the connection may stay open after.
// An errorfile is sent verbatim; the connection stays open after it when its framing
// allows (reusableAfter).
func errorResponse(code int, fe *config.Frontend, be *config.Backend, keep bool) ([]byte, bool) {
	if b, ok := errorFile(code, fe, be); ok {
		return b, keep && reusableAfter(b)
	}
	p := errorPages[code]
	if keep && p.keep != nil {
		return p.keep, true
	}
	return p.close, false
}

// errorFile returns the errorfile for code: the backend's, else the frontend's.
func errorFile(code int, fe *config.Frontend, be *config.Backend) ([]byte, bool) {
	if be != nil {
		if b, ok := be.ErrorFiles[code]; ok {
			return b, true
		}
	}
	if fe != nil {
		if b, ok := fe.ErrorFiles[code]; ok {
			return b, true
		}
	}
	return nil, false
}

// replyError answers code. It keeps the connection open when keep says the client wants
// it and the request was read whole, the page allows it and no stop is under way; next
// is where the next (pipelined) request starts in the input buffer. It reports whether
// the connection stays open.
func (cc *clientConn) replyError(code int, be *config.Backend, keep bool, next int) bool {
	b, keep := errorResponse(code, cc.rs.fe, be, keep && !cc.h.draining.Load())
	return cc.writeAnswer(code, be, b, keep, next)
}

// writeAnswer sends b, a whole response the proxy made for code (an error page, a
// rule's reply or redirect), through the http-after-response rules; keep and next are
// as for replyError. Every answer the proxy makes instead of the server's goes here.
func (cc *clientConn) writeAnswer(code int, be *config.Backend, b []byte, keep bool, next int) bool {
	if cc.ex != nil {
		cc.ex.x.own = true
	}
	cc.rs.r.Stats.Response(code)
	cc.setWriteDeadline(time.Now())
	cc.logStatus(code, len(b))
	if _, err := cc.nc.Write(cc.headOnly(cc.afterRules(b, be))); err != nil {
		return false
	}
	if keep {
		cc.keepPipelined(next)
	}
	return keep
}

// lateBadRequest is HAProxy's 400 page for a request found invalid after its head went
// to the server (a bad chunk in a streamed body): the response form, as for 502.
var lateBadRequest = serverError(400, "Bad request", "Your browser sent an invalid request.").close

// sendBadBody answers 400 to a request whose body turned out invalid once its head had
// been forwarded, and leaves the connection to be closed.
func (cc *clientConn) sendBadBody(be *config.Backend) {
	b, ok := errorFile(400, cc.rs.fe, be)
	if !ok {
		b = lateBadRequest
	}
	cc.writeAnswer(400, be, b, false, 0)
}

// sendError answers code and leaves the connection to be closed.
func (cc *clientConn) sendError(code int, be *config.Backend) { cc.replyError(code, be, false, 0) }
