package sample

import (
	"fmt"
	"strconv"
)

// The map converters: map_<match>[_<output>](FILE[,DEFAULT]). `map` is map_str.
func addMapConvs() {
	kinds := []struct {
		name string
		k    matchKind
		in   Type
	}{
		{"str", mStr, TStr}, {"beg", mBeg, TStr}, {"sub", mSub, TStr}, {"dir", mDir, TStr},
		{"dom", mDom, TStr}, {"end", mEnd, TStr}, {"reg", mReg, TStr}, {"regm", mReg, TStr},
		{"int", mInt, TInt}, {"ip", mIP, TIPv4},
	}
	outs := []struct {
		sfx string
		t   Type
	}{{"", TStr}, {"_str", TStr}, {"_int", TInt}, {"_ip", TIPv4}}
	for _, k := range kinds {
		for _, o := range outs {
			name := "map_" + k.name + o.sfx
			if k.name == "regm" && o.t != TStr {
				continue
			}
			kind, out := k.k, o.t
			c := &convDef{name: name, in: k.in, out: out, args: []argKind{aStr, aStr}, minArgs: 1, fn: convMap}
			c.compile = func(_ []string, a []arg, ctx *Ctx) error { return checkMap(a, ctx, kind, out) }
			addConv(c)
		}
	}
	c := *convs["map_str"]
	c.name = "map"
	convs["map"] = &c
}

func checkMap(a []arg, ctx *Ctx, kind matchKind, out Type) error {
	if ctx == nil || ctx.Store == nil && ctx.ReadFile == nil {
		return fmt.Errorf("map file %q cannot be read here", a[0].s)
	}
	l, err := ctx.store().file(a[0].s, true, ctx.ReadFile)
	if err != nil {
		return err
	}
	v, err := l.view(kind, false, true, out)
	if err != nil {
		return fmt.Errorf("map file %q: %w", a[0].s, err)
	}
	a[0].m = v
	if a[1].set {
		d, err := mapValue(a[1].s, out)
		if err != nil {
			return fmt.Errorf("default value: %w", err)
		}
		a[1].def = &d
	}
	return nil
}

// mapValue converts a map's value text to the converter's output type.
func mapValue(s string, out Type) (Value, error) {
	switch out {
	case TInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return Value{}, fmt.Errorf("%q is not an integer", s)
		}
		return Int(n), nil
	case TIPv4, TIPv6:
		ip, ok := parseIPLoose([]byte(s))
		if !ok {
			return Value{}, fmt.Errorf("%q is not an IP address", s)
		}
		return IP(ip), nil
	}
	return Value{Type: TStr, B: []byte(s)}, nil
}

func convMap(_ Txn, st *State, a []arg, v Value) (Value, bool) {
	ps := a[0].m.set()
	want := TStr
	switch ps.kind {
	case mInt:
		want = TInt
	case mIP:
		want = TIPv4
	}
	x, ok := cast(st, v, want)
	if ok {
		if i, ok := ps.match(st, x); ok {
			return ps.vals[i], true
		}
	}
	if d := a[1].def; d != nil {
		return *d, true
	}
	return v, false
}
