// Package sample is HAProxy 2.6's sample language (configuration.txt §7): fetches,
// converters, ACLs, conditions and log-format strings, compiled once with the
// configuration and evaluated cheaply on the data path.
//
// The data path implements Txn for each transaction: fetches read the request and
// response heads it already parsed (spans into its buffer), so evaluating a condition
// parses nothing twice and allocates nothing. Values returned by Eval alias the
// transaction's buffers (or its State's scratch space) and stay valid until the next
// evaluation on the same transaction.
//
// Pattern files (`acl … -f FILE`) and map files (`map(FILE)`) are live state held in a
// Store: the runtime API adds and removes entries, lookups read an atomic snapshot.
//
// The package is pure: no I/O (files are read through a function the caller passes),
// no syscall, no net/http.
package sample

import (
	"net/netip"
	"strconv"

	"tandem/internal/http1"
)

// Txn is what the data path gives fetches. Every method must be cheap and must not
// allocate; byte slices alias the transaction's buffers.
type Txn interface {
	// Addrs returns the connection's client address (src, src_port) and the address
	// it was accepted on (dst, dst_port).
	Addrs() (src, dst netip.AddrPort)
	// Request returns the parsed request head and the buffer its spans index, or nil
	// when there is no HTTP request (TCP mode, or before a head is parsed).
	Request() (*http1.Request, []byte)
	// Response returns the parsed response head and its buffer in a response phase
	// (http-response rules), else nil.
	Response() (*http1.Response, []byte)
	// Payload returns the request bytes received so far and not yet forwarded: what
	// req.len and req.payload() read in tcp-request content rules.
	Payload() []byte
	// Counter answers nbsrv(), srv_is_up(), be_conn() and fe_conn(): proxy "" is the
	// transaction's own backend (or frontend for FeConn); server names a server of
	// that backend. ok is false when the proxy or server does not exist.
	Counter(c Counter, proxy, server string) (n int64, ok bool)
	// State is the transaction's variables and scratch space. It must not be nil.
	State() *State
}

// Counter names a live figure a fetch reads through Txn.Counter.
type Counter uint8

// Counters.
const (
	NbSrv      Counter = iota // usable servers of a backend
	SrvIsUp                   // 1 when the server is up, else 0
	BeConn                    // current connections of a backend
	FeConn                    // current connections of a frontend
	SrvConn                   // current connections of a server
	BeSessRate                // sessions per second of a backend
	ConnCount                 // connections of the current listener
)

// Type is a sample's type (configuration.txt §7.1).
type Type uint8

// Sample types.
const (
	TAny Type = iota // only as a fetch or converter input/output declaration
	TBool
	TInt
	TIPv4
	TIPv6
	TStr
	TBin
	TMeth
)

