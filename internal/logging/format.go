package logging

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// The default formats of HAProxy 2.6 (configuration.txt §8.2.2, §8.2.3).
const (
	HTTPLogFormat = `%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r`
	TCPLogFormat  = `%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq`
	// HTTPSLogFormat is option httpslog's (§8.2.4).
	HTTPSLogFormat = HTTPLogFormat + ` %[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc`
)

// Format is a compiled log-format string.
type Format struct {
	nodes []node
	text  string
}

type nodeKind uint8

const (
	nLiteral nodeKind = iota
	nSep              // one or more spaces: one space, never two in a row
	nVar
)

type node struct {
	kind  nodeKind
	lit   string
	v     varID
	quote bool // +Q
	hex   bool // +X
	esc   bool // +E
}

type varID uint8

const (
	vCI varID = iota
	vCP
	vFI
	vFP
	vBI
	vBP
	vSI
	vSP
	vT    // %t accept date, local, with ms
	vTR   // %tr request date
	vTRG  // %trg
	vTRL  // %trl
	vTGMT // %T
	vTL   // %Tl
	vTs   // %Ts
	vMS   // %ms
	vF    // %f
	vFT   // %ft
	vB    // %b
	vS    // %s
	vTh
	vTi
	vTRd // %TR
	vTq
	vTw
	vTc
	vTr
	vTa
	vTt
	vTd
	vTu
	vST
	vBytes // %B
	vU
	vCC
	vCS
	vTS  // %ts
	vTSC // %tsc
	vAC
	vFC
	vBC
	vSC
	vRC
	vSQ
	vBQ
	vHR
	vHRL
	vHS
	vHSL
	vR
	vHM
	vHU
	vHP
	vHQ
	vHV
	vH
	vPID
	vID
	vRT
	vLC
	vSSLC // %sslc: the TLS cipher ("-" when the connection is plain)
	vSSLV // %sslv: the TLS version
	// The sample expressions of option httpslog's format (the only ones tandem reads
	// before it has the sample engine).
	vFcErr       // %[fc_err]: 0, tandem logs established connections only
	vSSLFcErrHex // %[ssl_fc_err,hex]
	vSSLCErr     // %[ssl_c_err], %[ssl_c_ca_err]: a client certificate that failed verification ends the handshake
	vSSLResumed  // %[ssl_fc_is_resumed]
	vSSLSNI      // %[ssl_fc_sni]
)

// sampleVars are the %[...] expressions Compile knows.
var sampleVars = map[string]varID{
	"fc_err": vFcErr, "ssl_fc_err,hex": vSSLFcErrHex, "ssl_c_err": vSSLCErr, "ssl_c_ca_err": vSSLCErr,
	"ssl_fc_is_resumed": vSSLResumed, "ssl_fc_sni": vSSLSNI,
}

var varNames = map[string]varID{
	"ci": vCI, "cp": vCP, "fi": vFI, "fp": vFP, "bi": vBI, "bp": vBP, "si": vSI, "sp": vSP,
	"t": vT, "tr": vTR, "trg": vTRG, "trl": vTRL, "T": vTGMT, "Tl": vTL, "Ts": vTs, "ms": vMS,
	"f": vF, "ft": vFT, "b": vB, "s": vS,
	"Th": vTh, "Ti": vTi, "TR": vTRd, "Tq": vTq, "Tw": vTw, "Tc": vTc, "Tr": vTr, "Ta": vTa,
	"Tt": vTt, "Td": vTd, "Tu": vTu,
	"ST": vST, "B": vBytes, "U": vU, "CC": vCC, "CS": vCS, "ts": vTS, "tsc": vTSC,
	"ac": vAC, "fc": vFC, "bc": vBC, "sc": vSC, "rc": vRC, "sq": vSQ, "bq": vBQ,
	"hr": vHR, "hrl": vHRL, "hs": vHS, "hsl": vHSL, "r": vR,
	"HM": vHM, "HU": vHU, "HP": vHP, "HQ": vHQ, "HV": vHV, "H": vH, "pid": vPID, "ID": vID,
	"rt": vRT, "lc": vLC, "sslc": vSSLC, "sslv": vSSLV,
}

