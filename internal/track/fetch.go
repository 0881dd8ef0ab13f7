package track

import (
	"fmt"
	"strconv"
	"time"

	"tandem/internal/sample"
	"tandem/internal/stick"
)

// This file registers the stick-counter fetches and converters of HAProxy 2.6
// (configuration.txt §7.3.2 sc_*, sc0_*…sc2_*, src_*; §7.3.1 table_*).

// op is how a field is read (or changed) on an entry.
type op uint8

const (
	opGet      op = iota // a stored data type
	opKB                 // a byte counter in kilobytes
	opGPC                // general purpose counter idx
	opGPCRate            // its rate
	opIncGPC             // add one, return the new value
	opClrGPC             // clear, return the old value
	opGPT                // general purpose tag idx
	opTrackers           // how many sessions track the entry
	opServerID           // server_id, signed
)

// field is what a fetch or converter reads from an entry.
type field struct {
	name string
	op   op
	d    stick.Data
	idx  int
}

var fields = []field{
	{"conn_cnt", opGet, stick.ConnCnt, 0}, {"conn_cur", opGet, stick.ConnCur, 0},
	{"conn_rate", opGet, stick.ConnRate, 0}, {"sess_cnt", opGet, stick.SessCnt, 0},
	{"sess_rate", opGet, stick.SessRate, 0}, {"http_req_cnt", opGet, stick.HTTPReqCnt, 0},
	{"http_req_rate", opGet, stick.HTTPReqRate, 0}, {"http_err_cnt", opGet, stick.HTTPErrCnt, 0},
	{"http_err_rate", opGet, stick.HTTPErrRate, 0}, {"http_fail_cnt", opGet, stick.HTTPFailCnt, 0},
	{"http_fail_rate", opGet, stick.HTTPFailRate, 0}, {"bytes_in_rate", opGet, stick.BytesInRate, 0},
	{"bytes_out_rate", opGet, stick.BytesOutRate, 0}, {"kbytes_in", opKB, stick.BytesInCnt, 0},
	{"kbytes_out", opKB, stick.BytesOutCnt, 0},
	{"get_gpc0", opGPC, 0, 0}, {"get_gpc1", opGPC, 0, 1},
	{"gpc0_rate", opGPCRate, 0, 0}, {"gpc1_rate", opGPCRate, 0, 1},
	{"inc_gpc0", opIncGPC, 0, 0}, {"inc_gpc1", opIncGPC, 0, 1},
	{"clr_gpc0", opClrGPC, 0, 0}, {"clr_gpc1", opClrGPC, 0, 1},
	{"get_gpt0", opGPT, 0, 0}, {"trackers", opTrackers, 0, 0},
}

// tableFields are the table_* converters: the same fields under their table names.
var tableFields = []struct {
	conv string
	f    string
}{
	{"conn_cnt", "conn_cnt"}, {"conn_cur", "conn_cur"}, {"conn_rate", "conn_rate"},
	{"sess_cnt", "sess_cnt"}, {"sess_rate", "sess_rate"}, {"http_req_cnt", "http_req_cnt"},
	{"http_req_rate", "http_req_rate"}, {"http_err_cnt", "http_err_cnt"},
	{"http_err_rate", "http_err_rate"}, {"http_fail_cnt", "http_fail_cnt"},
	{"http_fail_rate", "http_fail_rate"}, {"bytes_in_rate", "bytes_in_rate"},
	{"bytes_out_rate", "bytes_out_rate"}, {"kbytes_in", "kbytes_in"}, {"kbytes_out", "kbytes_out"},
	{"gpc0", "get_gpc0"}, {"gpc1", "get_gpc1"}, {"gpc0_rate", "gpc0_rate"}, {"gpc1_rate", "gpc1_rate"},
	{"gpt0", "get_gpt0"}, {"trackers", "trackers"},
}

func fieldOf(name string) field {
	for _, f := range fields {
		if f.name == name {
			return f
		}
	}
	panic("track: no field " + name)
}

// read returns the field of e; ok false when the table does not store it.
func (f field) read(e *stick.Entry, now time.Time) (int64, bool) {
	var v uint64
	var ok bool
	switch f.op {
	case opGet:
		v, ok = e.Get(f.d, now)
	case opKB:
		v, ok = e.Get(f.d, now)
		v >>= 10
	case opGPC:
		v, ok = e.GetGPC(f.idx, now)
	case opGPCRate:
		v, ok = e.GetGPCRate(f.idx, now)
	case opIncGPC:
		v, ok = e.IncGPC(f.idx, now)
	case opClrGPC:
		v, ok = e.ClearGPC(f.idx, now)
	case opGPT:
		v, ok = e.GetGPT(f.idx, now)
	case opTrackers:
		v, ok = uint64(e.Use()), true
	case opServerID:
		s, ok := e.GetSigned(stick.ServerID, now)
		return s, ok
	}
	return int64(v), ok
}

// fetchArg is a compiled stick-counter fetch.
type fetchArg struct {
	f       field
	slot    int
	table   string // sc: another table to look the tracked key up in; src: the table
	tracked bool   // sc_tracked: whether the slot is tracked
}

func init() {
	for _, f := range fields {
		registerSC(f, f.name, false)
		if f.op != opTrackers {
			registerSrc(f)
		}
	}
	registerSC(field{}, "tracked", true)
	for _, tf := range tableFields {
		registerTable(tf.conv, fieldOf(tf.f))
	}
	registerTable("server_id", field{name: "server_id", op: opServerID})
}

