package http1

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Vector is one entry of a smuggling corpus: a raw request and the verdict a strict
// parser must reach. LoadCorpus reads the format of testdata/smuggling.txt; the proxy's
// end-to-end tests read the same file.
type Vector struct {
	Name    string
	Raw     []byte
	Reject  bool // the head is refused
	Status  int  // with Reject: the status answered (400 unless given)
	BodyBad bool // the head is accepted, the chunked body is refused
	Framing Framing
	Close   bool // CL with TE: close after the exchange
	Body    int  // body length in bytes, -1 when not given
}

// LoadCorpus parses a corpus file.
func LoadCorpus(data []byte) ([]Vector, error) {
	var out []Vector
	var cur *Vector
	var raw bytes.Buffer
	flush := func() error {
		if cur == nil {
			return nil
		}
		b, err := unescape(raw.String())
		if err != nil {
			return fmt.Errorf("vector %q: %w", cur.Name, err)
		}
		cur.Raw = b
		out = append(out, *cur)
		cur = nil
		raw.Reset()
		return nil
	}
	for n, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "=== "):
			if err := flush(); err != nil {
				return nil, err
			}
			cur = &Vector{Name: strings.TrimSpace(line[4:]), Body: -1}
		case cur == nil && (line == "" || strings.HasPrefix(line, "#")):
		case cur == nil:
			return nil, fmt.Errorf("line %d: text outside a vector", n+1)
		case strings.HasPrefix(line, "expect: "):
			if err := cur.parseVerdict(strings.Fields(line[8:])); err != nil {
				return nil, fmt.Errorf("line %d: %w", n+1, err)
			}
		default:
			raw.WriteString(line)
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

func (v *Vector) parseVerdict(f []string) error {
	if len(f) == 0 {
		return fmt.Errorf("empty verdict")
	}
	switch f[0] {
	case "reject":
		v.Reject, v.Status = true, 400
		if len(f) > 1 {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				return fmt.Errorf("bad status %q", f[1])
			}
			v.Status = n
		}
		return nil
	case "reject-body":
		v.BodyBad = true
		v.Framing = FrameChunked
		return nil
	case "ok":
	default:
		return fmt.Errorf("unknown verdict %q", f[0])
	}
	if len(f) < 2 {
		return fmt.Errorf("ok needs a framing")
	}
	switch f[1] {
	case "none":
		v.Framing = FrameNone
	case "length":
		v.Framing = FrameLength
	case "chunked":
		v.Framing = FrameChunked
	default:
		return fmt.Errorf("unknown framing %q", f[1])
	}
	for _, w := range f[2:] {
		switch {
		case w == "close":
			v.Close = true
		case strings.HasPrefix(w, "body="):
			n, err := strconv.Atoi(w[5:])
			if err != nil {
				return fmt.Errorf("bad body length %q", w)
			}
			v.Body = n
		default:
			return fmt.Errorf("unknown verdict word %q", w)
		}
	}
	return nil
}

// unescape decodes \r \n \t \\ and \xHH; any other backslash is kept as is.
func unescape(s string) ([]byte, error) {
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b = append(b, c)
			continue
		}
		switch s[i+1] {
		case 'r':
			b = append(b, '\r')
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case '\\':
			b = append(b, '\\')
		case 'x':
			if i+3 >= len(s) {
				return nil, fmt.Errorf("short \\x escape")
			}
			v, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			if err != nil {
				return nil, fmt.Errorf("bad \\x escape: %w", err)
			}
			b = append(b, byte(v))
			i += 2
		default:
			b = append(b, c, s[i+1])
		}
		i++
	}
	return b, nil
}
