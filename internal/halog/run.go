package halog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

type srvStat struct {
	st         [7]int64 // 1xx..5xx at 1..5, other at 6
	req, ok    int64
	ctSum, ctN int64
	rtSum, rtN int64
	name       string
}

type urlStat struct {
	url            string
	req, err       int64
	total, totalOK uint64
	bytes          uint64
}

type run struct {
	o        *options
	w, ew    *bufio.Writer
	linesIn  int64
	linesOut int64
	parseErr int64
	matched  int64
	stopped  bool

	srv     map[string]*srvStat
	status  map[int64]int64
	term    map[string]int64
	urls    map[string]*urlStat
	pct     [4][]int64 // TR, Tc, Tr, Td of complete lines
	accepts map[int64]int64

	dateKey  []byte // last accept date (to the second) converted for -time
	dateUnix int64

	// fields of the current line after the client address, found so far
	fields [fMethod + 1][]byte
	nf     int
}

// fld returns field k (fSource...fMethod) of line, whose field 0 is f0, remembering
// the fields found so that each line is scanned once; nil when the line is shorter.
func (r *run) fld(line, f0 []byte, k int) []byte {
	if r.nf == 0 {
		r.fields[0], r.nf = f0, 1
	}
	for r.nf <= k {
		next := after(line, r.fields[r.nf-1], 1)
		if next == nil {
			return nil
		}
		r.fields[r.nf] = next
		r.nf++
	}
	return r.fields[k]
}

func newRun(o *options, w, ew *bufio.Writer) *run {
	return &run{o: o, w: w, ew: ew, srv: map[string]*srvStat{}, status: map[int64]int64{},
		term: map[string]int64{}, urls: map[string]*urlStat{}, accepts: map[int64]int64{}}
}

func (r *run) read(in io.Reader) error {
	br := bufio.NewReaderSize(in, 1<<20)
	for !r.stopped {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// an over-long line: take it whole
			long := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > 0 {
			r.linesIn++
			body := bytes.TrimRight(line, "\r\n")
			r.line(body, line)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the log: %w", err)
		}
	}
	return nil
}

func (r *run) truncated(line []byte) {
	if !r.o.quiet {
		fmt.Fprintf(r.ew, "Truncated line %d: %s\n", r.linesIn, line)
	}
}

// line processes one line (without its newline); raw is it as read.
func (r *run) line(line, raw []byte) {
	o := r.o
	f0 := field(line, o.skip) // the client address
	r.nf = 0
	if f0 == nil {
		r.truncated(line)
		return
	}
	pass := true
	if o.filtering() {
		var ok bool
		pass, ok = r.filter(line, f0)
		if !ok {
			return
		}
	}
	if pass == o.invert {
		return
	}
	r.matched++
	if o.count && o.mode != modeAccept {
		if o.limit > 0 && r.matched >= int64(o.limit) {
			r.stopped = true
		}
		return
	}
	switch o.mode {
	case modeLines:
		r.w.Write(line)
		r.w.WriteByte('\n')
		r.linesOut++
		if o.limit > 0 && r.linesOut >= int64(o.limit) {
			r.stopped = true // as halog: stop reading at once
		}
	case modeSrv:
		r.countSrv(line, f0)
	case modeStatus:
		st := r.fld(line, f0, fStatus)
		if st == nil {
			r.truncated(line)
			return
		}
		v, _ := parseInt(st)
		r.status[v]++
	case modeTerm, modeCookie:
		t := r.fld(line, f0, fTerm)
		if t == nil {
			r.truncated(line)
			return
		}
		if o.mode == modeCookie {
			t = t[min(2, len(t)):]
		}
		if len(t) > 2 {
			t = t[:2]
		}
		r.term[string(t)]++
	case modeURL:
		r.countURL(line, f0)
	case modePct:
		r.countPct(line, f0)
	case modeAccept:
		r.countAccept(line, f0)
	}
}

