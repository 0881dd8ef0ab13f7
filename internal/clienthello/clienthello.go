// Package clienthello reads the first TLS handshake message of a connection from its
// first bytes, without decrypting or answering anything: what SNI passthrough routes on
// (HAProxy's req.ssl_sni, req.ssl_hello_type, req.ssl_ver, req.ssl_alpn).
//
// Parse is pure: it takes the bytes received so far and either returns the hello, says
// that more bytes are needed (ErrNeedMore), or says that the stream is not a TLS
// handshake. A hello may be cut over several TCP segments and over several TLS records
// (post-quantum key shares make a browser's hello larger than one segment).
package clienthello

import (
	"errors"
)

// Errors of Parse.
var (
	// ErrNeedMore: the bytes so far are a valid beginning; read more and parse again.
	ErrNeedMore = errors.New("clienthello: need more bytes")
	// ErrNotTLS: the stream does not start with a TLS handshake record.
	ErrNotTLS = errors.New("clienthello: not a TLS handshake")
	// ErrMalformed: a TLS handshake whose first message cannot be read.
	ErrMalformed = errors.New("clienthello: malformed handshake message")
)

// Handshake message types (RFC 8446 §4).
const (
	TypeClientHello = 1
	TypeServerHello = 2
)

// MaxMessage bounds the handshake message Parse accepts (RFC 8446 allows 2^24-1; a real
// hello is well under this).
const MaxMessage = 1 << 16

// Hello is what the first handshake message says.
type Hello struct {
	Type          uint8  // handshake message type: 1 client hello, 2 server hello
	RecordVersion uint16 // version of the first record header
	Version       uint16 // legacy_version of the hello (0x0303 for TLS 1.2 and 1.3)
	// SupportedVersions is the supported_versions extension, in the client's order
	// (empty when absent).
	SupportedVersions []uint16
	SNI               string   // host_name of server_name as sent, case kept as HAProxy's req.ssl_sni ("" when absent)
	HasSNI            bool     // a server_name extension with a host_name was sent
	ALPN              []string // application_layer_protocol_negotiation, in order
	Consumed          int      // bytes of the stream the records holding the message took
}

// MaxVersion returns the highest version the client offers: the highest entry of
// supported_versions that is not a GREASE value, else the legacy version.
func (h *Hello) MaxVersion() uint16 {
	var best uint16
	for _, v := range h.SupportedVersions {
		if v&0x0f0f == 0x0a0a { // GREASE (RFC 8701)
			continue
		}
		best = max(best, v)
	}
	if best == 0 {
		return h.Version
	}
	return best
}

// Parse reads the first handshake message from b, the first bytes of a connection.
// The message may span several records; Parse never reads past the records it needs.
func Parse(b []byte) (*Hello, error) {
	var msg []byte // handshake bytes gathered from records
	pos := 0
	h := &Hello{}
	for {
		if len(b)-pos < 5 {
			if pos == 0 && len(b) > 0 && b[0] != 22 {
				return nil, ErrNotTLS
			}
			return nil, ErrNeedMore
		}
		typ, ver, n := b[pos], uint16(b[pos+1])<<8|uint16(b[pos+2]), int(b[pos+3])<<8|int(b[pos+4])
		if typ != 22 || ver>>8 != 3 {
			if pos == 0 {
				return nil, ErrNotTLS
			}
			return nil, ErrMalformed // a non-handshake record in the middle of the message
		}
		if n == 0 || n > 1<<14+2048 {
			return nil, ErrMalformed
		}
		if pos == 0 {
			h.RecordVersion = ver
		}
		if len(b)-pos-5 < n {
			// The record is not all there; its first bytes may already tell a bad message.
			if err := checkPrefix(append(msg, b[pos+5:]...)); err != nil {
				return nil, err
			}
			return nil, ErrNeedMore
		}
		if pos == 0 {
			msg = b[5 : 5+n : 5+n] // no copy while the message is in one record (the usual case)
		} else {
			msg = append(msg, b[pos+5:pos+5+n]...) // the cap above makes this a copy
		}
		pos += 5 + n
		if len(msg) < 4 {
			continue
		}
		mlen := int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3])
		if mlen > MaxMessage {
			return nil, ErrMalformed
		}
		if len(msg) < 4+mlen {
			continue
		}
		h.Type = msg[0]
		h.Consumed = pos
		if h.Type != TypeClientHello {
			return h, nil // what req.ssl_hello_type reports; nothing else to read
		}
		if !h.parseClientHello(msg[4 : 4+mlen]) {
			return nil, ErrMalformed
		}
		return h, nil
	}
}

