package sample

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// convFn transforms *v in place (its input already cast to the converter's type).
type convFn func(t Txn, st *State, a []arg, v Value) (Value, bool)

type convDef struct {
	name    string
	in, out Type
	args    []argKind
	minArgs int
	fn      convFn
	compile func(raw []string, a []arg, ctx *Ctx) error // as fetchDef.compile
}

var convs = map[string]*convDef{}

func addConv(c *convDef) { convs[c.name] = c }

// castable reports whether a sample of type from can feed an input of type to.
func castable(from, to Type) bool {
	if to == TAny || from == TAny || from == to {
		return true
	}
	switch to {
	case TStr, TBin:
		return true
	case TInt, TBool:
		return from == TBool || from == TInt || from == TStr || from == TBin
	case TIPv4, TIPv6:
		return from == TIPv4 || from == TIPv6 || from == TStr || from == TInt
	case TMeth:
		return from == TStr || from == TBin
	}
	return false
}

// cast converts v to type to (TAny: as is). Strings made from numbers and
// addresses are written in the State's scratch space.
func cast(st *State, v Value, to Type) (Value, bool) {
	if to == TAny || v.Type == to {
		return v, true
	}
	switch to {
	case TStr, TBin:
		switch v.Type {
		case TStr, TBin, TMeth:
			return Value{Type: to, B: v.B}, true
		}
		buf := st.grow(48)[:0]
		buf = v.AppendText(buf)
		return Value{Type: to, B: buf}, true
	case TInt, TBool:
		switch v.Type {
		case TBool, TInt:
			if to == TBool {
				return Bool(v.I != 0), true
			}
			return Value{Type: to, I: v.I}, true
		case TStr, TBin:
			if len(v.B) == 0 {
				return Value{}, false
			}
			n := atoi(v.B)
			if to == TBool {
				return Bool(n != 0), true
			}
			return Int(n), true
		}
	case TIPv4, TIPv6:
		switch v.Type {
		case TIPv4, TIPv6:
			if to == TIPv6 && v.IP.Is4() {
				return Value{Type: TIPv6, IP: netip.AddrFrom16(v.IP.As16())}, true
			}
			return v, true
		case TStr, TBin:
			ip, ok := parseIPLoose(v.B)
			if !ok {
				return Value{}, false
			}
			return IP(ip), true
		case TInt:
			u := uint32(v.I)
			return IP(netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})), true
		}
	case TMeth:
		if v.Type == TStr || v.Type == TBin {
			return Value{Type: TMeth, B: v.B}, true
		}
	}
	return Value{}, false
}

func init() {
	addConv(&convDef{name: "lower", in: TStr, out: TStr, fn: convCase(false)})
	addConv(&convDef{name: "upper", in: TStr, out: TStr, fn: convCase(true)})
	addConv(&convDef{name: "length", in: TStr, out: TInt, fn: func(_ Txn, _ *State, _ []arg, v Value) (Value, bool) {
		return Int(int64(len(v.B))), true
	}})
	addConv(&convDef{name: "base64", in: TBin, out: TStr, fn: convBase64})
	addConv(&convDef{name: "hex", in: TBin, out: TStr, fn: convHex})
	addConv(&convDef{name: "regsub", in: TStr, out: TStr, args: []argKind{aStr, aStr, aStr}, minArgs: 2, fn: convRegsub, compile: checkRegsub})
	addConv(&convDef{name: "field", in: TStr, out: TStr, args: []argKind{aInt, aStr, aInt}, minArgs: 2, fn: convField(false), compile: checkField})
	addConv(&convDef{name: "word", in: TStr, out: TStr, args: []argKind{aInt, aStr, aInt}, minArgs: 2, fn: convField(true), compile: checkField})
	addConv(&convDef{name: "ipmask", in: TIPv4, out: TIPv4, args: []argKind{aIPMask, aIP6Mask}, minArgs: 1, fn: convIPMask})
	addConv(&convDef{name: "concat", in: TStr, out: TStr, args: []argKind{aStr, aVar, aStr}, fn: convConcat})
	addConv(&convDef{name: "add", in: TInt, out: TInt, args: []argKind{aStr}, minArgs: 1, fn: convArith('+'), compile: checkIntOrVar})
	addConv(&convDef{name: "sub", in: TInt, out: TInt, args: []argKind{aStr}, minArgs: 1, fn: convArith('-'), compile: checkIntOrVar})
	addConv(&convDef{name: "mul", in: TInt, out: TInt, args: []argKind{aStr}, minArgs: 1, fn: convArith('*'), compile: checkIntOrVar})
	addConv(&convDef{name: "div", in: TInt, out: TInt, args: []argKind{aStr}, minArgs: 1, fn: convArith('/'), compile: checkIntOrVar})
	addConv(&convDef{name: "mod", in: TInt, out: TInt, args: []argKind{aStr}, minArgs: 1, fn: convArith('%'), compile: checkIntOrVar})
	addConv(&convDef{name: "neg", in: TInt, out: TInt, fn: func(_ Txn, _ *State, _ []arg, v Value) (Value, bool) { v.I = -v.I; return v, true }})
	addConv(&convDef{name: "not", in: TBool, out: TBool, fn: func(_ Txn, _ *State, _ []arg, v Value) (Value, bool) { v = Bool(v.I == 0); return v, true }})
	addConv(&convDef{name: "bool", in: TInt, out: TBool, fn: func(_ Txn, _ *State, _ []arg, v Value) (Value, bool) { v = Bool(v.I != 0); return v, true }})
	addMapConvs()
}

