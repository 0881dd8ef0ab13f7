// Package http1 parses HTTP/1.x message heads and frames their bodies, strictly per
// RFC 9112, without allocating and without I/O.
//
// A head is parsed in place: names, values, method, target and reason are spans into the
// caller's buffer, valid as long as the buffer is. Anything that could let two parties
// disagree on where a message ends (request smuggling) is rejected with an *Error that
// carries the status a proxy answers (400 for requests, 502 for responses).
package http1

import (
	"bytes"
	"errors"
)

// MaxHeaders is the most header lines a head may carry: config.MaxHeaders (HAProxy's
// tune.http.maxhdr), written again here because config imports the sample language,
// which reads parsed heads (TestMaxHeadersIsConfigs keeps the two equal).
const MaxHeaders = 101

// ErrNeedMore means the buffer does not yet hold a whole head.
var ErrNeedMore = errors.New("http1: incomplete message head")

// Error is a parse failure and the status a proxy answers for it.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string { return "http1: " + e.Reason }

func reqErr(reason string) *Error  { return &Error{Status: 400, Reason: reason} }
func respErr(reason string) *Error { return &Error{Status: 502, Reason: reason} }

// Errors the parsers return (shared values: returning them does not allocate).
var (
	ErrRequestLine     = reqErr("malformed request line")
	ErrMethod          = reqErr("invalid method")
	ErrTarget          = reqErr("invalid request target")
	ErrVersion         = reqErr("unsupported http version")
	ErrHeaderName      = reqErr("invalid header name")
	ErrHeaderValue     = reqErr("invalid header value")
	ErrBareLF          = reqErr("bare lf line ending")
	ErrObsFold         = reqErr("obsolete line folding")
	ErrTooManyHeaders  = reqErr("too many header lines")
	ErrHeadTooLarge    = reqErr("message head too large")
	ErrContentLength   = reqErr("invalid content-length")
	ErrTransferEnc     = reqErr("invalid transfer-encoding")
	ErrTEWithHTTP10    = reqErr("transfer-encoding in an http/1.0 request")
	ErrHost            = reqErr("invalid or repeated host")
	ErrNoHost          = reqErr("http/1.1 request without host")
	ErrHostMismatch    = reqErr("absolute-form target whose authority is not the host")
	ErrTECoding        = &Error{Status: 422, Reason: "transfer-coding other than chunked"} // HAProxy answers 422
	ErrRespStatusLine  = respErr("malformed status line")
	ErrRespHeaderName  = respErr("invalid header name")
	ErrRespHeaderValue = respErr("invalid header value")
	ErrRespBareLF      = respErr("bare lf line ending")
	ErrRespObsFold     = respErr("obsolete line folding")
	ErrRespTooMany     = respErr("too many header lines")
	ErrRespCL          = respErr("invalid content-length")
	ErrRespTE          = respErr("invalid transfer-encoding")
)

// Span is a byte range [Start, End) of the buffer a head was parsed from.
type Span struct{ Start, End int32 }

// Of returns the span's bytes in buf.
func (s Span) Of(buf []byte) []byte { return buf[s.Start:s.End] }

// Len is the span's length.
func (s Span) Len() int { return int(s.End - s.Start) }

// Kind classifies the header names a proxy acts on.
type Kind uint8

// Header kinds.
const (
	KOther Kind = iota
	KConnection
	KKeepAlive
	KProxyConnection
	KTE
	KUpgrade
	KContentLength
	KTransferEncoding
	KHost
	KExpect
	KCookie
	KSetCookie
	KCacheControl
	KPragma
	KTrailer
	KXForwardedFor
	KExpires
	KLastModified
)

// Header is one header line: its name and its value with surrounding whitespace trimmed.
// Line spans the whole line including its CRLF.
type Header struct {
	Name, Value Span
	LineStart   int32
	LineEnd     int32
	Kind        Kind
}

// Framing is how a message's body is delimited.
type Framing uint8

// Framings.
const (
	FrameNone    Framing = iota // no body
	FrameLength                 // Content-Length bytes
	FrameChunked                // chunked transfer coding
	FrameClose                  // until the connection closes (responses only)
)

func (f Framing) String() string {
	switch f {
	case FrameNone:
		return "none"
	case FrameLength:
		return "length"
	case FrameChunked:
		return "chunked"
	}
	return "close"
}

// Flags record what the parser saw in a head.
type Flags uint32

// Flag bits.
const (
	FConnClose     Flags = 1 << iota // Connection: close
	FConnKeepAlive                   // Connection: keep-alive
	FConnUpgrade                     // Connection: upgrade
	FConnOther                       // Connection names other headers (they are hop-by-hop)
	FUpgrade                         // an Upgrade header is present
	FExpect100                       // Expect: 100-continue
	FHasCL                           // a Content-Length header is present
	FHasTE                           // a Transfer-Encoding header is present
	FCLAndTE                         // both: CL must be dropped and the connection closed after
	FTEChunkedLast                   // the final transfer coding is chunked
	FHasHost
	FCookie    // a Cookie header is present
	FSetCookie // a Set-Cookie header is present
	FCacheCtl  // a Cache-Control header is present
	FCLMulti   // Content-Length was repeated (identical values): forward one
	fTEOther   // a transfer coding other than chunked
	FNoVersion // an HTTP/0.9 request line (ParseLax): forward it as HTTP/1.0
)

