package stick

import (
	"fmt"
	"strings"
	"time"
)

// Data is a data type an entry may store. The order is HAProxy's, which is also the
// order `show table` prints them in.
type Data uint8

// The data types of HAProxy 2.6 that tandem stores.
const (
	ServerID Data = iota
	GPT0
	GPC0
	GPC0Rate
	ConnCnt
	ConnRate
	ConnCur
	SessCnt
	SessRate
	HTTPReqCnt
	HTTPReqRate
	HTTPErrCnt
	HTTPErrRate
	BytesInCnt
	BytesInRate
	BytesOutCnt
	BytesOutRate
	GPC1
	GPC1Rate
	ServerKey
	HTTPFailCnt
	HTTPFailRate
	GPT     // array of general purpose tags, gpt(N)
	GPC     // array of general purpose counters, gpc(N)
	GPCRate // array of their rates, gpc_rate(N,P)
	numData
)

// MaxArray is the largest array data type (gpc(100) holds gpc0 to gpc99).
const MaxArray = 100

// storage is how a data type is held and printed.
type storage uint8

const (
	stSigned storage = iota // 32-bit signed (server_id)
	stUint                  // 32-bit unsigned counter
	stULL                   // 64-bit unsigned counter
	stRate                  // frequency counter over a period
	stDict                  // a string (server_key)
)

var dataInfo = [numData]struct {
	name  string
	st    storage
	array bool
}{
	ServerID:     {"server_id", stSigned, false},
	GPT0:         {"gpt0", stUint, false},
	GPC0:         {"gpc0", stUint, false},
	GPC0Rate:     {"gpc0_rate", stRate, false},
	ConnCnt:      {"conn_cnt", stUint, false},
	ConnRate:     {"conn_rate", stRate, false},
	ConnCur:      {"conn_cur", stUint, false},
	SessCnt:      {"sess_cnt", stUint, false},
	SessRate:     {"sess_rate", stRate, false},
	HTTPReqCnt:   {"http_req_cnt", stUint, false},
	HTTPReqRate:  {"http_req_rate", stRate, false},
	HTTPErrCnt:   {"http_err_cnt", stUint, false},
	HTTPErrRate:  {"http_err_rate", stRate, false},
	BytesInCnt:   {"bytes_in_cnt", stULL, false},
	BytesInRate:  {"bytes_in_rate", stRate, false},
	BytesOutCnt:  {"bytes_out_cnt", stULL, false},
	BytesOutRate: {"bytes_out_rate", stRate, false},
	GPC1:         {"gpc1", stUint, false},
	GPC1Rate:     {"gpc1_rate", stRate, false},
	ServerKey:    {"server_key", stDict, false},
	HTTPFailCnt:  {"http_fail_cnt", stUint, false},
	HTTPFailRate: {"http_fail_rate", stRate, false},
	GPT:          {"gpt", stUint, true},
	GPC:          {"gpc", stUint, true},
	GPCRate:      {"gpc_rate", stRate, true},
}

// String is the data type's name in the configuration ("http_req_rate").
func (d Data) String() string {
	if d < numData {
		return dataInfo[d].name
	}
	return fmt.Sprintf("data(%d)", uint8(d))
}

// IsRate reports whether d is a frequency counter, which takes a period.
func (d Data) IsRate() bool { return d < numData && dataInfo[d].st == stRate }

// ParseData finds a data type by name (without a period).
func ParseData(name string) (Data, bool) {
	for d := range numData {
		if dataInfo[d].name == name {
			return d, true
		}
	}
	return 0, false
}

// IsArray reports whether d is an array (gpt, gpc, gpc_rate), which takes a size.
func (d Data) IsArray() bool { return d < numData && dataInfo[d].array }

// KeyType is a table's key type.
type KeyType uint8

// Key types, as `stick-table type` names them.
const (
	KeyIP KeyType = iota
	KeyIPv6
	KeyInteger
	KeyString
	KeyBinary
)