// Compile parses a log-format string. Unknown variables and sample expressions
// (%[...]) are errors.
func Compile(s string) (*Format, error) {
	f := &Format{text: s}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.nodes = append(f.nodes, node{kind: nLiteral, lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ':
			flush()
			for i < len(s) && s[i] == ' ' {
				i++
			}
			f.nodes = append(f.nodes, node{kind: nSep})
		case c == '%' && i+1 < len(s) && s[i+1] == '%':
			lit.WriteByte('%')
			i += 2
		case c == '%':
			flush()
			i++
			n := node{kind: nVar}
			if i < len(s) && s[i] == '{' {
				end := strings.IndexByte(s[i:], '}')
				if end < 0 {
					return nil, fmt.Errorf("log-format: unterminated flags at column %d", i)
				}
				if err := parseFlags(s[i+1:i+end], &n); err != nil {
					return nil, err
				}
				i += end + 1
			}
			if i < len(s) && s[i] == '[' {
				end := strings.IndexByte(s[i:], ']')
				v, ok := sampleVars[s[i+1:max(i+1, i+end)]]
				if end < 0 || !ok {
					return nil, fmt.Errorf("log-format: sample expressions %%[...] are not supported by tandem (only option httpslog's)")
				}
				n.v = v
				f.nodes = append(f.nodes, n)
				i += end + 1
				continue
			}
			j := i
			for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
				j++
			}
			name := s[i:j]
			if name == "" {
				return nil, fmt.Errorf("log-format: missing variable name after %% at column %d", i)
			}
			v, ok := varNames[name]
			if !ok {
				return nil, fmt.Errorf("log-format: unknown variable %%%s", name)
			}
			n.v = v
			f.nodes = append(f.nodes, n)
			i = j
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return f, nil
}

func parseFlags(s string, n *node) error {
	for s != "" {
		if s[0] != '+' && s[0] != '-' || len(s) < 2 {
			return fmt.Errorf("log-format: invalid flags %q", s)
		}
		on := s[0] == '+'
		switch s[1] {
		case 'Q':
			n.quote = on
		case 'X':
			n.hex = on
		case 'E':
			n.esc = on
		default:
			return fmt.Errorf("log-format: unknown flag %q", s[:2])
		}
		s = s[2:]
		if s != "" && s[0] == ',' {
			s = s[1:]
		}
	}
	return nil
}

// String returns the format as written.
func (f *Format) String() string { return f.text }

// Env is what a line needs beyond its record: values of the process and the proxy.
type Env struct {
	Hostname string
	PID      int
	LogCount uint64 // %lc
}

// Append formats r into dst and returns the extended slice.
func (f *Format) Append(dst []byte, r *Record, env *Env) []byte {
	lastSpace := true
	for i := range f.nodes {
		n := &f.nodes[i]
		switch n.kind {
		case nSep:
			if !lastSpace {
				dst = append(dst, ' ')
				lastSpace = true
			}
			continue
		case nLiteral:
			dst = append(dst, n.lit...)
			lastSpace = false
			continue
		}
		before := len(dst)
		dst = appendVar(dst, n, r, env)
		if len(dst) > before {
			lastSpace = false
		}
	}
	return dst
}

func appendVar(dst []byte, n *node, r *Record, env *Env) []byte {
	switch n.v {
	case vCI:
		return appendAddr(dst, r.Client, n)
	case vCP:
		return appendPort(dst, r.Client, n)
	case vFI:
		return appendAddr(dst, r.Frontend, n)
	case vFP:
		return appendPort(dst, r.Frontend, n)
	case vBI:
		return appendAddr(dst, r.Source, n)
	case vBP:
		return appendPort(dst, r.Source, n)
	case vSI:
		return appendAddr(dst, r.Server, n)
	case vSP:
		return appendPort(dst, r.Server, n)
	case vT:
		return appendDate(dst, r.Accept, true)
	case vTR:
		return appendDate(dst, requestDate(r), true)
	case vTRG:
		return appendZoned(dst, requestDate(r).UTC())
	case vTRL:
		return appendZoned(dst, requestDate(r))
	case vTGMT:
		return appendZoned(dst, r.Accept.UTC())
	case vTL:
		return appendZoned(dst, r.Accept)
	case vTs:
		return appendInt(dst, r.Accept.Unix(), n)
	case vMS:
		return appendPad(dst, int64(r.Accept.Nanosecond()/1e6), 3)
	case vF:
		return appendText(dst, r.FrontendName, n)
	case vFT:
		if r.TLS { // HAProxy marks a TLS connection's frontend with '~'
			if n.quote {
				dst = append(dst, '"')
			}
			dst = append(append(dst, r.FrontendName...), '~')
			if n.quote {
				dst = append(dst, '"')
			}
			return dst
		}
		return appendText(dst, r.FrontendName, n)
	case vSSLC:
		return appendText(dst, orDash(r.TLSCipher), n)
	case vSSLV:
		return appendText(dst, orDash(r.TLSVersion), n)
	case vFcErr:
		return appendInt(dst, 0, n)
	case vSSLFcErrHex:
		if !r.TLS {
			return appendText(dst, "-", n)
		}
		return appendText(dst, "0000000000000000", n)
	case vSSLCErr:
		if !r.TLS {
			return appendText(dst, "-", n)
		}
		return appendInt(dst, 0, n)
	case vSSLResumed:
		if r.TLSResumed {
			return appendInt(dst, 1, n)
		}
		return appendInt(dst, 0, n)
	case vSSLSNI:
		return appendText(dst, orDash(r.TLSSNI), n)
	case vB:
		if r.BackendName == "" {
			return appendText(dst, r.FrontendName, n)
		}
		return appendText(dst, r.BackendName, n)
	case vS:
		if r.ServerName == "" {
			return appendText(dst, "<NOSRV>", n)
		}
		return appendText(dst, r.ServerName, n)
	case vTh:
		return appendInt(dst, r.Th, n)
	case vTi:
		return appendInt(dst, r.Ti, n)
	case vTRd:
		return appendInt(dst, r.TR, n)
	case vTq:
		return appendInt(dst, sum(r.Th, r.Ti, r.TR), n)
	case vTw:
		return appendInt(dst, r.Tw, n)
	case vTc:
		return appendInt(dst, r.Tc, n)
	case vTr:
		return appendInt(dst, r.Tr, n)
	case vTa:
		return appendInt(dst, r.Ta, n)
	case vTt:
		return appendInt(dst, r.Tt, n)
	case vTd:
		if r.Tt < 0 {
			return appendInt(dst, -1, n)
		}
		d := r.Tt
		for _, t := range [...]int64{r.Th, r.Ti, r.TR, r.Tw, r.Tc, r.Tr} {
			if t > 0 {
				d -= t
			}
		}
		return appendInt(dst, max(d, 0), n)
	case vTu:
		if r.Tt < 0 {
			return appendInt(dst, -1, n)
		}
		return appendInt(dst, r.Tt-max(r.Ti, 0), n)
	case vST:
		if r.Status == 0 {
			return appendInt(dst, -1, n)
		}
		return appendInt(dst, int64(r.Status), n)
	case vBytes:
		return appendInt(dst, r.BytesOut, n)
	case vU:
		return appendInt(dst, r.BytesIn, n)
	case vCC, vCS, vID:
		return appendText(dst, "-", n)
	case vTS:
		return append(dst, r.Term[0], r.Term[1])
	case vTSC:
		return append(dst, r.Term[:]...)
	case vAC:
		return appendInt(dst, int64(r.ActConn), n)
	case vFC:
		return appendInt(dst, int64(r.FeConn), n)
	case vBC:
		return appendInt(dst, int64(r.BeConn), n)
	case vSC:
		return appendInt(dst, int64(r.SrvConn), n)
	case vRC:
		if r.Redispatch {
			dst = append(dst, '+')
		}
		return appendInt(dst, int64(r.Retries), n)
	case vSQ:
		return appendInt(dst, int64(r.SrvQueue), n)
	case vBQ:
		return appendInt(dst, int64(r.BeQueue), n)
	case vHR:
		return appendCaptures(dst, r.ReqCaptures, true, n)
	case vHRL:
		return appendCaptures(dst, r.ReqCaptures, false, n)
	case vHS:
		return appendCaptures(dst, r.ResCaptures, true, n)
	case vHSL:
		return appendCaptures(dst, r.ResCaptures, false, n)
	case vR:
		if n.quote {
			dst = append(dst, '"')
		}
		if r.HasReq {
			dst = appendEncoded(dst, r.ReqLine, false)
		} else {
			dst = append(dst, "<BADREQ>"...)
		}
		if n.quote {
			dst = append(dst, '"')
		}
		return dst
	case vHM, vHU, vHP, vHQ, vHV:
		return appendReqPart(dst, r, n)
	case vH:
		return appendText(dst, env.Hostname, n)
	case vPID:
		return appendInt(dst, int64(env.PID), n)
	case vRT:
		return appendInt(dst, int64(r.ReqCounter), n)
	case vLC:
		return appendInt(dst, int64(env.LogCount), n)
	}
	return dst
}

func requestDate(r *Record) time.Time {
	if r.Request.IsZero() {
		return r.Accept
	}
	return r.Request
}

func sum(ts ...int64) int64 {
	var s int64
	for _, t := range ts {
		if t < 0 {
			return -1
		}
		s += t
	}
	return s
}

// appendReqPart extracts the method, URI, path, query or version from the request line.
func appendReqPart(dst []byte, r *Record, n *node) []byte {
	line := r.ReqLine
	if !r.HasReq {
		return appendText(dst, "-", n)
	}
	sp1 := indexByte(line, ' ')
	method, uri, version := line, []byte(nil), []byte(nil)
	if sp1 >= 0 {
		method, uri = line[:sp1], line[sp1+1:]
		if sp2 := lastIndexByte(uri, ' '); sp2 >= 0 {
			uri, version = uri[:sp2], uri[sp2+1:]
		}
	}
	var part []byte
	switch n.v {
	case vHM:
		part = method
	case vHU:
		part = uri
	case vHV:
		part = version
	case vHP, vHQ:
		q := indexByte(uri, '?')
		if n.v == vHP {
			part = uri
			if q >= 0 {
				part = uri[:q]
			}
		} else if q >= 0 {
			part = uri[q:]
		}
	}
	if n.quote {
		dst = append(dst, '"')
	}
	dst = appendEncoded(dst, part, false)
	if n.quote {
		dst = append(dst, '"')
	}
	return dst
}

func indexByte(b []byte, c byte) int {
	for i := range b {
		if b[i] == c {
			return i
		}
	}
	return -1
}

func lastIndexByte(b []byte, c byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == c {
			return i
		}
	}
	return -1
}