var typeNames = [...]string{"any", "boolean", "integer", "ipv4", "ipv6", "string", "binary", "method"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// Value is one sample. Bool and Int use I (bool: 0 or 1); IPv4 and IPv6 use IP;
// Str, Bin and Meth use B (a method is its name; Meth also sets I to its
// http1.Method). B aliases buffers the Value does not own.
type Value struct {
	Type Type
	I    int64
	IP   netip.Addr
	B    []byte
}

// Bool returns a boolean Value.
func Bool(b bool) Value {
	v := Value{Type: TBool}
	if b {
		v.I = 1
	}
	return v
}

// Int returns an integer Value.
func Int(i int64) Value { return Value{Type: TInt, I: i} }

// Str returns a string Value over b (not copied).
func Str(b []byte) Value { return Value{Type: TStr, B: b} }

// IP returns an address Value (IPv4 for 4-in-6 mapped addresses too).
func IP(a netip.Addr) Value {
	a = a.Unmap()
	if a.Is4() {
		return Value{Type: TIPv4, IP: a}
	}
	return Value{Type: TIPv6, IP: a}
}

// AppendText appends v as HAProxy prints it in a log line or header value:
// integers in decimal, booleans 0/1, addresses in their usual form, strings as is.
func (v Value) AppendText(dst []byte) []byte {
	switch v.Type {
	case TBool, TInt:
		return strconv.AppendInt(dst, v.I, 10)
	case TIPv4, TIPv6:
		return v.IP.AppendTo(dst)
	}
	return append(dst, v.B...)
}

// Scope is a variable's scope (set-var(txn.name), var(sess.name)…).
type Scope uint8

// Variable scopes. Proc variables live in the Store; the others in a State.
const (
	ScopeProc Scope = iota
	ScopeSess
	ScopeTxn
	ScopeReq
	ScopeRes
	ScopeCheck
)

var scopeNames = [...]string{"proc", "sess", "txn", "req", "res", "check"}

func (s Scope) String() string { return scopeNames[s] }

// State is the per-transaction memory of the sample language: variables and the
// scratch space converters write their output to. The data path keeps one per
// connection (Reset between transactions), so its buffers are reused.
type State struct {
	vars    []variable
	scratch []byte
	cur     cursor // the fetch cursor of the evaluation under way
	// WaitEnd is what wait_end (WAIT_END) returns: the inspect delay is over or no
	// more data can come.
	WaitEnd bool
	// sess, once bound (BindSession), is where sess. variables live: a slot of the
	// client connection, so that they outlive the transaction's State.
	sess **State
	// mayChange is set by a fetch whose answer may change with more request bytes
	// (HAProxy's SMP_F_MAY_CHANGE): req.len always, req.payload while too short…
	mayChange bool
	hello     helloCache // the ClientHello of the payload (req.ssl_*)
}

// BindSession makes *slot hold the sess. variables (HAProxy: they last as long as the
// client connection): slot belongs to the connection, and *slot is made when a rule
// first sets one, so a connection without sess. variables costs nothing.
func (s *State) BindSession(slot **State) { s.sess = slot }

type variable struct {
	scope Scope
	name  string // the configuration's string: comparing it allocates nothing
	v     Value
	buf   []byte // owns v.B's bytes for strings and binaries
	set   bool
}

// MayChange tells the evaluation under way that the fetch's answer may change with
// more request bytes (a Txn whose HTTP request is not whole yet, in mode tcp).
func (s *State) MayChange() { s.mayChange = true }

// Reset forgets the variables of scopes txn, req and res (a new transaction on the
// same connection); sess variables stay. Buffers are kept for reuse.
func (s *State) Reset() {
	for i := range s.vars {
		if s.vars[i].scope != ScopeSess {
			s.vars[i].set = false
		}
	}
	s.scratch = s.scratch[:0]
	s.hello = helloCache{}
}

// ResetAll forgets every variable (a new connection).
func (s *State) ResetAll() {
	for i := range s.vars {
		s.vars[i].set = false
	}
	s.scratch = s.scratch[:0]
	s.hello = helloCache{}
}

// SetVar stores a copy of v as variable scope.name. name should be a string of the
// compiled configuration (it is kept, not copied).
func (s *State) SetVar(scope Scope, name string, v Value) {
	if scope == ScopeSess && s.sess != nil {
		if *s.sess == nil {
			*s.sess = &State{}
		}
		(*s.sess).SetVar(scope, name, v)
		return
	}
	var vr *variable
	for i := range s.vars {
		if s.vars[i].scope == scope && s.vars[i].name == name {
			vr = &s.vars[i]
			break
		}
	}
	if vr == nil {
		s.vars = append(s.vars, variable{scope: scope, name: name})
		vr = &s.vars[len(s.vars)-1]
	}
	vr.set = true
	if v.Type == TStr || v.Type == TBin || v.Type == TMeth {
		vr.buf = append(vr.buf[:0], v.B...)
		v.B = vr.buf
	}
	vr.v = v
}

// UnsetVar removes variable scope.name.
func (s *State) UnsetVar(scope Scope, name string) {
	if scope == ScopeSess && s.sess != nil {
		if *s.sess != nil {
			(*s.sess).UnsetVar(scope, name)
		}
		return
	}
	for i := range s.vars {
		if s.vars[i].scope == scope && s.vars[i].name == name {
			s.vars[i].set = false
		}
	}
}

// Var returns variable scope.name.
func (s *State) Var(scope Scope, name string) (Value, bool) {
	if scope == ScopeSess && s.sess != nil {
		if *s.sess == nil {
			return Value{}, false
		}
		return (*s.sess).Var(scope, name)
	}
	for i := range s.vars {
		if vr := &s.vars[i]; vr.set && vr.scope == scope && vr.name == name {
			return vr.v, true
		}
	}
	return Value{}, false
}

// grow returns n bytes of scratch space that stay valid until the next top-level
// evaluation.
func (s *State) grow(n int) []byte {
	l := len(s.scratch)
	if cap(s.scratch)-l < n {
		// Earlier values of this evaluation may alias the old array: leave it to them.
		c := 2*cap(s.scratch) + n
		if c < 256 {
			c = 256
		}
		s.scratch = make([]byte, l, c)
	}
	s.scratch = s.scratch[:l+n]
	return s.scratch[l : l+n : l+n]
}