func convCase(upper bool) convFn {
	return func(_ Txn, st *State, _ []arg, v Value) (Value, bool) {
		s := v.B
		out := st.grow(len(s))
		for i, c := range s {
			if upper && 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			} else if !upper && 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			out[i] = c
		}
		v = Value{Type: TStr, B: out}
		return v, true
	}
}

func convBase64(_ Txn, st *State, _ []arg, v Value) (Value, bool) {
	out := st.grow(base64.StdEncoding.EncodedLen(len(v.B)))
	base64.StdEncoding.Encode(out, v.B)
	v = Value{Type: TStr, B: out}
	return v, true
}

func convHex(_ Txn, st *State, _ []arg, v Value) (Value, bool) {
	const digits = "0123456789ABCDEF"
	out := st.grow(2 * len(v.B))
	for i, c := range v.B {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	v = Value{Type: TStr, B: out}
	return v, true
}

func checkRegsub(_ []string, a []arg, _ *Ctx) error {
	global, icase := false, false
	if a[2].set {
		for _, f := range a[2].s {
			switch f {
			case 'g':
				global = true
			case 'i':
				icase = true
			default:
				return fmt.Errorf("unknown flag %q (g and i only)", f)
			}
		}
	}
	re, err := CompileRegexp(a[0].s, icase)
	if err != nil {
		return err
	}
	a[0].re = re
	a[2].i = int64(boolInt(global))
	// HAProxy's replacement refers to groups as \1; Go's Expand as ${1}.
	var b strings.Builder
	s := a[1].s
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
			b.WriteString("${" + s[i+1:i+2] + "}")
			i++
			continue
		}
		if s[i] == '$' {
			b.WriteString("$$")
			continue
		}
		b.WriteByte(s[i])
	}
	a[1].s = b.String()
	return nil
}

// convRegsub allocates one slice per match: Go's regexp has no way to find submatch
// indices into a caller's array.
func convRegsub(_ Txn, st *State, a []arg, v Value) (Value, bool) {
	re, tmpl := a[0].re, a[1].s
	src := v.B
	start := len(st.scratch)
	out := st.scratch
	pos := 0
	for pos <= len(src) {
		m := re.FindSubmatchIndex(src[pos:])
		if m == nil {
			break
		}
		for i := range m {
			if m[i] >= 0 {
				m[i] += pos // m indexes src[pos:]; Expand reads src
			}
		}
		out = append(out, src[pos:m[0]]...)
		out = re.ExpandString(out, tmpl, unsafeString(src), m) // Expand would copy tmpl to a string
		if m[1] == m[0] {
			if m[1] < len(src) {
				out = append(out, src[m[1]])
			}
			pos = m[1] + 1
		} else {
			pos = m[1]
		}
		if a[2].i == 0 {
			break
		}
	}
	if pos < len(src) {
		out = append(out, src[pos:]...)
	}
	st.scratch = out
	out = out[start:]
	v = Value{Type: TStr, B: out}
	return v, true
}

func checkField(_ []string, a []arg, _ *Ctx) error {
	if a[0].i == 0 {
		return fmt.Errorf("index 0 is not valid (fields count from 1, or from -1 at the end)")
	}
	if a[1].s == "" {
		return fmt.Errorf("missing delimiters")
	}
	if a[2].set && a[2].i < 0 {
		return fmt.Errorf("count %d must not be negative", a[2].i)
	}
	return nil
}

