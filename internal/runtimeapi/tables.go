package runtimeapi

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"tandem/internal/stick"
)

// The stick table commands: `show table [NAME [data.TYPE OP VALUE]… | [key KEY]]`,
// `clear table NAME [data.TYPE OP VALUE]… | [key KEY]` and `set table NAME key KEY
// [data.TYPE VALUE]…`, with HAProxy 2.6's outputs, error texts and access rules (the
// contents of a table need the operator level; its summary does not).

type tableAction int

const (
	tableShow tableAction = iota
	tableClear
	tableSet
)

// HAProxy's texts.
var tableUsage = [...]string{
	tableShow:  "Optional argument only supports \"data.<store_data_type>\" <operator> <value> and key <key>\n",
	tableClear: "Required arguments: <table> \"data.<store_data_type>\" <operator> <value> or <table> key <key>\n",
	tableSet:   "Required arguments: <table> key <key> [data.<store_data_type> <value>]*\n",
}

var tableBinaryKey = [...]string{
	tableShow:  "Showing keys from tables of type other than ip, ipv6, string and integer is not supported\n",
	tableClear: "Removing keys from tables of type other than ip, ipv6, string and integer is not supported\n",
	tableSet:   "Inserting keys into tables of type other than ip, ipv6, string and integer is not supported\n",
}

// maxTableFilters is HAProxy's default STKTABLE_FILTER_LEN.
const maxTableFilters = 4

// tableFilter is one `data.TYPE OP VALUE` of show or clear.
type tableFilter struct {
	data  stick.Data
	op    string
	value int64
}

func (f tableFilter) match(e *stick.Entry, now time.Time) bool {
	v, _ := e.GetSigned(f.data, now)
	switch f.op {
	case "eq":
		return v == f.value
	case "ne":
		return v != f.value
	case "le":
		return v <= f.value
	case "ge":
		return v >= f.value
	case "lt":
		return v < f.value
	}
	return v > f.value // gt
}

func tableCmd(act tableAction) func(*session, *bytes.Buffer, []string) {
	return func(s *session, out *bytes.Buffer, args []string) { s.table(out, act, args) }
}

func (s *session) now() time.Time {
	if s.src.Now != nil {
		return s.src.Now()
	}
	return time.Now()
}

func (s *session) tables() []*stick.Table {
	if s.src.Tables == nil {
		return nil
	}
	return s.src.Tables()
}

// table runs one table command; args are the words after "show|clear|set table".
func (s *session) table(out *bytes.Buffer, act tableAction, args []string) {
	now := s.now()
	tables := s.tables()
	if arg(args, 0) == "" {
		if act != tableShow {
			out.WriteString(tableUsage[act])
			return
		}
		for i := len(tables) - 1; i >= 0; i-- { // HAProxy lists the last declared first
			tables[i].Purge(now)
			writeTableHead(out, tables[i])
		}
		return
	}
	var t *stick.Table
	for _, tb := range tables {
		if tb.Name() == arg(args, 0) {
			t = tb
		}
	}
	if t == nil {
		out.WriteString("No such table\n")
		return
	}
	t.Purge(now)
	switch {
	case arg(args, 1) == "key":
		s.tableKey(out, act, t, args[2:], now)
	case strings.HasPrefix(arg(args, 1), "data."):
		if act == tableSet {
			out.WriteString("content-based lookup is only supported with the \"show\" and \"clear\" actions\n")
			return
		}
		filters, msg := parseTableFilters(t, args[1:])
		if msg != "" {
			out.WriteString(msg)
			return
		}
		s.tableWalk(out, act, t, filters, now)
	case arg(args, 1) != "":
		out.WriteString(tableUsage[act])
	default:
		// As HAProxy 2.6, `set table NAME` alone clears the table like `clear table NAME`.
		s.tableWalk(out, act, t, nil, now)
	}
}

// parseTableFilters reads up to four `data.TYPE OP VALUE` filters of t; msg is
// HAProxy's error text when they are wrong.
func parseTableFilters(t *stick.Table, args []string) (filters []tableFilter, msg string) {
	for i := range maxTableFilters {
		word := arg(args, 3*i)
		if word == "" {
			break
		}
		name := ""
		if len(word) > len("data.") {
			name = word[len("data."):] // HAProxy skips five characters, whatever they are
		}
		d, ok := stick.ParseData(name)
		switch {
		case !ok:
			return nil, fmt.Sprintf("Filter entry #%d: Unknown data type\n", i+1)
		case !t.Stores(d):
			return nil, fmt.Sprintf("Filter entry #%d: Data type not stored in this table\n", i+1)
		}
		op := arg(args, 3*i+1)
		switch op {
		case "eq", "ne", "le", "ge", "lt", "gt":
		default:
			return nil, fmt.Sprintf("Filter entry #%d: Require and operator among \"eq\", \"ne\", \"le\", \"ge\", \"lt\", \"gt\"\n", i+1)
		}
		v, ok := parseLongLong(arg(args, 3*i+2))
		if !ok {
			return nil, fmt.Sprintf("Filter entry #%d: Require a valid integer value to compare against\n", i+1)
		}
		filters = append(filters, tableFilter{data: d, op: op, value: v})
	}
	if extra := arg(args, 3*maxTableFilters); extra != "" {
		// HAProxy counts words from "show" (the filters start at the fourth).
		return nil, fmt.Sprintf("Detected extra data in filter, %dth word of input, after '%s'\n",
			3+3*maxTableFilters+1, arg(args, 3*maxTableFilters-1))
	}
	return filters, ""
}

