package sample

import (
	"fmt"
)

// Fetch is a sample fetch another package provides (stick-table counters such as
// sc_http_req_rate(0), …): RegisterFetch adds it to the language. Its arguments are
// strings, compiled once by Compile when the configuration is read; Eval runs on the
// data path and must not allocate. A fetch that needs more of the transaction than Txn
// offers type-asserts t to an interface of its own package, which the data path's Txn
// implements.
type Fetch struct {
	Name    string
	MinArgs int
	MaxArgs int
	Out     Type
	// Use is where it can run (UseConn for a connection-level counter…).
	Use Use
	// MayChange is set for a fetch of request contents that may still grow: while
	// Eval gives no value, tcp-request content rules wait for more data. (The built-in
	// req.ssl_* fetches are sample's own; only tcpproxy's tests register one.)
	MayChange bool
	// Compile checks the arguments and returns what Eval receives (nil Compile: the
	// arguments themselves, as []string).
	Compile func(args []string, ctx *Ctx) (any, error)
	Eval    func(t Txn, compiled any) (Value, bool)
}

// Converter is a converter another package provides (table_http_req_rate(TABLE)…),
// compiled and run as Fetch.
type Converter struct {
	Name    string
	MinArgs int
	MaxArgs int
	In, Out Type
	Compile func(args []string, ctx *Ctx) (any, error)
	Eval    func(t Txn, compiled any, in Value) (Value, bool)
}

// RegisterFetch adds f to the fetches ParseExpr and ParseACL know. Call it from an init
// function; a name already known panics.
func RegisterFetch(f Fetch) {
	if fetches[f.Name] != nil {
		panic("sample: fetch " + f.Name + " registered twice")
	}
	kinds := make([]argKind, f.MaxArgs+1) // the last one holds what Compile returned
	eval := f.Eval
	def := &fetchDef{name: f.Name, args: kinds, minArgs: f.MinArgs, out: f.Out, use: f.Use, mayChange: f.MayChange, payload: f.MayChange && f.Use&UseConn == 0 && f.Use&UseContent != 0,
		fn: func(t Txn, a []arg, _ *cursor) (Value, bool) { return eval(t, a[len(a)-1].ext) }}
	if f.MayChange {
		def.fn = func(t Txn, a []arg, _ *cursor) (Value, bool) {
			v, ok := eval(t, a[len(a)-1].ext)
			if !ok {
				t.State().mayChange = true // no answer yet: more bytes may give one
			}
			return v, ok
		}
	}
	def.compile = func(raw []string, a []arg, ctx *Ctx) error {
		if len(raw) > f.MaxArgs {
			return fmt.Errorf("takes at most %d arguments, got %d", f.MaxArgs, len(raw))
		}
		var x any = raw
		if f.Compile != nil {
			var err error
			if x, err = f.Compile(raw, ctx); err != nil {
				return err
			}
		}
		a[len(a)-1].ext = x
		return nil
	}
	addFetch(def)
}

// RegisterConverter adds c to the converters ParseExpr knows (see RegisterFetch).
func RegisterConverter(c Converter) {
	if convs[c.Name] != nil {
		panic("sample: converter " + c.Name + " registered twice")
	}
	eval := c.Eval
	def := &convDef{name: c.Name, in: c.In, out: c.Out, args: make([]argKind, c.MaxArgs+1), minArgs: c.MinArgs,
		fn: func(t Txn, _ *State, a []arg, v Value) (Value, bool) { return eval(t, a[len(a)-1].ext, v) }}
	def.compile = func(raw []string, a []arg, ctx *Ctx) error {
		if len(raw) > c.MaxArgs {
			return fmt.Errorf("takes at most %d arguments, got %d", c.MaxArgs, len(raw))
		}
		var x any = raw
		if c.Compile != nil {
			var err error
			if x, err = c.Compile(raw, ctx); err != nil {
				return err
			}
		}
		a[len(a)-1].ext = x
		return nil
	}
	addConv(def)
}