// Head is what requests and responses share.
type Head struct {
	Minor         uint8 // HTTP/1.<Minor>
	Flags         Flags
	Framing       Framing
	NHeaders      int
	Len           int   // bytes of the head, through the empty line
	ContentLength int64 // valid when Flags&FHasCL
	StartLineEnd  int32 // offset just past the start line's CRLF
	Headers       [MaxHeaders]Header
}

// Has reports whether every flag of f is set.
func (h *Head) Has(f Flags) bool { return h.Flags&f == f }

// Get returns the value of the first header named name (ASCII case-insensitive).
func (h *Head) Get(buf []byte, name string) ([]byte, bool) {
	for i := 0; i < h.NHeaders; i++ {
		hd := &h.Headers[i]
		if EqualFold(hd.Name.Of(buf), name) {
			return hd.Value.Of(buf), true
		}
	}
	return nil, false
}

// KeepAlive reports whether the sender of the head wants the connection kept open
// (HTTP/1.1 unless "close", HTTP/1.0 only with "keep-alive").
func (h *Head) KeepAlive() bool {
	if h.Flags&FConnClose != 0 {
		return false
	}
	if h.Minor == 0 {
		return h.Flags&FConnKeepAlive != 0
	}
	return true
}

// Method identifies the request methods framing depends on.
type Method uint8

// Methods.
const (
	MethodOther Method = iota
	MethodGET
	MethodHEAD
	MethodPOST
	MethodCONNECT
	MethodOPTIONS
)

// Request is a parsed request head.
type Request struct {
	Head
	Method   Method
	MethodSp Span
	Target   Span
}

// Response is a parsed response head.
type Response struct {
	Head
	Status int
	Reason Span
}

// BodyFraming is the framing of a response to a request of method m (RFC 9112 §6.3):
// HEAD responses and 1xx, 204 and 304 have no body whatever their headers say.
func (r *Response) BodyFraming(m Method) Framing {
	if m == MethodHEAD || r.Status < 200 || r.Status == 204 || r.Status == 304 {
		return FrameNone
	}
	return r.Framing
}

// EndOfHead returns the length of the head at the start of b (through the empty line
// that ends it, leading empty lines included), or -1 when b holds no empty line yet.
// A bare-LF empty line also ends a head, so that the parser can reject it.
func EndOfHead(b []byte) int {
	i := 0
	for i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n' {
		i += 2
	}
	for {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j + 1
		if i < len(b) && b[i] == '\n' {
			return i + 1
		}
		if i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n' {
			return i + 2
		}
		if i+1 >= len(b) {
			return -1
		}
	}
}

// EqualFold reports whether b equals the lower-case ASCII string s, ignoring ASCII case in b.
func EqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower(s[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// tchar: RFC 9110 token characters.
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return
}()

// vchar: bytes allowed inside a field value: VCHAR, obs-text, SP, HTAB.
var vchar = func() (t [256]bool) {
	for c := 0x21; c <= 0xff; c++ {
		t[c] = c != 0x7f
	}
	t[' '], t['\t'] = true, true
	return
}()

// IsToken reports whether b is a non-empty RFC 9110 token.
func IsToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tchar[c] {
			return false
		}
	}
	return true
}

func kindOf(n []byte) Kind {
	switch len(n) {
	case 2:
		if EqualFold(n, "te") {
			return KTE
		}
	case 4:
		if EqualFold(n, "host") {
			return KHost
		}
	case 6:
		if EqualFold(n, "cookie") {
			return KCookie
		}
		if EqualFold(n, "expect") {
			return KExpect
		}
		if EqualFold(n, "pragma") {
			return KPragma
		}
	case 7:
		if EqualFold(n, "upgrade") {
			return KUpgrade
		}
		if EqualFold(n, "trailer") {
			return KTrailer
		}
		if EqualFold(n, "expires") {
			return KExpires
		}
	case 10:
		if EqualFold(n, "connection") {
			return KConnection
		}
		if EqualFold(n, "keep-alive") {
			return KKeepAlive
		}
		if EqualFold(n, "set-cookie") {
			return KSetCookie
		}
	case 13:
		if EqualFold(n, "cache-control") {
			return KCacheControl
		}
		if EqualFold(n, "last-modified") {
			return KLastModified
		}
	case 14:
		if EqualFold(n, "content-length") {
			return KContentLength
		}
	case 15:
		if EqualFold(n, "x-forwarded-for") {
			return KXForwardedFor
		}
	case 16:
		if EqualFold(n, "proxy-connection") {
			return KProxyConnection
		}
	case 17:
		if EqualFold(n, "transfer-encoding") {
			return KTransferEncoding
		}
	}
	return KOther
}

// NextToken splits a comma-separated list: it returns the first element of v with
// surrounding whitespace trimmed and the rest after the comma.
func NextToken(v []byte) (tok, rest []byte) {
	i := 0
	for i < len(v) && v[i] != ',' {
		i++
	}
	tok, rest = v[:i], nil
	if i < len(v) {
		rest = v[i+1:]
	}
	for len(tok) > 0 && (tok[0] == ' ' || tok[0] == '\t') {
		tok = tok[1:]
	}
	for len(tok) > 0 && (tok[len(tok)-1] == ' ' || tok[len(tok)-1] == '\t') {
		tok = tok[:len(tok)-1]
	}
	return tok, rest
}
