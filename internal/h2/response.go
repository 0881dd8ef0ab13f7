package h2

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"golang.org/x/net/http2/hpack"

	"tandem/internal/http1"
)

// errBadResponse is an HTTP/1 response the engine wrote that HTTP/2 cannot carry.
var errBadResponse = errors.New("h2: response not translatable")

// frameSink receives what a Response translator makes of HTTP/1 bytes.
type frameSink interface {
	headers(fields []hpack.HeaderField, end bool) error
	data(p []byte, end bool) error
}

type respState uint8

const (
	rsHead respState = iota
	rsLength
	rsClose // body until the adapter is closed (or a CONNECT tunnel)
	rsChunkSize
	rsChunkData
	rsChunkCRLF
	rsTrailers
	rsDone
)

// maxLine bounds what the translator keeps of an unfinished line or head.
const maxLine = 64 << 10

// Response translates the HTTP/1.1 response the engine writes into HTTP/2 frames:
// interim (1xx) and final heads become HEADERS with lower-cased names and without
// hop-by-hop fields, the body becomes DATA (chunked decoded), trailers a trailing
// HEADERS. It keeps no body bytes.
type Response struct {
	Head    bool // the request was HEAD: no body
	Connect bool // the request was CONNECT: a 2xx is followed by tunnel bytes
	state   respState
	pend    []byte // an unfinished head or line
	left    int64  // body or chunk bytes left
	fields  []hpack.HeaderField
	tlen    int
}

// Done reports whether the whole response has been translated.
func (r *Response) Done() bool { return r.state == rsDone }

// Started reports whether a final head has been sent.
func (r *Response) Started() bool { return r.state != rsHead }

// Feed translates p, all of which belongs to the response (bytes after its end are an
// error).
func (r *Response) Feed(p []byte, out frameSink) error {
	for len(p) > 0 {
		switch r.state {
		case rsHead:
			i := bytes.Index(p, []byte("\r\n\r\n"))
			if len(r.pend) > 0 || i < 0 {
				// join what we have and look again
				old := len(r.pend)
				r.pend = append(r.pend, p...)
				j := bytes.Index(r.pend[max(0, old-3):], []byte("\r\n\r\n"))
				if j < 0 {
					if len(r.pend) > maxLine {
						return errBadResponse
					}
					return nil
				}
				end := max(0, old-3) + j + 4
				consumed := end - old
				head := r.pend[:end]
				if err := r.head(head, out); err != nil {
					return err
				}
				r.pend = r.pend[:0]
				p = p[consumed:]
				continue
			}
			if err := r.head(p[:i+4], out); err != nil {
				return err
			}
			p = p[i+4:]
		case rsLength:
			n := min(int64(len(p)), r.left)
			r.left -= n
			if r.left == 0 {
				r.state = rsDone
			}
			if err := out.data(p[:n], r.left == 0); err != nil {
				return err
			}
			p = p[n:]
		case rsClose:
			if err := out.data(p, false); err != nil {
				return err
			}
			p = nil
		case rsChunkSize, rsChunkCRLF, rsTrailers:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				if len(r.pend)+len(p) > maxLine {
					return errBadResponse
				}
				r.pend = append(r.pend, p...)
				return nil
			}
			line := p[:i+1]
			if len(r.pend) > 0 {
				r.pend = append(r.pend, line...)
				line = r.pend
				if len(line) > maxLine {
					return errBadResponse
				}
			}
			p = p[i+1:]
			err := r.line(line, out)
			r.pend = r.pend[:0]
			if err != nil {
				return err
			}
		case rsChunkData:
			n := min(int64(len(p)), r.left)
			r.left -= n
			if r.left == 0 {
				r.state = rsChunkCRLF
			}
			if err := out.data(p[:n], false); err != nil {
				return err
			}
			p = p[n:]
		case rsDone:
			return errBadResponse
		}
	}
	return nil
}

