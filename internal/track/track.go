// Package track is HAProxy 2.6's tracked stick counters: the sc0, sc1 and sc2 slots a
// session (tcp-request connection) or a stream (tcp-request content, http-request)
// tracks with track-sc, what the data path counts on them (HTTP requests, errors,
// bytes), and the sample fetches and converters that read stick tables: sc_*, sc0_*…
// sc2_*, src_* and table_* (configuration.txt §7.3.2, §7.3.1).
//
// The data path keeps two Counters (the session's, the stream's) and implements Txn
// beside sample.Txn; the fetches registered here type-assert the sample.Txn they get.
//
// The package is pure: no I/O, no clock of its own (Txn.Now).
package track

import (
	"net/netip"
	"strconv"
	"time"
	"unsafe"

	"tandem/internal/sample"
	"tandem/internal/stick"
)

// Slots is how many counters a session or stream tracks (HAProxy's default
// tune.stick-counters).
const Slots = 3

// Txn is what the data path's sample.Txn also implements for stick counters.
type Txn interface {
	// Tracked returns the entry slot tracks: the stream's, else the session's (nil:
	// not tracked).
	Tracked(slot int) *stick.Entry
	// Table returns the live stick table named name (a proxy's name), nil when none.
	Table(name string) *stick.Table
	// Now is the time counters are read and updated at.
	Now() time.Time
	// Track tracks key in t in slot: at session level for tcp-request connection
	// rules, else at stream level. A slot the stream or the session already tracks is
	// left as it is (the first track-sc wins, as HAProxy 2.6 does). It returns the entry
	// it started tracking, nil when none (slot taken, table full).
	Track(slot int, t *stick.Table, key stick.Key) *stick.Entry
}

// Counters are the slots of a session or a stream.
type Counters struct {
	e [Slots]*stick.Entry
}

// Entry returns what slot tracks, nil when nothing.
func (c *Counters) Entry(slot int) *stick.Entry { return c.e[slot] }

// Any reports whether a slot tracks something.
func (c *Counters) Any() bool { return c.e[0] != nil || c.e[1] != nil || c.e[2] != nil }

// Track tracks key in t in slot unless the slot is taken: the entry counts one more
// connection (conn_cur, conn_cnt, conn_rate). It returns the slot's entry.
func (c *Counters) Track(slot int, t *stick.Table, key stick.Key, now time.Time) *stick.Entry {
	if c.e[slot] != nil {
		return c.e[slot]
	}
	c.e[slot] = t.Track(key, now)
	return c.e[slot]
}

// Release stops tracking every slot (the session or stream ends): conn_cur counts one
// less and the entries may expire again.
func (c *Counters) Release(now time.Time) {
	for i, e := range c.e {
		if e != nil {
			e.Untrack(now)
			c.e[i] = nil
		}
	}
}

// Key converts a sample into a key of t as HAProxy casts samples to table keys; false
// when it cannot (then nothing is tracked). retain is true when the key outlives the
// sample (Track, Acquire): a string key is then copied.
func Key(t *stick.Table, v sample.Value, retain bool) (stick.Key, bool) {
	switch t.Def().Type {
	case stick.KeyIP, stick.KeyIPv6:
		switch v.Type {
		case sample.TIPv4, sample.TIPv6:
			return t.KeyAddr(v.IP)
		case sample.TInt, sample.TBool:
			var b [4]byte
			u := uint32(v.I)
			b[0], b[1], b[2], b[3] = byte(u>>24), byte(u>>16), byte(u>>8), byte(u)
			return t.KeyAddr(netip.AddrFrom4(b))
		case sample.TStr, sample.TBin:
			a, err := netip.ParseAddr(unsafeString(v.B))
			if err != nil {
				return stick.Key{}, false
			}
			return t.KeyAddr(a)
		}
	case stick.KeyInteger:
		switch v.Type {
		case sample.TInt, sample.TBool:
			return t.KeyInt(v.I)
		case sample.TIPv4:
			b := v.IP.As4()
			return t.KeyInt(int64(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])))
		case sample.TStr, sample.TBin:
			n, err := strconv.ParseInt(unsafeString(v.B), 10, 64)
			if err != nil {
				return stick.Key{}, false
			}
			return t.KeyInt(n)
		}
	default:
		var s string
		switch v.Type {
		case sample.TStr, sample.TBin, sample.TMeth:
			if retain {
				s = string(v.B)
			} else {
				s = unsafeString(v.B)
			}
		default:
			s = string(v.AppendText(nil))
		}
		return t.KeyString(s)
	}
	return stick.Key{}, false
}

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Session is what a connection's data path keeps for stick counters: the session's
// slots (tcp-request connection track-sc), the current stream's (tcp-request content,
// http-request track-sc; one stream per HTTP request), and the live tables. Embedded in
// the data path's sample.Txn, it implements Txn.
type Session struct {
	Sess, Stream Counters
	// Tables are the live stick tables by name; nil when the configuration has none.
	Tables map[string]*stick.Table
	// Clock, when set, replaces time.Now (tests).
	Clock func() time.Time
	// AtConnection is set while tcp-request connection rules run: track-sc then
	// tracks for the session.
	AtConnection bool
	// HTTP is set while HTTP rules run: a track-sc then counts the request it tracks
	// for (http_req_cnt, http_req_rate).
	HTTP bool
	// borrowed: Sess belongs to another Session (ForStream); End leaves it alone.
	borrowed bool
}

