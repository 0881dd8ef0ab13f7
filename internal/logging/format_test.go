package logging

import (
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"tandem/internal/config"
)

// haproxyRecord is the first request of a session HAProxy 2.6 logged, side by side
// (see e2e/haproxylog_test.go), as:
//
//	127.0.0.1:42684 [22/Nov/2026:10:19:11.310] fe be/s1 0/0/0/5/5 404 500 - - ---- 1/1/0/0/0 0/0 {127.0.0.1:25580|curl/} "GET /foo?x=1 HTTP/1.1"
func haproxyRecord() *Record {
	r := NewRecord(1024)
	r.Client = netip.MustParseAddrPort("127.0.0.1:42684")
	r.Frontend = netip.MustParseAddrPort("127.0.0.1:25580")
	r.Accept = time.Date(2026, 11, 22, 10, 19, 11, 310e6, time.UTC)
	r.Request = r.Accept
	r.FrontendName, r.BackendName, r.ServerName = "fe", "be", "s1"
	r.Th, r.Ti, r.TR, r.Tw, r.Tc, r.Tr, r.Ta, r.Tt = 0, 0, 0, 0, 0, 5, 5, 5
	r.Status, r.BytesOut = 404, 500
	r.ActConn, r.FeConn = 1, 1
	r.SetReqLine([]byte("GET /foo?x=1 HTTP/1.1"))
	r.SetCapture(0, []byte("127.0.0.1:25580"), true, 20)
	r.SetCapture(1, []byte("curl/8.0"), true, 5)
	return r
}

