package httpproxy

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"tandem/internal/config"
)

// TestMaxQueueOnRealSockets: two loopback servers with maxconn 1 and maxqueue 1 behind
// a cookie. With s1 busy and one request in its queue, a third request whose cookie
// names s1 is, as HAProxy 2.6 does (checked against /usr/sbin/haproxy): answered 503 at
// once (log "SQ", econ counted) without option redispatch; sent to s2 with option
// redispatch (log cookie flag D, "+0" retries, s2's cookie inserted).
func TestMaxQueueOnRealSockets(t *testing.T) {
	for _, tc := range []struct {
		name       string
		redispatch bool
		wantStatus string
		wantLog    *regexp.Regexp
	}{
		{"without redispatch: 503 SQ", false, "503 Service Unavailable",
			regexp.MustCompile(` fe app/s1 0/-1/-1/-1/\d+ 503 \d+ - - SQVN `)},
		{"with redispatch: served by s2", true, "200 OK",
			regexp.MustCompile(` fe app/s2 0/0/\d+/\d+/\d+ 200 \d+ - - --DI \d+/\d+/\d+/\d+/\+0 0/0 `)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs1, hs2 := &holdServer{}, &holdServer{}
			a1, _ := rawServer(t, hs1.serve)
			a2, _ := rawServer(t, hs2.serve)
			t.Cleanup(hs1.release)
			t.Cleanup(hs2.release)
			hs1.phase()
			hs2.phase()
			be := newBackend(a1, a2)
			be.Cookie = &config.Cookie{Name: "SRV", Mode: config.CookieInsert, Indirect: true}
			be.Redispatch = tc.redispatch
			be.Timeouts.Queue = 10 * time.Second
			for _, s := range be.Servers {
				s.MaxConn, s.MaxQueue = 1, 1
			}
			f := newFixture(t, be, nil)
			sink := &lineSink{}
			withLog(t, f, sink, nil)
			s1 := f.pool.Servers[0]

			type reply struct {
				status, cookie string
			}
			send := func() <-chan reply {
				out := make(chan reply, 1)
				go func() {
					resp, _, err := f.rawExchange("GET / HTTP/1.1\r\nHost: t\r\nCookie: SRV=s1\r\n\r\n")
					if err != nil {
						out <- reply{status: err.Error()}
						return
					}
					out <- reply{resp.Status, resp.Header.Get("Set-Cookie")}
				}()
				return out
			}
			waitFor := func(what string, cond func() bool) {
				t.Helper()
				for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("timed out waiting for %s", what)
					}
				}
			}
			held := send()
			waitFor("s1 to serve the first request", func() bool { in, _ := hs1.counts(); return in == 1 })
			queued := send()
			waitFor("the second request to queue on s1", func() bool { return s1.Queued() == 1 })

			third := send()
			if tc.redispatch {
				waitFor("the third request to reach s2", func() bool { in, _ := hs2.counts(); return in == 1 })
				hs2.release()
			}
			r := <-third
			if r.status != tc.wantStatus {
				t.Fatalf("third request: %s, want %s", r.status, tc.wantStatus)
			}
			if tc.redispatch && !strings.HasPrefix(r.cookie, "SRV=s2") {
				t.Fatalf("redispatched response Set-Cookie %q, want SRV=s2", r.cookie)
			}
			if l := waitLines(t, sink, 1)[0]; !tc.wantLog.MatchString(l) {
				t.Fatalf("log %q does not match %s", l, tc.wantLog)
			}
			if s1.Queued() != 1 {
				t.Fatalf("s1 queue %d after the third request, want 1 still", s1.Queued())
			}
			wantEcon, wantRedisp := uint64(1), uint64(0)
			if tc.redispatch {
				wantEcon, wantRedisp = 0, 1
			}
			if s1.ConnErr.Load() != wantEcon || s1.Redisp.Load() != wantRedisp {
				t.Fatalf("s1 econ %d wredis %d, want %d %d", s1.ConnErr.Load(), s1.Redisp.Load(), wantEcon, wantRedisp)
			}
			hs1.release()
			for i, ch := range []<-chan reply{held, queued} {
				if r := <-ch; r.status != "200 OK" {
					t.Fatalf("request %d on s1: %s, want 200 OK", i+1, r.status)
				}
			}
			if _, m := hs1.counts(); m != 1 {
				t.Fatalf("s1 served %d requests at once, above maxconn 1", m)
			}
		})
	}
}

// TestCookieInsertLogFlags: the cookie flags of the log in insert mode, as HAProxy 2.6
// logs them (checked against /usr/sbin/haproxy): no cookie "NI" (one inserted), a valid
// one "VN", one naming no server "II".
func TestCookieInsertLogFlags(t *testing.T) {
	a1 := fastServer(t)
	be := newBackend(a1)
	be.Cookie = &config.Cookie{Name: "SRV", Mode: config.CookieInsert, Indirect: true}
	f := newFixture(t, be, nil)
	sink := &lineSink{}
	withLog(t, f, sink, nil)
	for i, tc := range []struct{ cookie, flags string }{
		{"", "--NI"}, {"\r\nCookie: SRV=s1", "--VN"}, {"\r\nCookie: SRV=zz", "--II"},
	} {
		if _, _, err := f.rawExchange("GET / HTTP/1.1\r\nHost: t" + tc.cookie + "\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		if l := waitLines(t, sink, i+1)[i]; !strings.Contains(l, " 200 ") || !strings.Contains(l, " - - "+tc.flags+" ") {
			t.Fatalf("cookie %q: log %q, want flags %s", tc.cookie, l, tc.flags)
		}
	}
}