var keyTypeNames = [...]string{"ip", "ipv6", "integer", "string", "binary"}

func (k KeyType) String() string {
	if int(k) < len(keyTypeNames) {
		return keyTypeNames[k]
	}
	return fmt.Sprintf("keytype(%d)", uint8(k))
}

// ParseKeyType reads a `type` argument.
func ParseKeyType(s string) (KeyType, bool) {
	for i, n := range keyTypeNames {
		if n == s {
			return KeyType(i), true
		}
	}
	return 0, false
}

// DefaultKeyLen is the length of string and binary keys when `len` is not given.
const DefaultKeyLen = 32

// Stored is one stored data type, with its period (rates) and size (arrays).
type Stored struct {
	Data   Data
	Period time.Duration // rates only
	Count  int           // arrays: elements (1..MaxArray); 1 otherwise
}

// StoreSet is the set of data types a table stores, with the period of each rate. It
// is a comparable value.
type StoreSet struct {
	mask   uint32
	period [numData]uint32 // ms
	count  [numData]uint8  // arrays
}

// Add stores d (period: rates only, whole milliseconds). It reports false when d is
// already stored (the first period stays, as HAProxy).
func (s *StoreSet) Add(d Data, period time.Duration) bool {
	if d >= numData || s.Has(d) {
		return false
	}
	s.mask |= 1 << d
	if d.IsRate() {
		s.period[d] = uint32(period.Milliseconds())
	}
	if d.IsArray() {
		s.count[d] = 1
	}
	return true
}

// AddArray stores array d with n elements (1..MaxArray) and, for gpc_rate, a period.
func (s *StoreSet) AddArray(d Data, n int, period time.Duration) bool {
	if !d.IsArray() || n < 1 || n > MaxArray || !s.Add(d, period) {
		return false
	}
	s.count[d] = uint8(n)
	return true
}

// Count is how many elements of d are stored: the array's size, 1 for a stored
// scalar, 0 when not stored.
func (s StoreSet) Count(d Data) int {
	switch {
	case !s.Has(d):
		return 0
	case d.IsArray():
		return int(s.count[d])
	}
	return 1
}

// Has reports whether d is stored.
func (s StoreSet) Has(d Data) bool { return d < numData && s.mask&(1<<d) != 0 }

// Period returns the period of a stored rate.
func (s StoreSet) Period(d Data) time.Duration {
	if d >= numData {
		return 0
	}
	return time.Duration(s.period[d]) * time.Millisecond
}

// List returns the stored data types in HAProxy's order.
func (s StoreSet) List() []Stored {
	var out []Stored
	for d := range numData {
		if s.Has(d) {
			out = append(out, Stored{Data: d, Period: s.Period(d), Count: s.Count(d)})
		}
	}
	return out
}

// String renders the set as a `store` argument: "gpc0,http_req_rate(10000),gpc(2)".
func (s StoreSet) String() string {
	var b strings.Builder
	for _, st := range s.List() {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(st.Data.String())
		switch {
		case st.Data.IsArray() && st.Data.IsRate():
			fmt.Fprintf(&b, "(%d,%d)", st.Count, st.Period.Milliseconds())
		case st.Data.IsArray():
			fmt.Fprintf(&b, "(%d)", st.Count)
		case st.Data.IsRate():
			fmt.Fprintf(&b, "(%d)", st.Period.Milliseconds())
		}
	}
	return b.String()
}

// Def is what a `stick-table` line defines. It is a comparable value: two equal Defs
// describe the same table, so a reload may keep the live one.
type Def struct {
	Name    string // the name of the proxy that holds it
	Type    KeyType
	KeyLen  int // string and binary keys: bytes kept (DefaultKeyLen when not written)
	Size    int // maximum number of entries
	Expire  time.Duration
	NoPurge bool
	SrvKey  string // "name" (default) or "addr"
	Store   StoreSet
}
