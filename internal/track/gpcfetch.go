package track

import (
	"fmt"
	"strconv"

	"tandem/internal/sample"
	"tandem/internal/stick"
)

// This file registers the general purpose counter and tag array fetches of HAProxy
// 2.6 (gpc(N), gpc_rate(N,P) and gpt(N) tables): sc_get_gpc(IDX,CTR[,TABLE]),
// sc_gpc_rate, sc_inc_gpc, sc_clr_gpc, sc_get_gpt; src_get_gpc(IDX,TABLE) and
// friends; table_gpc(IDX,TABLE), table_gpc_rate, table_gpt. On a table with the legacy
// gpc0/gpc1/gpt0 instead, index 0 and 1 read those (package stick).

var gpcFields = []field{
	{"get_gpc", opGPC, 0, 0}, {"gpc_rate", opGPCRate, 0, 0}, {"inc_gpc", opIncGPC, 0, 0},
	{"clr_gpc", opClrGPC, 0, 0}, {"get_gpt", opGPT, 0, 0},
}

func gpcIndex(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n >= stick.MaxArray {
		return 0, fmt.Errorf("invalid index %q (0 to %d)", s, stick.MaxArray-1)
	}
	return n, nil
}

func init() {
	for _, f := range gpcFields {
		sample.RegisterFetch(sample.Fetch{Name: "sc_" + f.name, MinArgs: 2, MaxArgs: 3, Out: sample.TInt, Use: sample.UseAny,
			Compile: func(args []string, ctx *sample.Ctx) (any, error) {
				idx, err := gpcIndex(args[0])
				if err != nil {
					return nil, err
				}
				n, err := strconv.Atoi(args[1])
				if err != nil || n < 0 || n >= Slots {
					return nil, fmt.Errorf("invalid stick counter %q (0 to %d)", args[1], Slots-1)
				}
				ff := f
				ff.idx = idx
				a := &fetchArg{f: ff, slot: n}
				if len(args) > 2 {
					if a.table, err = tableArg(args[2], ctx); err != nil {
						return nil, err
					}
				}
				return a, nil
			},
			Eval: func(t sample.Txn, x any) (sample.Value, bool) { return evalSC(t, x.(*fetchArg)) }})
		// HAProxy 2.6 requires the table of src_get_gpc(IDX,TABLE) and friends,
		// whatever its documentation says.
		sample.RegisterFetch(sample.Fetch{Name: "src_" + f.name, MinArgs: 2, MaxArgs: 2, Out: sample.TInt, Use: sample.UseAny,
			Compile: func(args []string, ctx *sample.Ctx) (any, error) {
				idx, err := gpcIndex(args[0])
				if err != nil {
					return nil, err
				}
				ff := f
				ff.idx = idx
				a := &fetchArg{f: ff}
				a.table, err = tableArg(args[1], ctx)
				return a, err
			},
			Eval: func(t sample.Txn, x any) (sample.Value, bool) { return evalSrc(t, x.(*fetchArg)) }})
	}
	for _, c := range []struct {
		conv string
		f    field
	}{{"gpc", field{"get_gpc", opGPC, 0, 0}}, {"gpc_rate", field{"gpc_rate", opGPCRate, 0, 0}}, {"gpt", field{"get_gpt", opGPT, 0, 0}}} {
		sample.RegisterConverter(sample.Converter{Name: "table_" + c.conv, MinArgs: 2, MaxArgs: 2, In: sample.TAny, Out: sample.TInt,
			Compile: func(args []string, ctx *sample.Ctx) (any, error) {
				idx, err := gpcIndex(args[0])
				if err != nil {
					return nil, err
				}
				name, err := tableArg(args[1], ctx)
				if err != nil {
					return nil, err
				}
				ff := c.f
				ff.idx = idx
				return &fetchArg{f: ff, table: name}, nil
			},
			Eval: evalTableConv})
	}
}
