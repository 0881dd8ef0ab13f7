package http1

// Limits of the chunked decoder.
const (
	maxChunkLine    = 4096  // a chunk-size line with its extensions
	maxTrailerBytes = 16384 // the whole trailer section
	maxSizeDigits   = 16
)

// Chunked body errors. A proxy that already forwarded part of the body can only abort.
var (
	ErrChunkSize    = reqErr("invalid chunk size")
	ErrChunkExt     = reqErr("invalid chunk extension")
	ErrChunkCRLF    = reqErr("missing crlf after chunk")
	ErrChunkTrailer = reqErr("invalid trailer")
)

type chunkState uint8

const (
	csSize chunkState = iota
	csSizeMore
	csSizeBWS
	csExtBWS     // after ';', before the name
	csExtName    // in an extension name
	csExtNameEnd // after the name, before '=' or ';' or CR
	csExtValBWS  // after '='
	csExtTok     // in a token value
	csExtQuoted  // in a quoted-string value
	csExtQEsc    // after a backslash in a quoted-string
	csExtAfter   // after a value
	csSizeLF
	csData
	csDataCR
	csDataLF
	csTrailerStart
	csTrailerName
	csTrailerValue
	csTrailerLF
	csEndLF
	csDone
)

// Chunked validates a chunked body as it streams by, keeping no body bytes. The zero
// value is ready for a new body; Reset makes it so again.
type Chunked struct {
	state    chunkState
	digits   uint8
	size     int64 // data bytes left in the current chunk
	line     int   // bytes of the current size line
	trailer  int   // bytes of the trailer section
	ntrailer int
	Trailers bool // the body ended with at least one trailer field
}

// Reset prepares c for a new body.
func (c *Chunked) Reset() { *c = Chunked{} }

// Done reports whether the whole body, through its last CRLF, has been seen.
func (c *Chunked) Done() bool { return c.state == csDone }

// Feed validates the next bytes of the body. It returns how many bytes of p belong to
// the body (all of p unless the body ends inside it) and whether the body is complete.
// After an error, the stream must be aborted.
func (c *Chunked) Feed(p []byte) (n int, done bool, err error) {
	i := 0
	for i < len(p) {
		if c.state == csData {
			k := int64(len(p) - i)
			if k > c.size {
				k = c.size
			}
			i += int(k)
			c.size -= k
			if c.size == 0 {
				c.state = csDataCR
			}
			continue
		}
		b := p[i]
		i++
		switch c.state {
		case csSize, csSizeMore:
			if v := unhex(b); v >= 0 {
				c.digits++
				if c.digits > maxSizeDigits || c.size >= 1<<59 {
					return i, false, ErrChunkSize
				}
				c.size = c.size<<4 | int64(v)
				c.state = csSizeMore
				c.line++
				continue
			}
			if c.state == csSize {
				return i, false, ErrChunkSize
			}
			if err := c.afterSize(b); err != nil {
				return i, false, err
			}
		case csSizeBWS:
			if b == ' ' || b == '\t' {
				break
			}
			if err := c.afterSize(b); err != nil {
				return i, false, err
			}
		case csExtBWS:
			switch {
			case b == ' ' || b == '\t':
			case tchar[b]:
				c.state = csExtName
			default:
				return i, false, ErrChunkExt
			}
		case csExtName:
			switch {
			case tchar[b]:
			case b == ' ' || b == '\t':
				c.state = csExtNameEnd
			default:
				if err := c.extNext(b, true); err != nil {
					return i, false, err
				}
			}
		case csExtNameEnd, csExtAfter:
			if b == ' ' || b == '\t' {
				break
			}
			if err := c.extNext(b, c.state == csExtNameEnd); err != nil {
				return i, false, err
			}
		case csExtValBWS:
			switch {
			case b == ' ' || b == '\t':
			case b == '"':
				c.state = csExtQuoted
			case tchar[b]:
				c.state = csExtTok
			default:
				return i, false, ErrChunkExt
			}
		case csExtTok:
			switch {
			case tchar[b]:
			case b == ' ' || b == '\t':
				c.state = csExtAfter
			default:
				if err := c.extNext(b, false); err != nil {
					return i, false, err
				}
			}
		case csExtQuoted:
			switch {
			case b == '"':
				c.state = csExtAfter
			case b == '\\':
				c.state = csExtQEsc
			case b == '\t' || (b >= 0x20 && b != 0x7f):
			default:
				return i, false, ErrChunkExt
			}
		case csExtQEsc:
			if b != '\t' && (b < 0x20 || b == 0x7f) {
				return i, false, ErrChunkExt
			}
			c.state = csExtQuoted
		case csSizeLF:
			if b != '\n' {
				return i, false, ErrChunkSize
			}
			c.line, c.digits = 0, 0
			if c.size == 0 {
				c.state = csTrailerStart
			} else {
				c.state = csData
			}
			continue
		case csDataCR:
			if b != '\r' {
				return i, false, ErrChunkCRLF
			}
			c.state = csDataLF
		case csDataLF:
			if b != '\n' {
				return i, false, ErrChunkCRLF
			}
			c.state = csSize
		case csTrailerStart:
			switch {
			case b == '\r':
				c.state = csEndLF
			case tchar[b]:
				if c.ntrailer++; c.ntrailer > MaxHeaders {
					return i, false, ErrChunkTrailer
				}
				c.Trailers = true
				c.state = csTrailerName
			default:
				return i, false, ErrChunkTrailer
			}
		case csTrailerName:
			switch {
			case tchar[b]:
			case b == ':':
				c.state = csTrailerValue
			default:
				return i, false, ErrChunkTrailer
			}
		case csTrailerValue:
			switch {
			case vchar[b]:
			case b == '\r':
				c.state = csTrailerLF
			default:
				return i, false, ErrChunkTrailer
			}
		case csTrailerLF:
			if b != '\n' {
				return i, false, ErrChunkTrailer
			}
			c.state = csTrailerStart
		case csEndLF:
			if b != '\n' {
				return i, false, ErrChunkTrailer
			}
			c.state = csDone
			return i, true, nil
		case csDone:
			return i - 1, true, nil
		}
		if c.state >= csTrailerStart {
			if c.trailer++; c.trailer > maxTrailerBytes {
				return i, false, ErrChunkTrailer
			}
		} else if c.state < csSizeLF {
			if c.line++; c.line > maxChunkLine {
				return i, false, ErrChunkExt
			}
		}
	}
	return i, c.state == csDone, nil
}

// afterSize handles the byte after the chunk-size digits or their trailing whitespace.
func (c *Chunked) afterSize(b byte) error {
	switch b {
	case ' ', '\t':
		c.state = csSizeBWS
	case ';':
		c.state = csExtBWS
	case '\r':
		c.state = csSizeLF
	default:
		return ErrChunkSize
	}
	return nil
}

// extNext handles a delimiter after an extension name (named is true) or value.
func (c *Chunked) extNext(b byte, named bool) error {
	switch {
	case b == ';':
		c.state = csExtBWS
	case b == '=' && named:
		c.state = csExtValBWS
	case b == '\r':
		c.state = csSizeLF
	default:
		return ErrChunkExt
	}
	return nil
}

func unhex(b byte) int {
	switch {
	case '0' <= b && b <= '9':
		return int(b - '0')
	case 'a' <= b && b <= 'f':
		return int(b-'a') + 10
	case 'A' <= b && b <= 'F':
		return int(b-'A') + 10
	}
	return -1
}