// filter applies the input filters; ok is false when the line is to be skipped (a
// field is missing). As halog, every filter is evaluated, even once one failed: a
// later one may still find the line truncated.
func (r *run) filter(line, f0 []byte) (pass, ok bool) {
	o := r.o
	pass = true
	if o.rtSet {
		t, ok := r.timersAt(line, f0, 4)
		if !ok {
			return false, false
		}
		if (t[3] >= o.rtVal) != o.rtMin {
			pass = false
		}
	}
	if o.httpOnly {
		t := r.fld(line, f0, fTimers)
		if t == nil {
			r.truncated(line)
			return false, false
		}
		if bytes.Count(t, []byte{'/'}) < 3 {
			pass = false
		}
	}
	if o.errOnly != 0 || o.hsSet {
		st := r.fld(line, f0, fStatus)
		if st == nil {
			r.truncated(line)
			return false, false
		}
		v, _ := parseInt(st)
		if o.errOnly != 0 {
			isErr := v < 0 || v >= 500 && v <= 599
			if isErr != (o.errOnly > 0) {
				pass = false
			}
		}
		if o.hsSet {
			in := v >= int64(o.hsMin) && v <= int64(o.hsMax)
			if in == o.hsNot {
				pass = false
			}
		}
	}
	if o.termCode != "" {
		tc := r.fld(line, f0, fTerm)
		if tc == nil {
			r.truncated(line)
			return false, false
		}
		if (len(tc) >= 2 && string(tc[:2]) == o.termCode) == o.termNot {
			pass = false
		}
	}
	if o.queued != 0 {
		q := r.fld(line, f0, fQueue)
		if q == nil {
			r.truncated(line)
			return false, false
		}
		sq, _ := parseInt(q)
		bq := int64(0)
		if k := bytes.IndexByte(q, '/'); k >= 0 {
			bq, _ = parseInt(q[k+1:])
		}
		if sq <= 0 && (o.queued == 2 || bq <= 0) {
			pass = false
		}
	}
	if o.timeSet {
		ts, ok := r.acceptUnix(line, f0)
		if !ok {
			r.truncated(line)
			return false, false
		}
		if ts < o.timeMin || ts > o.timeMax {
			pass = false
		}
	}
	return pass, true
}