// convField extracts field or word number a[0] (negative: from the end) delimited by
// any byte of a[1]; a[2] fields are kept (0: through the end). word skips empty
// fields made of consecutive delimiters.
func convField(word bool) convFn {
	return func(_ Txn, _ *State, a []arg, v Value) (Value, bool) {
		s, delims := v.B, a[1].s
		_, _, n := fieldSpan(s, delims, word, 0)
		idx := int(a[0].i)
		if idx < 0 {
			idx = n + idx + 1
		}
		if idx < 1 || idx > n {
			v = Value{Type: TStr, B: s[:0]}
			return v, true
		}
		cnt := 1 // the default; 0 means every field to the end
		if a[2].set {
			cnt = int(a[2].i)
		}
		start, end, _ := fieldSpan(s, delims, word, idx)
		if a[0].i < 0 && cnt > 0 {
			// counted backwards from the field: the count fields ending at it
			start, _, _ = fieldSpan(s, delims, word, max(idx-cnt+1, 1))
		} else {
			last := n
			if cnt > 0 && idx+cnt-1 < n {
				last = idx + cnt - 1
			}
			_, end, _ = fieldSpan(s, delims, word, last)
		}
		v = Value{Type: TStr, B: s[start:end]}
		return v, true
	}
}

// fieldSpan returns the bounds of field k (from 1) of s, fields being delimited by any
// byte of delims (for word, empty fields do not count), and n, the number of fields
// up to it: all of them when k is 0 or beyond the last.
func fieldSpan(s []byte, delims string, word bool, k int) (start, end, n int) {
	for i := 0; i <= len(s); {
		j := i
		for j < len(s) && strings.IndexByte(delims, s[j]) < 0 {
			j++
		}
		if !word || j > i {
			if n++; n == k {
				return i, j, n
			}
		}
		if j >= len(s) {
			break
		}
		i = j + 1
	}
	return 0, 0, n
}

func convIPMask(_ Txn, _ *State, a []arg, v Value) (Value, bool) {
	bits := int(a[0].i)
	if v.IP.Is6() {
		if !a[1].set {
			return v, false
		}
		bits = int(a[1].i)
	}
	p, err := v.IP.Prefix(bits)
	if err != nil {
		return v, false
	}
	v = IP(p.Addr())
	return v, true
}

// convConcat appends the string a[0], variable a[1] and string a[2].
func convConcat(t Txn, st *State, a []arg, v Value) (Value, bool) {
	var mid Value
	if a[1].set {
		x, ok := st.Var(a[1].scope, a[1].s)
		if ok {
			if mid, ok = cast(st, x, TStr); !ok {
				mid = Value{}
			}
		}
	}
	n := len(v.B) + len(a[0].s) + len(mid.B) + len(a[2].s)
	out := st.grow(n)[:0]
	out = append(out, v.B...)
	out = append(out, a[0].s...)
	out = append(out, mid.B...)
	out = append(out, a[2].s...)
	v = Value{Type: TStr, B: out}
	return v, true
}

// checkIntOrVar: an arithmetic operand is an integer or a variable name.
func checkIntOrVar(_ []string, a []arg, _ *Ctx) error {
	s := a[0].s
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		a[0].i = n
		return nil
	}
	sc, name, err := ParseVarName(s)
	if err != nil {
		return fmt.Errorf("%q is neither an integer nor a variable", s)
	}
	a[0].scope, a[0].s, a[0].set = sc, name, false
	a[0].def = &Value{}
	return nil
}

func convArith(op byte) convFn {
	return func(_ Txn, st *State, a []arg, v Value) (Value, bool) {
		n := a[0].i
		if a[0].def != nil {
			x, ok := st.Var(a[0].scope, a[0].s)
			if !ok {
				return v, false
			}
			if x, ok = cast(st, x, TInt); !ok {
				return v, false
			}
			n = x.I
		}
		switch op {
		case '+':
			v.I += n
		case '-':
			v.I -= n
		case '*':
			v.I *= n
		case '/':
			if n == 0 {
				v.I = 0 // HAProxy returns the max value; refuse quietly
				return v, false
			}
			v.I /= n
		case '%':
			if n == 0 {
				return v, false
			}
			v.I %= n
		}
		v.Type = TInt
		return v, true
	}
}
