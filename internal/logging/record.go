// Package logging writes HAProxy-compatible traffic logs and tandem's own events to
// syslog targets: UDP (ipv4@, ipv6@, host:port), unix datagram sockets (/dev/log),
// stdout and stderr, in the rfc3164, local, rfc5424, priority, short, timed, iso and raw
// framings.
//
// The data path fills a Record per request (HTTP) or per session (TCP) and calls
// Logger.Log. The line is formatted into a pooled buffer and handed to one bounded
// queue per target; a sender goroutine per target writes it. A slow or missing log
// server never blocks the data path: when a queue is full the line is dropped and
// counted (Target.Drops).
//
// The log-format engine understands HAProxy's %-variables; the default httplog and
// tcplog lines are byte-compatible with HAProxy 2.6's so halog and existing parsers
// read them.
package logging

import (
	"net/netip"
	"time"
)

// Record is what one log line is made of. The data path owns one per connection (or
// per pooled exchange) and reuses it: Reset clears it without freeing its buffers.
//
// Durations are in milliseconds; -1 means the step was never reached, as in HAProxy.
type Record struct {
	// Level is http-request set-log-level's choice: 0 leaves the line's level to the
	// logger, L+1 sends the line at syslog level L, and LevelSilent drops it.
	Level int8

	Client   netip.AddrPort // %ci %cp
	Frontend netip.AddrPort // %fi %fp: the local address the client connected to
	Server   netip.AddrPort // %si %sp
	Source   netip.AddrPort // %bi %bp: tandem's address on the server connection

	Accept  time.Time // %t: when the connection was accepted
	Request time.Time // %tr: when the request's first byte arrived (HTTP)

	FrontendName string // %f %ft
	BackendName  string // %b ("" : the frontend's name, as HAProxy)
	ServerName   string // %s ("" : <NOSRV>)

	Th, Ti, TR, Tw, Tc, Tr, Ta, Tt int64

	Status      int   // %ST, 0 when none (logged as -1... HAProxy prints 0 only for TCP)
	BytesOut    int64 // %B: bytes sent to the client
	BytesIn     int64 // %U: bytes received from the client
	Retries     int   // %rc
	Redispatch  bool  // %rc gets a '+' prefix
	ActConn     int   // %ac
	FeConn      int   // %fc
	BeConn      int   // %bc
	SrvConn     int   // %sc
	SrvQueue    int   // %sq
	BeQueue     int   // %bq
	Term        [4]byte
	ReqLine     []byte   // %r, the request line as received
	ReqCaptures [][]byte // %hr, in `capture request header` order; nil entry: header absent
	ResCaptures [][]byte // %hs
	HasReq      bool     // an HTTP request line was read (else %r is <BADREQ>)
	ReqCounter  uint64   // %rt
}

// Reset clears r for the next request, keeping its buffers.
func (r *Record) Reset() {
	reqLine, rq, rs := r.ReqLine[:0], r.ReqCaptures[:0], r.ResCaptures[:0]
	*r = Record{ReqLine: reqLine, ReqCaptures: rq, ResCaptures: rs}
	r.Th, r.Ti, r.TR, r.Tw, r.Tc, r.Tr, r.Ta, r.Tt = -1, -1, -1, -1, -1, -1, -1, -1
	r.Term = [4]byte{'-', '-', '-', '-'}
}

// NewRecord returns a reset record with room for a request line of up to max bytes
// (HAProxy's tune.http.logurilen, 1024).
func NewRecord(max int) *Record {
	r := &Record{ReqLine: make([]byte, 0, max)}
	r.Reset()
	return r
}

// SetReqLine copies line into the record, truncated to the record's capacity.
func (r *Record) SetReqLine(line []byte) {
	n := min(len(line), cap(r.ReqLine))
	r.ReqLine = append(r.ReqLine[:0], line[:n]...)
	r.HasReq = true
}

// SetCapture stores value (absent: not present) as request capture i, truncated to
// max bytes, reusing the record's buffers.
func (r *Record) SetCapture(i int, value []byte, present bool, max int) {
	r.ReqCaptures = setCapture(r.ReqCaptures, i, value, present, max)
}

// SetResCapture is SetCapture for response captures (%hs).
func (r *Record) SetResCapture(i int, value []byte, present bool, max int) {
	r.ResCaptures = setCapture(r.ResCaptures, i, value, present, max)
}

func setCapture(caps [][]byte, i int, value []byte, present bool, max int) [][]byte {
	for len(caps) <= i {
		if len(caps) < cap(caps) {
			caps = caps[:len(caps)+1]
			caps[len(caps)-1] = caps[len(caps)-1][:0]
		} else {
			caps = append(caps, make([]byte, 0, max))
		}
	}
	if !present {
		caps[i] = caps[i][:0]
		return caps
	}
	value = value[:min(len(value), max)]
	caps[i] = append(caps[i][:0], value...)
	return caps
}

// Termination causes (first character of %ts), as HAProxy documents them in
// "Session state at disconnection".
const (
	TermNone          = '-'
	TermClientAbort   = 'C'
	TermServerAbort   = 'S'
	TermProxy         = 'P' // the proxy refused or answered itself (deny, 503 without server...)
	TermResource      = 'R'
	TermInternal      = 'I'
	TermDown          = 'D'
	TermLocal         = 'L' // answered locally (stats page, ...)
	TermKilled        = 'K'
	TermClientTimeout = 'c'
	TermServerTimeout = 's'
)

// Session states at the end (second character of %ts).
const (
	StateNone    = '-'
	StateRequest = 'R' // waiting for the request
	StateQueue   = 'Q'
	StateConnect = 'C'
	StateHeaders = 'H' // waiting for the response headers
	StateData    = 'D'
	StateLast    = 'L'
	StateTarpit  = 'T'
)

// IsError reports what HAProxy calls an error line (option dontlog-normal,
// log-separate-errors): an abnormal termination, a 5xx, a retry or a redispatch.
func (r *Record) IsError() bool {
	return r.Term[0] != TermNone || r.Status >= 500 || r.Retries > 0 || r.Redispatch
}

// SetTerm sets the termination cause and the state it happened in.
func (r *Record) SetTerm(cause, state byte) { r.Term[0], r.Term[1] = cause, state }

// SetCookieFlags sets the persistence cookie flags (third and fourth characters).
func (r *Record) SetCookieFlags(req, resp byte) { r.Term[2], r.Term[3] = req, resp }