func TestFormatLines(t *testing.T) {
	env := &Env{Hostname: "lb1", PID: 4242, LogCount: 7}
	tests := []struct {
		name, format string
		edit         func(r *Record)
		want         string
	}{
		{"httplog as HAProxy 2.6", HTTPLogFormat, nil,
			`127.0.0.1:42684 [22/Nov/2026:10:19:11.310] fe be/s1 0/0/0/5/5 404 500 - - ---- 1/1/0/0/0 0/0 {127.0.0.1:25580|curl/} "GET /foo?x=1 HTTP/1.1"`},
		{"httplog without captures: one space", HTTPLogFormat, func(r *Record) { r.ReqCaptures = r.ReqCaptures[:0] },
			`127.0.0.1:42684 [22/Nov/2026:10:19:11.310] fe be/s1 0/0/0/5/5 404 500 - - ---- 1/1/0/0/0 0/0 "GET /foo?x=1 HTTP/1.1"`},
		{"bad request as HAProxy", HTTPLogFormat, func(r *Record) {
			r.ReqCaptures = r.ReqCaptures[:0]
			r.HasReq, r.BackendName, r.ServerName = false, "", ""
			r.TR, r.Tw, r.Tc, r.Tr, r.Ta = -1, -1, -1, -1, 0
			r.Status, r.BytesOut = 400, 0
			r.SetTerm(TermProxy, StateRequest)
		}, `127.0.0.1:42684 [22/Nov/2026:10:19:11.310] fe fe/<NOSRV> -1/-1/-1/-1/0 400 0 - - PR-- 1/1/0/0/0 0/0 "<BADREQ>"`},
		{"tcplog as HAProxy 2.6", TCPLogFormat, func(r *Record) {
			r.FrontendName, r.BackendName, r.ServerName = "tcpl", "tcpl", "t1"
			r.Tw, r.Tc, r.Tt, r.BytesOut = 1, 0, 1, 520
		}, `127.0.0.1:42684 [22/Nov/2026:10:19:11.310] tcpl tcpl/t1 1/0/1 520 -- 1/1/0/0/0 0/0`},
		{"request parts", `%HM %HU %HP %HQ %HV %{+Q}HU`, nil, `GET /foo?x=1 /foo ?x=1 HTTP/1.1 "/foo?x=1"`},
		{"encoding of the request line and captures", `%{+Q}r %hr %hrl`, func(r *Record) {
			r.SetReqLine([]byte("GET /a\"b#c\x01 HTTP/1.1"))
			r.SetCapture(1, []byte("x|y{}"), true, 20)
		}, `"GET /a#22b#23c#01 HTTP/1.1" {127.0.0.1:25580|x#7Cy#7B#7D} 127.0.0.1:25580 x#7Cy#7B#7D`},
		{"absent capture is empty", `%hr`, func(r *Record) { r.SetCapture(0, nil, false, 20) }, `{|curl/}`},
		{"retries with redispatch", `%rc`, func(r *Record) { r.Retries, r.Redispatch = 3, true }, `+3`},
		{"status -1 when none", `%ST`, func(r *Record) { r.Status = 0 }, `-1`},
		{"dates", `%T|%Ts|%ms|%trg`, nil, `22/Nov/2026:10:19:11 +0000|1795342751|310|22/Nov/2026:10:19:11 +0000`},
		{"addresses and env", `%fi:%fp %si:%sp %bi %H %pid %lc %ID %%`, nil, `127.0.0.1:25580 -:- - lb1 4242 7 - %`},
		{"hex and quote flags", `%{+X}ci:%{+X}cp %{+Q}f %{+Q}b %{+E}s`, func(r *Record) { r.ServerName = `a"b` },
			`7F000001:A6BC "fe" "be" a\"b`},
		{"separators collapse around empty values", `a  %hs  %hs b`, nil, `a b`},
		{"data time", `%Td %Tq %Tu`, func(r *Record) { r.Tt = 20 }, `15 0 20`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Compile(tt.format)
			if err != nil {
				t.Fatal(err)
			}
			r := haproxyRecord()
			if tt.edit != nil {
				tt.edit(r)
			}
			if got := string(f.Append(nil, r, env)); got != tt.want {
				t.Errorf("\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	for _, s := range []string{"%", "%{+Q", "%nope", "%[src]", "%{+Z}r", "%{Q}r"} {
		if _, err := Compile(s); err == nil {
			t.Errorf("Compile(%q): no error", s)
		}
	}
}

func TestRecordResetKeepsBuffers(t *testing.T) {
	r := haproxyRecord()
	line := cap(r.ReqLine)
	r.Reset()
	if r.HasReq || len(r.ReqCaptures) != 0 || cap(r.ReqLine) != line || r.Tw != -1 || string(r.Term[:]) != "----" {
		t.Fatalf("after Reset: %+v", r)
	}
	r.SetCapture(1, []byte("v"), true, 4)
	if len(r.ReqCaptures) != 2 || len(r.ReqCaptures[0]) != 0 || string(r.ReqCaptures[1]) != "v" {
		t.Fatalf("captures after reuse: %q", r.ReqCaptures)
	}
	r.SetReqLine([]byte(strings.Repeat("x", 2000)))
	if len(r.ReqLine) != 1024 {
		t.Fatalf("request line not cut to 1024: %d", len(r.ReqLine))
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{HTTPLogFormat, TCPLogFormat, "%{+Q}r", "%%", "a  b", "%{+Q,+X}ci", "%{-Q}r %[x]", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fm, err := Compile(s)
		if err != nil {
			return
		}
		out := fm.Append(nil, haproxyRecord(), &Env{})
		if strings.Contains(string(out), "  ") {
			t.Fatalf("two spaces in a row from %q: %q", s, out)
		}
	})
}

func TestConnectOnlyLogger(t *testing.T) {
	var out strings.Builder
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	sys, err := New(nil, Options{Stdout: w})
	if err != nil {
		t.Fatal(err)
	}
	fe := &config.Frontend{Name: "www", Mode: config.ModeHTTP, Logs: []config.LogTarget{{Address: "stdout", Facility: "local0", Format: "raw"}}}
	l, err := sys.Logger(fe)
	if err != nil || !l.ConnectOnly() {
		t.Fatal(l, err)
	}
	r := haproxyRecord()
	r.FrontendName = "www"
	l.Log(r)
	sys.Close()
	// configuration.txt §8.2.1
	if want := "Connect from 127.0.0.1:42684 to 127.0.0.1:25580 (www/HTTP)\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// TestErrorOptions: option dontlog-normal keeps only error lines; option
// log-separate-errors sends them at level err (configuration.txt, "option
// log-separate-errors").
func TestErrorOptions(t *testing.T) {
	var out strings.Builder
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	sys, err := New(nil, Options{Stdout: w})
	if err != nil {
		t.Fatal(err)
	}
	fe := &config.Frontend{Name: "fe", LogFormat: "%ST %tsc", DontLogNormal: true, LogSeparateErrors: true,
		Logs: []config.LogTarget{{Address: "stdout", Facility: "local0", Format: "priority"}}}
	l, err := sys.Logger(fe)
	if err != nil {
		t.Fatal(err)
	}
	r := haproxyRecord()
	r.Status = 200
	l.Log(r) // normal: not logged
	r.Status = 503
	l.Log(r)
	r.Status = 200
	r.SetTerm(TermClientAbort, StateData)
	l.Log(r)
	sys.Close()
	if want := "<131>503 ----\n<131>200 CD--\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// TestForcedLevel: http-request set-log-level sets the line's level, even over
// log-separate-errors, and "silent" drops the line.
func TestForcedLevel(t *testing.T) {
	var out strings.Builder
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	sys, err := New(nil, Options{Stdout: w})
	if err != nil {
		t.Fatal(err)
	}
	fe := &config.Frontend{Name: "fe", LogFormat: "%ST", LogSeparateErrors: true,
		Logs: []config.LogTarget{{Address: "stdout", Facility: "local0", Format: "priority"}}}
	l, err := sys.Logger(fe)
	if err != nil {
		t.Fatal(err)
	}
	r := haproxyRecord()
	for _, tc := range []struct {
		status int
		level  int8
	}{{200, 0}, {200, 4 + 1}, {503, 0}, {503, 7 + 1}, {200, LevelSilent}} {
		r.Status, r.Level = tc.status, tc.level
		l.Log(r)
	}
	sys.Close()
	if want := "<134>200\n<132>200\n<131>503\n<135>503\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
