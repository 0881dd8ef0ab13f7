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
	numData
)

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
	name string
	st   storage
}{
	ServerID:     {"server_id", stSigned},
	GPT0:         {"gpt0", stUint},
	GPC0:         {"gpc0", stUint},
	GPC0Rate:     {"gpc0_rate", stRate},
	ConnCnt:      {"conn_cnt", stUint},
	ConnRate:     {"conn_rate", stRate},
	ConnCur:      {"conn_cur", stUint},
	SessCnt:      {"sess_cnt", stUint},
	SessRate:     {"sess_rate", stRate},
	HTTPReqCnt:   {"http_req_cnt", stUint},
	HTTPReqRate:  {"http_req_rate", stRate},
	HTTPErrCnt:   {"http_err_cnt", stUint},
	HTTPErrRate:  {"http_err_rate", stRate},
	BytesInCnt:   {"bytes_in_cnt", stULL},
	BytesInRate:  {"bytes_in_rate", stRate},
	BytesOutCnt:  {"bytes_out_cnt", stULL},
	BytesOutRate: {"bytes_out_rate", stRate},
	GPC1:         {"gpc1", stUint},
	GPC1Rate:     {"gpc1_rate", stRate},
	ServerKey:    {"server_key", stDict},
	HTTPFailCnt:  {"http_fail_cnt", stUint},
	HTTPFailRate: {"http_fail_rate", stRate},
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

// arrayData are HAProxy 2.6's array data types, which tandem does not store.
var arrayData = map[string]bool{"gpc": true, "gpc_rate": true, "gpt": true}

// IsArrayData reports whether name is one of HAProxy's array data types (gpc, gpc_rate,
// gpt), which tandem does not store yet.
func IsArrayData(name string) bool { return arrayData[name] }

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

// Stored is one stored data type and, for a rate, its period.
type Stored struct {
	Data   Data
	Period time.Duration // rates only
}

// StoreSet is the set of data types a table stores, with the period of each rate. It
// is a comparable value.
type StoreSet struct {
	mask   uint32
	period [numData]uint32 // ms
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
	return true
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
			out = append(out, Stored{Data: d, Period: s.Period(d)})
		}
	}
	return out
}

// String renders the set as a `store` argument: "gpc0,http_req_rate(10000)".
func (s StoreSet) String() string {
	var b strings.Builder
	for _, st := range s.List() {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(st.Data.String())
		if st.Data.IsRate() {
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
