package tlsconf

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// ticketKeysInUse is HAProxy's TLS_TICKETS_NO: how many of the file's last keys decrypt.
const ticketKeysInUse = 3

// ParseTicketKeys reads a tls-ticket-keys file as HAProxy does: one base64 key of 48
// or 80 bytes per line (all of the first key's size), at least 3; the last 3 decrypt
// and the penultimate one encrypts. It returns crypto/tls session ticket keys, the
// encrypting one first, each derived from the whole key line, so that nodes sharing
// the file seal and open each other's tickets.
func ParseTicketKeys(path string, data []byte) ([][32]byte, error) {
	var raw [][]byte
	size := 0
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("%s: unable to decode base64 key on line %d", path, i+1)
		}
		if size == 0 && (len(k) == 48 || len(k) == 80) {
			size = len(k)
		}
		if len(k) != size {
			return nil, fmt.Errorf("%s: wrong sized key on line %d (48 or 80 bytes, all of the first key's size)", path, i+1)
		}
		raw = append(raw, k)
	}
	if len(raw) < ticketKeysInUse {
		return nil, fmt.Errorf("%s: please supply at least %d keys in the tls-tickets-file", path, ticketKeysInUse)
	}
	last := raw[len(raw)-ticketKeysInUse:]
	order := []int{1, 2, 0} // the penultimate encrypts; the last and the one before decrypt
	out := make([][32]byte, 0, ticketKeysInUse)
	for _, i := range order {
		out = append(out, sha256.Sum256(last[i]))
	}
	return out, nil
}
