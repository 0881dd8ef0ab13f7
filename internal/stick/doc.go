// Package stick is HAProxy 2.6's stick tables: typed keys (ip, ipv6, integer, string,
// binary), a size limit that evicts the least recently touched entries (or refuses new
// ones with nopurge), per-entry expiry refreshed on every update, reference counts that
// keep entries tracked by live sessions, and the stored data types (counters, general
// purpose counters and tags, and frequency counters computed exactly as HAProxy's
// freq_ctr does).
//
// The package is pure: it reads no clock (every operation takes now) and does no I/O.
// The daemon builds tables from the configuration and keeps unchanged ones across
// reloads; the runtime API dumps, sets and clears them.
//
// # What the rules call
//
// A rule finds its table by name (a proxy's name: the `table` argument, else the
// proxy's own table) and builds a key from its sample with Table.KeyAddr,
// Table.KeyInt or Table.KeyString (false: the sample does not fit the table's type, and
// HAProxy does not track). Then, as HAProxy 2.6:
//
//   - track-sc0/1/2 (tcp-request connection|content, http-request):
//     e := t.Track(k, now) counts conn_cur, conn_cnt and conn_rate and refreshes the
//     expiry (nil: the table is full; nothing is tracked). An http-request track-sc then
//     counts its request: e.CountHTTPReq(now). The entry stays with the session or the
//     stream; when it ends, e.Untrack(now). Meanwhile: e.CountHTTPReq for each later
//     request of a session-level tracker, e.CountHTTPErr, e.CountHTTPFail,
//     e.CountSess, and e.CountBytes(in, out, now) as the stream ends.
//   - sc_*/sc0_*/src_* fetches: e.Get(stick.HTTPReqRate, now) on the tracked entry (or
//     t.Lookup(k, now) for src_* and table_*, which neither create nor touch). In
//     HAProxy 2.6 a counter not tracked (nil entry) reads 0, while a data type the table
//     does not store (ok false) gives no value, so the ACL does not match.
//   - General purpose counters and tags, by index (gpc0/gpc1/gpt0 and the arrays
//     gpc(N), gpc_rate(N,P), gpt(N) alike; an array takes over its legacy types):
//     sc_inc_gpc0/1, sc_inc_gpc(idx) and sc-inc-gpc*: e.IncGPC(idx, now);
//     sc_get_gpc*: e.GetGPC; sc_gpc*_rate: e.GetGPCRate; sc_clr_gpc*: e.ClearGPC;
//     sc-set-gpt0, sc-set-gpt(idx): e.SetGPT; sc_get_gpt*: e.GetGPT. src_inc_gpc0 and
//     friends: t.Acquire(k, now), then the call, then e.Release(now).
//   - stick store-request|store-response|on: e := t.Acquire(k, now);
//     e.SetServer(id, key, now); e.Release(now). stick match|on: t.Lookup(k, now), then
//     e.Get(stick.ServerID, now) and e.Touch(now).
package stick
