package httpproxy

import (
	"bytes"

	"tandem/internal/http1"
)

// HAProxy 2.6 checks the keys of a websocket handshake as it parses the messages: an
// upgrade request to websocket without Sec-WebSocket-Key is refused (400, logged as
// <BADREQ>), and a 101 switching to websocket without Sec-WebSocket-Accept is a bad
// response (502, PH). Checked side by side in e2e/h1diff_cases_test.go.

// upgradesTo reports whether an Upgrade header of h (its bytes in buf) lists proto,
// with or without a version ("websocket", "WebSocket/13").
func upgradesTo(h *http1.Head, buf []byte, proto string) bool {
	for i := 0; i < h.NHeaders; i++ {
		hd := &h.Headers[i]
		if hd.Kind != http1.KUpgrade {
			continue
		}
		for v := hd.Value.Of(buf); len(v) > 0; {
			var tok []byte
			tok, v = http1.NextToken(v)
			if j := bytes.IndexByte(tok, '/'); j >= 0 {
				tok = tok[:j]
			}
			if http1.EqualFold(tok, proto) {
				return true
			}
		}
	}
	return false
}

// wsKeyMissing reports whether the upgrade request whose head is h asks for websocket
// without Sec-WebSocket-Key.
func wsKeyMissing(h *http1.Head, buf []byte) bool {
	if !upgradesTo(h, buf, "websocket") {
		return false
	}
	_, ok := h.Get(buf, "Sec-WebSocket-Key")
	return !ok
}

// wsAcceptMissing reports whether the 101 response whose head is h switches to
// websocket without Sec-WebSocket-Accept.
func wsAcceptMissing(h *http1.Head, buf []byte) bool {
	if !upgradesTo(h, buf, "websocket") {
		return false
	}
	_, ok := h.Get(buf, "Sec-WebSocket-Accept")
	return !ok
}