// parseLongLong reads a value as HAProxy's strl2llrc: an optional '-' then digits only,
// within 64 bits.
func parseLongLong(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	var r int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if r > (1<<63-1)/10 {
			return 0, false
		}
		r *= 10
		if r > 1<<63-1-int64(c-'0') {
			return 0, false
		}
		r += int64(c - '0')
	}
	if neg {
		r = -r
	}
	return r, true
}

// tableWalk shows or clears every entry of t that passes the filters. The contents need
// the operator level: below it, show says so and clear does nothing.
func (s *session) tableWalk(out *bytes.Buffer, act tableAction, t *stick.Table, filters []tableFilter, now time.Time) {
	if act == tableShow {
		writeTableHead(out, t)
		if s.level < LevelOperator {
			out.WriteString("# contents not dumped due to insufficient privileges\n")
			return
		}
	} else if s.level < LevelOperator {
		return
	}
next:
	for _, e := range t.Entries(now) {
		for _, f := range filters {
			if !f.match(e, now) {
				continue next
			}
		}
		if act == tableShow {
			writeTableEntry(out, t, e, now)
		} else {
			t.Remove(e) // an entry in use stays, silently, as HAProxy
		}
	}
}

// tableKey runs `… table NAME key KEY …`.
func (s *session) tableKey(out *bytes.Buffer, act tableAction, t *stick.Table, args []string, now time.Time) {
	if len(args) == 0 || args[0] == "" {
		out.WriteString("Key value expected\n")
		return
	}
	if t.Def().Type == stick.KeyBinary {
		out.WriteString(tableBinaryKey[act])
		return
	}
	k, err := t.ParseKey(args[0])
	if err != nil {
		out.WriteString("Invalid key\n")
		return
	}
	if s.level < LevelOperator {
		out.WriteString(msgPermission)
		return
	}
	switch act {
	case tableShow:
		if e := t.Lookup(k, now); e != nil {
			writeTableHead(out, t)
			writeTableEntry(out, t, e, now)
		}
	case tableClear:
		if e := t.Lookup(k, now); e != nil && !t.Remove(e) {
			out.WriteString("Entry currently in use, cannot remove\n")
		}
	case tableSet:
		e := t.Acquire(k, now)
		if e == nil {
			out.WriteString("Unable to allocate a new entry\n")
			return
		}
		out.WriteString(setTableData(t, e, args[1:], now))
		e.Touch(now)
		e.Release(now)
	}
}

// setTableData applies `data.TYPE VALUE` pairs in order and returns HAProxy's error
// text at the first wrong one ("" when all apply); the pairs before it stay applied.
func setTableData(t *stick.Table, e *stick.Entry, args []string, now time.Time) string {
	for i := 0; i < len(args) && args[i] != ""; i += 2 {
		name, ok := strings.CutPrefix(args[i], "data.")
		if !ok {
			return "\"data.<type>\" followed by a value expected\n"
		}
		d, ok := stick.ParseData(name)
		switch {
		case !ok:
			return "Unknown data type\n"
		case !t.Stores(d):
			return "Data type not stored in this table\n"
		}
		v := ""
		if i+1 < len(args) {
			v = args[i+1]
		}
		n, ok := parseLongLong(v)
		if !ok {
			return "Require a valid integer value to store\n"
		}
		e.Set(d, n, now)
	}
	return ""
}

func writeTableHead(out *bytes.Buffer, t *stick.Table) {
	fmt.Fprintf(out, "# table: %s, type: %s, size:%d, used:%d\n", t.Name(), t.Def().Type, t.Size(), t.Used())
}

// entryAddr stands where HAProxy prints an entry's address: a pointer-like number that
// stays the same for the entry's life.
func entryAddr(e *stick.Entry) uint64 { return 0x55d0c0000000 + e.ID()*0x70 }

// writeTableEntry writes one entry as HAProxy 2.6's `show table`:
// "0x…: key=K use=N exp=MS name=V … rate(PERIOD)=V".
func writeTableEntry(out *bytes.Buffer, t *stick.Table, e *stick.Entry, now time.Time) {
	fmt.Fprintf(out, "%#x: key=%s use=%d exp=%d", entryAddr(e), t.FormatKey(e.Key()), e.Use(), e.Expire(now).Milliseconds())
	for _, st := range t.Def().Store.List() {
		if st.Data.IsArray() {
			writeArray(out, e, st, now)
			continue
		}
		switch {
		case st.Data == stick.ServerKey:
			k := e.ServerKey()
			if k == "" {
				k = "-"
			}
			fmt.Fprintf(out, " %s=%s", st.Data, k)
		case st.Data.IsRate():
			v, _ := e.Get(st.Data, now)
			fmt.Fprintf(out, " %s(%d)=%d", st.Data, st.Period.Milliseconds(), v)
		case st.Data == stick.ServerID:
			v, _ := e.GetSigned(st.Data, now)
			fmt.Fprintf(out, " %s=%d", st.Data, v)
		default:
			v, _ := e.Get(st.Data, now)
			fmt.Fprintf(out, " %s=%d", st.Data, v)
		}
	}
	out.WriteByte('\n')
}

// writeArray writes each element of an array as HAProxy: "gpc0=…", "gpc1=…",
// "gpc0_rate(P)=…".
func writeArray(out *bytes.Buffer, e *stick.Entry, st stick.Stored, now time.Time) {
	name := strings.TrimSuffix(st.Data.String(), "_rate")
	for i := range st.Count {
		v, _ := e.GetAt(st.Data, i, now)
		if st.Data.IsRate() {
			fmt.Fprintf(out, " %s%d_rate(%d)=%d", name, i, st.Period.Milliseconds(), v)
		} else {
			fmt.Fprintf(out, " %s%d=%d", name, i, v)
		}
	}
}