// appendCaptures writes captured headers: "{a|b}" (braced) or "a b" (the ...l forms).
func appendCaptures(dst []byte, caps [][]byte, braced bool, n *node) []byte {
	if len(caps) == 0 {
		return dst
	}
	if braced {
		dst = append(dst, '{')
	}
	for i, c := range caps {
		if i > 0 {
			if braced {
				dst = append(dst, '|')
			} else {
				dst = append(dst, ' ')
			}
		}
		if n.quote {
			dst = append(dst, '"')
		}
		dst = appendEncoded(dst, c, true)
		if n.quote {
			dst = append(dst, '"')
		}
	}
	if braced {
		dst = append(dst, '}')
	}
	return dst
}

const hexDigits = "0123456789ABCDEF"

// appendEncoded writes b with HAProxy's log encoding: control characters, bytes
// >= 127, '"' and '#' become #XX; in headers '{', '|' and '}' too.
func appendEncoded(dst, b []byte, header bool) []byte {
	for _, c := range b {
		enc := c < 32 || c >= 127 || c == '"' || c == '#'
		if header && (c == '{' || c == '|' || c == '}') {
			enc = true
		}
		if enc {
			dst = append(dst, '#', hexDigits[c>>4], hexDigits[c&15])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

func appendText(dst []byte, s string, n *node) []byte {
	if s == "" {
		s = "-"
	}
	if n.quote {
		dst = append(dst, '"')
	}
	if n.esc {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == '"' || c == '\\' || c == ']' {
				dst = append(dst, '\\')
			}
			dst = append(dst, s[i])
		}
	} else {
		dst = append(dst, s...)
	}
	if n.quote {
		dst = append(dst, '"')
	}
	return dst
}

func appendInt(dst []byte, v int64, n *node) []byte {
	if n.hex {
		return strconv.AppendUint(dst, uint64(v), 16)
	}
	return strconv.AppendInt(dst, v, 10)
}

func appendPad(dst []byte, v int64, width int) []byte {
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], v, 10)
	for i := len(s); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

func appendAddr(dst []byte, a netip.AddrPort, n *node) []byte {
	if !a.IsValid() {
		return appendText(dst, "-", n)
	}
	ip := a.Addr().Unmap()
	if n.hex && ip.Is4() {
		b := ip.As4()
		for _, x := range b {
			dst = append(dst, hexDigits[x>>4], hexDigits[x&15])
		}
		return dst
	}
	if n.quote {
		dst = append(dst, '"')
	}
	dst = ip.AppendTo(dst)
	if n.quote {
		dst = append(dst, '"')
	}
	return dst
}

func appendPort(dst []byte, a netip.AddrPort, n *node) []byte {
	if !a.IsValid() {
		return appendText(dst, "-", n)
	}
	if n.hex {
		return append(dst, hexDigits[a.Port()>>12], hexDigits[a.Port()>>8&15], hexDigits[a.Port()>>4&15], hexDigits[a.Port()&15])
	}
	return strconv.AppendUint(dst, uint64(a.Port()), 10)
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// appendDate writes "02/Jan/2006:15:04:05" and, with ms, ".000".
func appendDate(dst []byte, t time.Time, ms bool) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	dst = appendPad(dst, int64(d), 2)
	dst = append(dst, '/')
	dst = append(dst, months[mo-1]...)
	dst = append(dst, '/')
	dst = appendPad(dst, int64(y), 4)
	dst = append(dst, ':')
	dst = appendPad(dst, int64(h), 2)
	dst = append(dst, ':')
	dst = appendPad(dst, int64(mi), 2)
	dst = append(dst, ':')
	dst = appendPad(dst, int64(s), 2)
	if ms {
		dst = append(dst, '.')
		dst = appendPad(dst, int64(t.Nanosecond()/1e6), 3)
	}
	return dst
}

// appendZoned writes "02/Jan/2006:15:04:05 -0700".
func appendZoned(dst []byte, t time.Time) []byte {
	dst = appendDate(dst, t, false)
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	dst = append(dst, ' ', sign)
	dst = appendPad(dst, int64(off/3600), 2)
	return appendPad(dst, int64(off%3600/60), 2)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