// tableArg checks a table argument and tells the configuration about it.
func tableArg(name string, ctx *sample.Ctx) (string, error) {
	if name == "" {
		return "", fmt.Errorf("empty table name")
	}
	if ctx != nil && ctx.UseTable != nil {
		ctx.UseTable(name)
	}
	return name, nil
}

func registerSC(f field, name string, tracked bool) {
	out := sample.TInt
	if tracked {
		out = sample.TBool
	}
	eval := func(t sample.Txn, x any) (sample.Value, bool) { return evalSC(t, x.(*fetchArg)) }
	sample.RegisterFetch(sample.Fetch{Name: "sc_" + name, MinArgs: 1, MaxArgs: 2, Out: out, Use: sample.UseAny,
		Compile: func(args []string, ctx *sample.Ctx) (any, error) {
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 0 || n >= Slots {
				return nil, fmt.Errorf("invalid stick counter %q (0 to %d: tandem tracks sc0, sc1 and sc2, HAProxy's default tune.stick-counters)", args[0], Slots-1)
			}
			a := &fetchArg{f: f, slot: n, tracked: tracked}
			if len(args) > 1 {
				if a.table, err = tableArg(args[1], ctx); err != nil {
					return nil, err
				}
			}
			return a, nil
		}, Eval: eval})
	for slot := 0; slot < Slots; slot++ {
		sample.RegisterFetch(sample.Fetch{Name: "sc" + strconv.Itoa(slot) + "_" + name, MaxArgs: 1, Out: out, Use: sample.UseAny,
			Compile: func(args []string, ctx *sample.Ctx) (any, error) {
				a := &fetchArg{f: f, slot: slot, tracked: tracked}
				if len(args) > 0 {
					var err error
					if a.table, err = tableArg(args[0], ctx); err != nil {
						return nil, err
					}
				}
				return a, nil
			}, Eval: eval})
	}
}

func registerSrc(f field) {
	sample.RegisterFetch(sample.Fetch{Name: "src_" + f.name, MaxArgs: 1, Out: sample.TInt, Use: sample.UseAny,
		Compile: func(args []string, ctx *sample.Ctx) (any, error) {
			a := &fetchArg{f: f}
			name := ""
			if ctx != nil {
				name = ctx.Proxy
			}
			if len(args) > 0 {
				name = args[0]
			}
			if name == "" {
				return nil, fmt.Errorf("src_%s needs a table here: write src_%s(TABLE)", f.name, f.name)
			}
			var err error
			a.table, err = tableArg(name, ctx)
			return a, err
		},
		Eval: func(t sample.Txn, x any) (sample.Value, bool) { return evalSrc(t, x.(*fetchArg)) }})
}

func registerTable(conv string, f field) {
	sample.RegisterConverter(sample.Converter{Name: "table_" + conv, MinArgs: 1, MaxArgs: 1, In: sample.TAny, Out: sample.TInt,
		Compile: func(args []string, ctx *sample.Ctx) (any, error) {
			name, err := tableArg(args[0], ctx)
			if err != nil {
				return nil, err
			}
			return &fetchArg{f: f, table: name}, nil
		},
		Eval: evalTableConv})
}

// evalTableConv is a table_* converter: the field of the entry whose key is in.
func evalTableConv(t sample.Txn, x any, in sample.Value) (sample.Value, bool) {
	a := x.(*fetchArg)
	tt, ok := t.(Txn)
	if !ok {
		return sample.Value{}, false
	}
	tab := tt.Table(a.table)
	if tab == nil {
		return sample.Value{}, false
	}
	k, ok := Key(tab, in, false)
	if !ok {
		return sample.Value{}, false
	}
	now := tt.Now()
	return readEntry(tab.Lookup(k, now), a.f, now)
}

// readEntry reads f from e: 0 when there is no entry, no value when the table does not
// store f.
func readEntry(e *stick.Entry, f field, now time.Time) (sample.Value, bool) {
	if e == nil {
		return sample.Int(0), true
	}
	v, ok := f.read(e, now)
	if !ok {
		return sample.Value{}, false
	}
	return sample.Int(v), true
}

func evalSC(t sample.Txn, a *fetchArg) (sample.Value, bool) {
	tt, ok := t.(Txn)
	if !ok {
		return sample.Value{}, false
	}
	e := tt.Tracked(a.slot)
	if a.tracked {
		return sample.Bool(e != nil), true
	}
	if e == nil {
		return sample.Value{}, false // nothing tracked: no sample (HAProxy 2.6)
	}
	now := tt.Now()
	if a.table != "" {
		tab := tt.Table(a.table)
		if tab == nil {
			return sample.Value{}, false
		}
		e = tab.Lookup(e.Key(), now)
	}
	return readEntry(e, a.f, now)
}

func evalSrc(t sample.Txn, a *fetchArg) (sample.Value, bool) {
	tt, ok := t.(Txn)
	if !ok {
		return sample.Value{}, false
	}
	tab := tt.Table(a.table)
	if tab == nil {
		return sample.Value{}, false
	}
	src, _ := t.Addrs()
	k, ok := tab.KeyAddr(src.Addr())
	if !ok {
		return sample.Value{}, false
	}
	now := tt.Now()
	if a.f.op == opIncGPC || a.f.op == opClrGPC {
		// src_inc_gpc0 and src_clr_gpc0 create the entry.
		e := tab.Acquire(k, now)
		if e == nil {
			return sample.Value{}, false
		}
		v, ok := readEntry(e, a.f, now)
		e.Release(now)
		return v, ok
	}
	return readEntry(tab.Lookup(k, now), a.f, now)
}