// line handles one line of the chunked framing.
func (r *Response) line(line []byte, out frameSink) error {
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return errBadResponse
	}
	line = line[:len(line)-2]
	switch r.state {
	case rsChunkCRLF:
		if len(line) != 0 {
			return errBadResponse
		}
		r.state = rsChunkSize
	case rsChunkSize:
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		line = bytes.TrimRight(line, " \t")
		if len(line) == 0 || len(line) > 15 {
			return errBadResponse
		}
		n, err := strconv.ParseUint(string(line), 16, 63)
		if err != nil {
			return errBadResponse
		}
		if n == 0 {
			r.state, r.fields, r.tlen = rsTrailers, r.fields[:0], 0
			return nil
		}
		r.left, r.state = int64(n), rsChunkData
	case rsTrailers:
		if len(line) == 0 {
			r.state = rsDone
			if len(r.fields) == 0 {
				return out.data(nil, true)
			}
			return out.headers(r.fields, true)
		}
		r.tlen += len(line)
		if r.tlen > maxLine {
			return errBadResponse
		}
		name, value, ok := splitField(line)
		if !ok {
			return errBadResponse
		}
		if !hopByHop(name) {
			r.fields = append(r.fields, hpack.HeaderField{Name: name, Value: value})
		}
	}
	return nil
}

// head translates a response head (through its empty line). It is parsed as the
// engine parses the heads it forwards (http1, relaxed as accept-invalid-http-response
// lets them through); names HTTP/2 cannot carry are refused.
func (r *Response) head(b []byte, out frameSink) error {
	var h http1.Response
	if h.ParseLax(b) != nil || h.Len != len(b) || h.Status == 101 { // no protocol switch on an HTTP/2 stream
		return errBadResponse
	}
	status := h.Status
	te := h.Flags&http1.FHasTE != 0 // the engine forwards only chunked (last) codings
	fields := r.fields[:0]
	fields = append(fields, hpack.HeaderField{Name: ":status", Value: strconv.Itoa(status)})
	for i := 0; i < h.NHeaders; i++ {
		hd := &h.Headers[i]
		switch hd.Kind {
		case http1.KConnection, http1.KKeepAlive, http1.KProxyConnection, http1.KTransferEncoding, http1.KUpgrade, http1.KTE:
			continue // hop-by-hop
		case http1.KContentLength:
			if te {
				continue // the body's length is the chunks'
			}
		default:
			if connectionListed(&h, b, hd.Name.Of(b)) {
				continue
			}
		}
		name := hd.Name.Of(b)
		for _, c := range name {
			if c <= ' ' || c >= 0x7f {
				return errBadResponse
			}
		}
		fields = append(fields, hpack.HeaderField{Name: strings.ToLower(string(name)), Value: string(hd.Value.Of(b))})
	}
	r.fields = fields
	if status < 200 {
		return out.headers(fields, false) // interim: the final head follows
	}
	noBody := r.Head || status == 204 || status == 304
	switch {
	case r.Connect && status < 300:
		r.state = rsClose
	case noBody:
		r.state = rsDone
	case h.Framing == http1.FrameChunked:
		r.state = rsChunkSize
	case h.Framing == http1.FrameNone:
		r.state = rsDone
	case h.Framing == http1.FrameLength:
		r.state, r.left = rsLength, h.ContentLength
	default:
		r.state = rsClose
	}
	return out.headers(fields, r.state == rsDone)
}

// connectionListed reports whether a Connection header of h (its bytes in b) lists
// name: a field of the HTTP/1 connection, not sent on HTTP/2.
func connectionListed(h *http1.Response, b, name []byte) bool {
	if !h.Has(http1.FConnOther) {
		return false
	}
	for i := 0; i < h.NHeaders; i++ {
		if hd := &h.Headers[i]; hd.Kind == http1.KConnection {
			for v := hd.Value.Of(b); len(v) > 0; {
				var tok []byte
				tok, v = http1.NextToken(v)
				if bytes.EqualFold(tok, name) {
					return true
				}
			}
		}
	}
	return false
}

// hopByHop are fields of an HTTP/1 connection, never sent on HTTP/2.
func hopByHop(name string) bool { return connectionSpecific(name) || name == "te" }

// splitField splits "Name: value" into a lower-cased name and a trimmed value.
func splitField(ln []byte) (name, value string, ok bool) {
	i := bytes.IndexByte(ln, ':')
	if i <= 0 {
		return "", "", false
	}
	n := ln[:i]
	for _, c := range n {
		if c <= ' ' || c >= 0x7f {
			return "", "", false
		}
	}
	v := bytes.Trim(ln[i+1:], " \t")
	for _, c := range v {
		if c == 0 || c == '\r' || c == '\n' {
			return "", "", false
		}
	}
	return string(bytes.ToLower(n)), string(v), true
}