// checkPrefix rejects a message whose header is already wrong.
func checkPrefix(msg []byte) error {
	if len(msg) >= 4 && int(msg[1])<<16|int(msg[2])<<8|int(msg[3]) > MaxMessage {
		return ErrMalformed
	}
	return nil
}

// reader reads big-endian fields; ok turns false on the first short read.
type reader struct {
	b  []byte
	ok bool
}

func (r *reader) take(n int) []byte {
	if !r.ok || n < 0 || len(r.b) < n {
		r.ok = false
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() int {
	v := r.take(1)
	if v == nil {
		return 0
	}
	return int(v[0])
}

func (r *reader) u16() int {
	v := r.take(2)
	if v == nil {
		return 0
	}
	return int(v[0])<<8 | int(v[1])
}

// vec8 and vec16 read a vector with a 1- or 2-byte length (a value: no allocation).
func (r *reader) vec8() reader  { return reader{b: r.take(r.u8()), ok: r.ok} }
func (r *reader) vec16() reader { return reader{b: r.take(r.u16()), ok: r.ok} }

// Extension types read (RFC 6066, RFC 7301, RFC 8446).
const (
	extServerName        = 0
	extALPN              = 16
	extSupportedVersions = 43
)

func (h *Hello) parseClientHello(body []byte) bool {
	r := reader{b: body, ok: true}
	h.Version = uint16(r.u16())
	r.take(32) // random
	r.vec8()   // legacy_session_id
	r.vec16()  // cipher_suites
	r.vec8()   // legacy_compression_methods
	if !r.ok {
		return false
	}
	if len(r.b) == 0 {
		return true // no extensions (SSLv3-style hello)
	}
	exts := r.vec16()
	if !r.ok || len(r.b) != 0 {
		return false
	}
	var seen typeSet
	for len(exts.b) > 0 {
		typ := exts.u16()
		data := exts.vec16()
		if !exts.ok || !data.ok {
			return false
		}
		if !seen.add(uint16(typ)) {
			return false // RFC 8446 §4.2: at most one of each
		}
		switch typ {
		case extServerName:
			if !h.parseSNI(data.vec16()) {
				return false
			}
		case extALPN:
			list := data.vec16()
			for list.ok && len(list.b) > 0 {
				p := list.vec8()
				if !p.ok || len(p.b) == 0 {
					return false
				}
				h.ALPN = append(h.ALPN, string(p.b))
			}
			if !list.ok {
				return false
			}
		case extSupportedVersions:
			list := data.vec8()
			if !list.ok || len(list.b)%2 != 0 {
				return false
			}
			for len(list.b) > 0 {
				h.SupportedVersions = append(h.SupportedVersions, uint16(list.u16()))
			}
		}
	}
	return exts.ok
}

// typeSet remembers the extension types of a hello: the first ones in place (a hello has
// a few dozen at most), any more in a map.
type typeSet struct {
	small [32]uint16
	n     int
	more  map[uint16]bool
}

// add records t and reports whether it was new.
func (s *typeSet) add(t uint16) bool {
	for _, x := range s.small[:s.n] {
		if x == t {
			return false
		}
	}
	if s.n < len(s.small) {
		s.small[s.n] = t
		s.n++
		return true
	}
	if s.more[t] {
		return false
	}
	if s.more == nil {
		s.more = map[uint16]bool{}
	}
	s.more[t] = true
	return true
}

// parseSNI reads a server_name_list; the first host_name (type 0) is the name.
func (h *Hello) parseSNI(list reader) bool {
	for list.ok && len(list.b) > 0 {
		typ := list.u8()
		name := list.vec16()
		if !list.ok || !name.ok {
			return false
		}
		if typ == 0 && !h.HasSNI {
			if len(name.b) == 0 {
				return false
			}
			h.SNI, h.HasSNI = string(name.b), true
		}
	}
	return list.ok
}
