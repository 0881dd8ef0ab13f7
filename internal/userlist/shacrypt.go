package userlist

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// shaHash is a parsed SHA-crypt hash: $5$ or $6$, optional rounds=N$, salt, digest.
type shaHash struct {
	sha512 bool
	rounds int
	custom bool // rounds=N was written
	salt   string
	full   string // the whole hash as written
}

const (
	defaultRounds = 5000
	minRounds     = 1000
	maxRounds     = 999999999
)

func parseHash(s string) (*shaHash, error) {
	h := &shaHash{full: s, rounds: defaultRounds}
	switch {
	case strings.HasPrefix(s, "$6$"):
		h.sha512 = true
	case strings.HasPrefix(s, "$5$"):
	default:
		return nil, fmt.Errorf("password hash format %s is not supported by tandem (it verifies SHA-crypt hashes: make one with \"mkpasswd -m sha-512\", or use insecure-password)", hashKind(s))
	}
	rest := s[3:]
	if strings.HasPrefix(rest, "rounds=") {
		i := strings.IndexByte(rest, '$')
		if i < 0 {
			return nil, fmt.Errorf("malformed SHA-crypt hash %q", s)
		}
		n, err := strconv.Atoi(rest[len("rounds="):i])
		if err != nil {
			return nil, fmt.Errorf("malformed SHA-crypt hash %q: bad rounds", s)
		}
		h.rounds, h.custom = min(max(n, minRounds), maxRounds), true
		rest = rest[i+1:]
	}
	i := strings.IndexByte(rest, '$')
	if i < 0 {
		return nil, fmt.Errorf("malformed SHA-crypt hash %q: no digest", s)
	}
	h.salt = rest[:i]
	if len(h.salt) > 16 {
		h.salt = h.salt[:16]
	}
	want := 86
	if !h.sha512 {
		want = 43
	}
	if len(rest[i+1:]) != want {
		return nil, fmt.Errorf("malformed SHA-crypt hash %q: the digest must be %d characters", s, want)
	}
	return h, nil
}

func (h *shaHash) verify(pass []byte) bool {
	got := shaCrypt(pass, h.salt, h.rounds, h.custom, h.sha512)
	return subtle.ConstantTimeCompare([]byte(got), []byte(h.full)) == 1
}

// shaCrypt computes the SHA-crypt string of pass (Drepper, "Unix crypt using
// SHA-256 and SHA-512", steps 1-22).
func shaCrypt(pass []byte, salt string, rounds int, custom, is512 bool) string {
	newH := sha256.New
	if is512 {
		newH = sha512.New
	}
	s := []byte(salt)
	// B = H(P S P)
	b := digest(newH, pass, s, pass)
	size := len(b)
	// A = H(P S, B repeated to len(P), then B or P for each bit of len(P))
	a := newH()
	a.Write(pass)
	a.Write(s)
	n := len(pass)
	for ; n > size; n -= size {
		a.Write(b)
	}
	a.Write(b[:n])
	for n = len(pass); n > 0; n >>= 1 {
		if n&1 != 0 {
			a.Write(b)
		} else {
			a.Write(pass)
		}
	}
	c := a.Sum(nil)
	// DP = H(P repeated len(P) times) → P sequence
	dp := newH()
	for range len(pass) {
		dp.Write(pass)
	}
	pseq := repeat(dp.Sum(nil), len(pass))
	// DS = H(S repeated 16+A[0] times) → S sequence
	ds := newH()
	for range 16 + int(c[0]) {
		ds.Write(s)
	}
	sseq := repeat(ds.Sum(nil), len(s))
	r := newH()
	for i := range rounds {
		r.Reset()
		if i&1 != 0 {
			r.Write(pseq)
		} else {
			r.Write(c)
		}
		if i%3 != 0 {
			r.Write(sseq)
		}
		if i%7 != 0 {
			r.Write(pseq)
		}
		if i&1 != 0 {
			r.Write(c)
		} else {
			r.Write(pseq)
		}
		c = r.Sum(c[:0])
	}
	var out strings.Builder
	if is512 {
		out.WriteString("$6$")
	} else {
		out.WriteString("$5$")
	}
	if custom {
		out.WriteString("rounds=" + strconv.Itoa(rounds) + "$")
	}
	out.WriteString(salt)
	out.WriteByte('$')
	if is512 {
		for i := 0; i < 21; i++ {
			j := i * 22 % 63 // 0, 22, 44, 3, 25, …
			b64(&out, c[j], c[(j+21)%63], c[(j+42)%63], 4)
		}
		b64(&out, 0, 0, c[63], 2)
	} else {
		for i := 0; i < 10; i++ {
			j := i * 21 % 30 // 0, 21, 12, 3, 24, 15, 6, 27, 18, 9
			b64(&out, c[j], c[(j+10)%30], c[(j+20)%30], 4)
		}
		b64(&out, 0, c[31], c[30], 3)
	}
	return out.String()
}

func digest(newH func() hash.Hash, parts ...[]byte) []byte {
	h := newH()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func repeat(d []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out)+len(d) <= n {
		out = append(out, d...)
	}
	return append(out, d[:n-len(out)]...)
}

const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func b64(out *strings.Builder, b2, b1, b0 byte, n int) {
	w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
	for range n {
		out.WriteByte(itoa64[w&0x3f])
		w >>= 6
	}
}
