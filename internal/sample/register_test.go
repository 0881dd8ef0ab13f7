package sample

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// rateTxn is what a registering package's data path adds to Txn.
type rateTxn interface{ Rate(table int) int64 }

func (t *testTxn) Rate(table int) int64 { return int64(100 + table) }

func init() {
	RegisterFetch(Fetch{Name: "test_rate", MinArgs: 1, MaxArgs: 1, Out: TInt, Use: UseConn,
		Compile: func(args []string, _ *Ctx) (any, error) {
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 0 || n > 2 {
				return nil, fmt.Errorf("table %q: 0, 1 or 2", args[0])
			}
			return n, nil
		},
		Eval: func(t Txn, x any) (Value, bool) {
			rt, ok := t.(rateTxn)
			if !ok {
				return Value{}, false
			}
			return Int(rt.Rate(x.(int))), true
		}})
	RegisterConverter(Converter{Name: "test_twice", MaxArgs: 0, In: TInt, Out: TInt,
		Eval: func(_ Txn, _ any, v Value) (Value, bool) { return Int(2 * v.I), true }})
}

func TestRegistered(t *testing.T) {
	checkEval(t, newTxn(t, ""), "test_rate(1)", "101", TInt)
	checkEval(t, newTxn(t, ""), "test_rate(2),test_twice", "204", TInt)
	c, err := ParseCond(strings.Fields("if { test_rate(0) gt 99 }"), NewACLSet(), nil)
	if err != nil || !c.Match(newTxn(t, "")) {
		t.Errorf("condition on a registered fetch: %v", err)
	}
	for expr, want := range map[string]string{
		"test_rate(7)":               "0, 1 or 2",
		"test_rate":                  "missing argument",
		"test_rate(1,2)":             "at most 1",
		"test_rate(1),test_twice(3)": "at most 0",
	} {
		if _, err := ParseExpr(expr, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", expr, err, want)
		}
	}
}