// ForStream returns the trackers of one stream of a multiplexed connection (an HTTP/2
// stream): it reads and counts on the connection's session trackers and tracks for itself
// what the stream's rules track; its End stops only those. Streams run concurrently, so
// each needs its own.
func (s *Session) ForStream() *Session {
	return &Session{Sess: s.Sess, Tables: s.Tables, Clock: s.Clock, borrowed: true}
}

// Now is Clock(), else time.Now().
func (s *Session) Now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

// Table returns the live table named name.
func (s *Session) Table(name string) *stick.Table { return s.Tables[name] }

// Tracked returns the entry of slot: the stream's, else the session's.
func (s *Session) Tracked(slot int) *stick.Entry {
	if e := s.Stream.e[slot]; e != nil {
		return e
	}
	return s.Sess.e[slot]
}

// Track carries out track-sc: nothing when slot is already tracked (by the stream or
// the session), else the entry of key counts a connection and, from HTTP rules, the
// request.
func (s *Session) Track(slot int, t *stick.Table, key stick.Key) *stick.Entry {
	if e := s.Tracked(slot); e != nil {
		return nil
	}
	now := s.Now()
	c := &s.Stream
	if s.AtConnection {
		c = &s.Sess
	}
	e := c.Track(slot, t, key, now)
	if e != nil && s.HTTP {
		e.CountHTTPReq(now)
	}
	return e
}

// Any reports whether anything is tracked.
func (s *Session) Any() bool { return s.Sess.Any() || s.Stream.Any() }

// each calls fn with the entry of each tracked slot (the stream's, else the session's).
func (s *Session) each(fn func(e *stick.Entry)) {
	for i := 0; i < Slots; i++ {
		if e := s.Tracked(i); e != nil {
			fn(e)
		}
	}
}

// CountSession counts the session a connection became (sess_cnt, sess_rate) on each
// slot the session tracks, as HAProxy 2.6 does once the tcp-request connection and
// session rules accepted the connection; stream trackers do not count it. The data
// path calls it after those rules, when they tracked something.
func (s *Session) CountSession() {
	if !s.Sess.Any() {
		return
	}
	now := s.Now()
	for _, e := range s.Sess.e {
		if e != nil {
			e.CountSess(now)
		}
	}
}

// CountHTTPReq counts a new HTTP request on what is tracked (before its rules run).
func (s *Session) CountHTTPReq() {
	if !s.Any() {
		return
	}
	now := s.Now()
	s.each(func(e *stick.Entry) { e.CountHTTPReq(now) })
}

// CountHTTPErr counts an HTTP error (the proxy denied, tarpitted or refused
// authentication, or the request was invalid).
func (s *Session) CountHTTPErr() {
	if !s.Any() {
		return
	}
	now := s.Now()
	s.each(func(e *stick.Entry) { e.CountHTTPErr(now) })
}

// CountResponse counts a server's response status on what is tracked: a 4xx as an
// HTTP error, a 5xx other than 501 and 505 as a failure.
func (s *Session) CountResponse(status int) {
	if !s.Any() {
		return
	}
	now := s.Now()
	switch {
	case status >= 400 && status <= 499:
		s.each(func(e *stick.Entry) { e.CountHTTPErr(now) })
	case status >= 500 && status <= 599 && status != 501 && status != 505:
		s.each(func(e *stick.Entry) { e.CountHTTPFail(now) })
	}
}

// CountBytes counts bytes from (in) and to (out) the client.
func (s *Session) CountBytes(in, out uint64) {
	if !s.Any() || in == 0 && out == 0 {
		return
	}
	now := s.Now()
	s.each(func(e *stick.Entry) { e.CountBytes(in, out, now) })
}

// EndStream stops the stream's tracking (an HTTP request is over).
func (s *Session) EndStream() {
	if s.Stream.Any() {
		s.Stream.Release(s.Now())
	}
}

// End stops all tracking (the connection is over).
func (s *Session) End() {
	if s.Any() {
		now := s.Now()
		s.Stream.Release(now)
		if !s.borrowed {
			s.Sess.Release(now)
		}
	}
	s.AtConnection, s.HTTP = false, false
}
