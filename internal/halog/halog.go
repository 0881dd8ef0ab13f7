// Package halog summarises HAProxy-format logs (HAProxy's and tandem's) the way
// HAProxy's halog tool does: per server, per status, per termination code, per URL,
// timer percentiles and accept holes, with the same input filters and the same output
// bytes, so scripts written around halog keep working with `tandem halog`.
//
// Lines are read as syslog writes them ("Mon DD HH:MM:SS host tag[pid]: " then the
// log line); -s moves the first field. Fields are separated by runs of spaces.
package halog

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Fields of an httplog line, counted from the client address (tcplog lines share the
// first five).
const (
	fSource = iota
	fAccept
	fFrontend
	fServer
	fTimers
	fStatus
	fBytes
	fCookieReq
	fCookieResp
	fTerm
	fConns
	fQueue
	fMethod // after any captured headers
)

type mode int

const (
	modeLines mode = iota // print matching lines
	modeCount
	modeSrv
	modeStatus
	modeTerm
	modeCookie // -cc
	modeURL
	modePct
	modeAccept // -ad
)

// URL sort keys (-u, -uc, ...).
type urlSort int

const (
	byURL urlSort = iota
	byReq
	byErr
	byAvg
	byTotal
	byOKAvg
	byOKTotal
	byBytesAvg
	byBytesTotal
)

// options are the parsed flags.
type options struct {
	mode    mode
	count   bool // -c
	sortKey urlSort
	skip    int
	quiet   bool
	invert  bool
	limit   int // -m, 0: none
	query   bool

	httpOnly   bool
	errOnly    int // 1: -e, -1: -E
	hsSet      bool
	hsMin      int
	hsMax      int
	hsNot      bool
	timeSet    bool
	timeMin    int64
	timeMax    int64
	acceptGap  int // -ad
	acceptMin  int // -ac
	acceptMode bool
	termCode   string // -tcn / -TCN
	termNot    bool
	rtSet      bool // -rt / -RT
	rtMin      bool // -rt: at least; -RT: below
	rtVal      int64
	queued     int // 1: -Q (any queue), 2: -QS (server queue)
}

const usage = `usage: tandem halog [input filters] [modifiers] [output format] < log
  input filters: -H -e -E -Q -QS -rt|-RT <time> -tcn|-TCN <code> -hs|-HS [min][:[max]]
                 -time [min][:[max]] -ad <delay> -ac <count>
  modifiers:     -q -v -m <lines> -s <skip_fields> -query
  output:        -c -srv -st -tc -cc -pct -u -uc -ue -ua -ut -uao -uto -uba -ubt
`

// Main runs halog with args over in; it returns the exit status.
func Main(args []string, in io.Reader, stdout, stderr io.Writer) int {
	o, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "halog: %v\n%s", err, usage)
		return 1
	}
	w := bufio.NewWriterSize(stdout, 64<<10)
	ew := bufio.NewWriter(stderr)
	r := newRun(o, w, ew)
	if err := r.read(in); err != nil {
		w.Flush()
		ew.Flush()
		fmt.Fprintf(stderr, "halog: %v\n", err)
		return 1
	}
	r.report()
	w.Flush()
	ew.Flush()
	return 0
}