var monthIdx = map[string]time.Month{"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6, "Jul": 7,
	"Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12}

// acceptParts parses "[02/Jan/2006:15:04:05.000]".
func acceptParts(d []byte) (t [7]int, ok bool) {
	if len(d) < 21 || d[0] != '[' {
		return t, false
	}
	d = d[1:]
	num := func(b []byte) int { v, _ := parseInt(b); return int(v) }
	t[2] = num(d[0:2])
	m, found := monthIdx[string(d[3:6])]
	if !found {
		return t, false
	}
	t[1] = int(m)
	t[0] = num(d[7:11])
	t[3] = num(d[12:14])
	t[4] = num(d[15:17])
	t[5] = num(d[18:20])
	if len(d) >= 24 && d[20] == '.' {
		t[6] = num(d[21:24])
	}
	return t, true
}

func (r *run) acceptUnix(line, f0 []byte) (int64, bool) {
	d := r.fld(line, f0, 1)
	if len(d) < 21 {
		return 0, false
	}
	if bytes.Equal(d[:21], r.dateKey) {
		return r.dateUnix, true
	}
	p, ok := acceptParts(d)
	if !ok {
		return 0, false
	}
	r.dateKey = append(r.dateKey[:0], d[:21]...)
	r.dateUnix = time.Date(p[0], time.Month(p[1]), p[2], p[3], p[4], p[5], 0, time.Local).Unix()
	return r.dateUnix, true
}

func (r *run) countSrv(line, f0 []byte) {
	name := r.fld(line, f0, fServer)
	if name == nil {
		r.truncated(line)
		return
	}
	s := r.srv[string(name)]
	if s == nil {
		s = &srvStat{name: string(name)}
		r.srv[s.name] = s
	}
	t, ok := r.timersAt(line, f0, 5)
	if !ok {
		return
	}
	st := r.fld(line, f0, fStatus)
	if st == nil {
		r.truncated(line)
		return
	}
	class := 6
	if c := st[0]; c >= '1' && c <= '5' {
		class = int(c - '0')
	}
	s.st[class]++
	s.req++
	if t[2] >= 0 {
		s.ctSum += t[2]
		s.ctN++
	}
	if t[3] >= 0 {
		s.rtSum += t[3]
		s.rtN++
	}
	if t[0] >= 0 && t[1] >= 0 && t[2] >= 0 && t[3] >= 0 && t[4] >= 0 {
		s.ok++
	}
}

func (r *run) countURL(line, f0 []byte) {
	t, ok := r.timersAt(line, f0, 5)
	if !ok {
		return
	}
	bf := r.fld(line, f0, fBytes)
	if bf == nil {
		r.truncated(line)
		return
	}
	nbytes, _ := parseInt(bf)
	m := r.fld(line, f0, fMethod)
	for m != nil && m[0] == '{' { // captured headers
		m = after(line, m, 1)
	}
	if m == nil {
		r.truncated(line)
		return
	}
	u := after(line, m, 1)
	if u == nil {
		u = m
	}
	if !r.o.query {
		for i, c := range u {
			if c == '?' || c == ';' {
				u = u[:i]
				break
			}
		}
	}
	us := r.urls[string(u)]
	if us == nil {
		us = &urlStat{url: string(u)}
		r.urls[us.url] = us
	}
	err := t[0] < 0 || t[1] < 0 || t[2] < 0 || t[3] < 0 || t[4] < 0
	v := t[3]
	if v < 0 {
		v = t[4]
	}
	us.req++
	if err {
		us.err++
	}
	us.total += uint64(v)
	if t[3] >= 0 {
		us.totalOK += uint64(t[3])
	}
	us.bytes += uint64(nbytes)
}

func (r *run) countPct(line, f0 []byte) {
	t, ok := r.timersAt(line, f0, 5)
	if !ok {
		return
	}
	if t[0] < 0 || t[1] < 0 || t[2] < 0 || t[3] < 0 || t[4] < 0 {
		return
	}
	d := t[4] - (t[0] + t[1] + t[2] + t[3])
	if d < 0 && !r.o.quiet {
		fmt.Fprintf(r.ew, "ERR: %s (%d %d %d %d %d => %d)\n", line, t[0], t[1], t[2], t[3], t[4], d)
	}
	r.pct[0] = append(r.pct[0], t[0])
	r.pct[1] = append(r.pct[1], t[2])
	r.pct[2] = append(r.pct[2], t[3])
	r.pct[3] = append(r.pct[3], d)
}

func (r *run) countAccept(line, f0 []byte) {
	d := r.fld(line, f0, 1)
	p, ok := acceptParts(d)
	if !ok {
		r.truncated(line)
		return
	}
	ms := int64(((p[3]*60+p[4])*60+p[5])*1000 + p[6])
	r.accepts[ms]++
}

// report prints the result of the output mode and the summary.
func (r *run) report() {
	o := r.o
	if o.count && o.mode != modeAccept {
		fmt.Fprintf(r.w, "%d\n", r.matched)
		return
	}
	switch o.mode {
	case modeSrv:
		r.reportSrv()
	case modeStatus:
		keys := make([]int64, 0, len(r.status))
		for k := range r.status {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !r.emit() {
				break
			}
			fmt.Fprintf(r.w, "%d %d\n", k, r.status[k])
		}
	case modeTerm, modeCookie:
		keys := make([]string, 0, len(r.term))
		for k := range r.term {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !r.emit() {
				break
			}
			fmt.Fprintf(r.w, "%s %d\n", k, r.term[k])
		}
	case modeURL:
		r.reportURL()
	case modePct:
		r.reportPct()
	case modeAccept:
		r.reportAccept()
	}
	if !o.quiet {
		fmt.Fprintf(r.ew, "%d lines in, %d lines out, %d parsing errors\n", r.linesIn, r.linesOut, r.parseErr)
	}
}

// emit counts an output line, false once -m is reached.
func (r *run) emit() bool {
	if r.o.limit > 0 && r.linesOut >= int64(r.o.limit) {
		return false
	}
	r.linesOut++
	return true
}

func (r *run) reportSrv() {
	names := make([]string, 0, len(r.srv))
	for k := range r.srv {
		names = append(names, k)
	}
	slices.Sort(names)
	r.w.WriteString("#srv_name 1xx 2xx 3xx 4xx 5xx other tot_req req_ok pct_ok avg_ct avg_rt\n")
	for _, k := range names {
		if !r.emit() {
			break
		}
		s := r.srv[k]
		var pct float64
		if s.req > 0 {
			pct = float64(s.ok) * 100 / float64(s.req)
		}
		fmt.Fprintf(r.w, "%s %d %d %d %d %d %d %d %d %.1f %d %d\n", k, s.st[1], s.st[2], s.st[3], s.st[4], s.st[5], s.st[6],
			s.req, s.ok, pct, div(s.ctSum, s.ctN), div(s.rtSum, s.rtN))
	}
}

func div(a, b int64) int64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func udiv(a uint64, b int64) uint64 {
	if b <= 0 {
		return 0
	}
	return a / uint64(b)
}

func (r *run) reportURL() {
	list := make([]*urlStat, 0, len(r.urls))
	for _, u := range r.urls {
		list = append(list, u)
	}
	key := func(u *urlStat) uint64 {
		switch r.o.sortKey {
		case byReq:
			return uint64(u.req)
		case byErr:
			return uint64(u.err)
		case byAvg:
			return udiv(u.total, u.req)
		case byTotal:
			return u.total
		case byOKAvg:
			return udiv(u.totalOK, u.req-u.err)
		case byOKTotal:
			return u.totalOK
		case byBytesAvg:
			return udiv(u.bytes, u.req)
		case byBytesTotal:
			return u.bytes
		}
		return 0
	}
	// Highest first; ties (and -u) in reverse URL order.
	slices.SortFunc(list, func(a, b *urlStat) int {
		if r.o.sortKey != byURL {
			ka, kb := key(a), key(b)
			if ka != kb {
				if ka > kb {
					return -1
				}
				return 1
			}
		}
		switch {
		case a.url > b.url:
			return -1
		case a.url < b.url:
			return 1
		}
		return 0
	})
	r.w.WriteString("#req err ttot tavg oktot okavg bavg btot src\n")
	for _, u := range list {
		if !r.emit() {
			break
		}
		fmt.Fprintf(r.w, "%d %d %d %d %d %d %d %d %s\n", u.req, u.err, u.total, udiv(u.total, u.req),
			u.totalOK, udiv(u.totalOK, u.req-u.err), udiv(u.bytes, u.req), u.bytes, u.url)
	}
}

// percentile steps halog prints, in tenths of a percent.
var pctSteps = func() []int {
	var s []int
	for p := 1; p <= 20; p++ {
		s = append(s, p)
	}
	for p := 30; p <= 100; p += 10 {
		s = append(s, p)
	}
	for p := 150; p <= 900; p += 50 {
		s = append(s, p)
	}
	for p := 910; p <= 980; p += 10 {
		s = append(s, p)
	}
	for p := 981; p <= 1000; p++ {
		s = append(s, p)
	}
	return s
}()

func (r *run) reportPct() {
	n := len(r.pct[0])
	for i := range r.pct {
		sortTimes(r.pct[i])
	}
	r.linesOut = int64(n)
	if n == 0 {
		return
	}
	for _, p := range pctSteps {
		// as halog, in floating point: n × (pct/100), rounded down
		idx := int(float64(n) * ((float64(p) / 10) / 100))
		at := max(idx-1, 0)
		r.w.WriteString(strconv.Itoa(p/10) + "." + strconv.Itoa(p%10))
		fmt.Fprintf(r.w, " %d %d %d %d %d \n", idx, r.pct[0][at], r.pct[1][at], r.pct[2][at], r.pct[3][at])
	}
}

func (r *run) reportAccept() {
	keys := make([]int64, 0, len(r.accepts))
	for k := range r.accepts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out int64
	for i := 1; i < len(keys); i++ {
		gap := keys[i] - keys[i-1]
		c := r.accepts[keys[i]]
		if gap < int64(r.o.acceptGap) || c < int64(r.o.acceptMin) {
			continue
		}
		out++
		if r.o.count {
			continue
		}
		ms := keys[i]
		fmt.Fprintf(r.w, "%02d:%02d:%02d.%03d %d %d %d\n", ms/3600000, ms/60000%60, ms/1000%60, ms%1000, ms, gap, c)
	}
	r.linesOut = out
	if r.o.count {
		fmt.Fprintf(r.w, "%d\n", out)
	}
}

// sortTimes sorts timer values: by counting when their range is small (milliseconds
// usually are), else by comparison.
func sortTimes(v []int64) {
	if len(v) < 1024 {
		slices.Sort(v)
		return
	}
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	if hi-lo >= 1<<22 {
		slices.Sort(v)
		return
	}
	counts := make([]int32, hi-lo+1)
	for _, x := range v {
		counts[x-lo]++
	}
	i := 0
	for k, c := range counts {
		for ; c > 0; c-- {
			v[i] = lo + int64(k)
			i++
		}
	}
}

// timersAt reads the timers field (Tq/Tw/Tc/Tr/Tt) of line and needs at least need of them;
// a cut line or a malformed field is counted as halog counts it, and ok is false.
func (r *run) timersAt(line, f0 []byte, need int) (t [5]int64, ok bool) {
	tf := r.fld(line, f0, fTimers)
	if tf == nil {
		r.truncated(line)
		return t, false
	}
	t, n := timers(tf)
	if n < need {
		r.parseErr++
		return t, false
	}
	return t, true
}