func parseArgs(args []string) (*options, error) {
	o := &options{skip: 5}
	next := func(i *int, name string) (string, error) {
		if *i+1 >= len(args) {
			return "", fmt.Errorf("%s needs an argument", name)
		}
		*i++
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch a {
		case "-H":
			o.httpOnly = true
		case "-e":
			o.errOnly = 1
		case "-E":
			o.errOnly = -1
		case "-q":
			o.quiet = true
		case "-v":
			o.invert = true
		case "-query":
			o.query = true
		case "-c":
			o.count = true
		case "-srv":
			o.mode = modeSrv
		case "-st":
			o.mode = modeStatus
		case "-tc":
			o.mode = modeTerm
		case "-cc":
			o.mode = modeCookie
		case "-Q":
			o.queued = 1
		case "-QS":
			o.queued = 2
		case "-tcn", "-TCN", "-rt", "-RT":
			v, err := next(&i, a)
			if err != nil {
				return nil, err
			}
			switch a {
			case "-tcn", "-TCN":
				o.termCode, o.termNot = v, a == "-TCN"
			default:
				o.rtSet, o.rtMin, o.rtVal = true, a == "-rt", int64(atoiLoose(v))
			}
		case "-pct":
			o.mode = modePct
		case "-u", "-uc", "-ue", "-ua", "-ut", "-uao", "-uto", "-uba", "-ubt":
			o.mode = modeURL
			o.sortKey = map[string]urlSort{"-u": byURL, "-uc": byReq, "-ue": byErr, "-ua": byAvg, "-ut": byTotal,
				"-uao": byOKAvg, "-uto": byOKTotal, "-uba": byBytesAvg, "-ubt": byBytesTotal}[a]
		case "-m", "-s", "-ad", "-ac":
			v, err := next(&i, a)
			if err != nil {
				return nil, err
			}
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("%s: invalid number %q", a, v)
			}
			switch a {
			case "-m":
				o.limit = n
			case "-s":
				o.skip = n
			case "-ad":
				o.acceptGap, o.acceptMode = n, true
			case "-ac":
				o.acceptMin = n
			}
		case "-hs", "-HS":
			v, err := next(&i, a)
			if err != nil {
				return nil, err
			}
			o.hsSet, o.hsNot = true, a == "-HS"
			lo, hi, found := strings.Cut(v, ":")
			o.hsMin, o.hsMax = 0, 1<<31-1
			if lo != "" {
				o.hsMin = atoiLoose(lo)
			}
			if hi != "" {
				o.hsMax = atoiLoose(hi)
			}
			if !found {
				o.hsMax = o.hsMin
			}
		case "-time":
			v, err := next(&i, a)
			if err != nil {
				return nil, err
			}
			o.timeSet = true
			lo, hi, _ := strings.Cut(v, ":")
			o.timeMin, o.timeMax = 0, 1<<62
			if lo != "" {
				o.timeMin = int64(atoiLoose(lo))
			}
			if hi != "" {
				o.timeMax = int64(atoiLoose(hi))
			}
		default:
			if len(a) > 1 && a[0] == '-' && a[1] >= '0' && a[1] <= '9' { // -N: start N fields earlier
				n, _ := strconv.Atoi(a[1:])
				o.skip = 5 - n
				continue
			}
			return nil, fmt.Errorf("unknown option %q", a)
		}
	}
	if o.acceptMode {
		o.mode = modeAccept
	}
	if o.mode == modeLines && !o.count && !o.filtering() {
		return nil, fmt.Errorf("no action specified")
	}
	if o.skip < 0 {
		o.skip = 0
	}
	return o, nil
}

// filtering reports whether an input filter is set.
func (o *options) filtering() bool {
	return o.httpOnly || o.errOnly != 0 || o.hsSet || o.timeSet || o.termCode != "" || o.rtSet || o.queued != 0
}

func atoiLoose(s string) int {
	n, _ := parseInt([]byte(s))
	return int(n)
}

// parseInt reads an optional '-' and decimal digits at the start of b, as halog reads
// numbers: it stops at the first other byte. ok is false when no digit was read.
func parseInt(b []byte) (v int64, ok bool) {
	neg := false
	i := 0
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	start := i
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		v = v*10 + int64(b[i]-'0')
	}
	if neg {
		v = -v
	}
	return v, i > start
}

// fields returns the n-th field (0-based) of line counting spaces-separated runs,
// starting at from; nil when the line has fewer.
func field(line []byte, n int) []byte {
	i := 0
	for i < len(line) && line[i] == ' ' {
		i++
	}
	for ; n > 0; n-- {
		if k := bytes.IndexByte(line[i:], ' '); k < 0 {
			i = len(line)
		} else {
			i += k
		}
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i >= len(line) {
			return nil
		}
	}
	if i >= len(line) {
		return nil
	}
	j := bytes.IndexByte(line[i:], ' ')
	if j < 0 {
		return line[i:]
	}
	return line[i : i+j]
}

// after returns the n-th field (n >= 1) after field f, which must alias line; nil when
// the line has fewer.
func after(line, f []byte, n int) []byte {
	off := cap(line) - cap(f) + len(f)
	return field(line[off:], n-1)
}

// timers parses "a/b/c/d/e": the values (up to 5) and how many there were.
func timers(f []byte) (t [5]int64, n int) {
	for len(f) > 0 {
		v, _ := parseInt(f)
		if n < 5 {
			t[n] = v
		}
		n++
		k := 0
		for k < len(f) && f[k] != '/' {
			k++
		}
		if k >= len(f) {
			break
		}
		f = f[k+1:]
	}
	return t, n
}
