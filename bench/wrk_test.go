package main

import (
	"strings"
	"testing"
	"time"
)

const wrkKeepAlive = `Running 1s test @ http://127.0.0.1:18081/
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    94.66us  352.47us   6.96ms   98.47%
    Req/Sec   115.79k     4.50k  123.51k    63.64%
  Latency Distribution
     50%   62.00us
     75%   78.00us
     90%   85.00us
     99%    1.12ms
  126547 requests in 1.10s, 19.43MB read
Requests/sec: 115057.58
Transfer/sec:     17.67MB
`

const wrkErrors = `Running 10s test @ http://127.0.0.1:9000/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.50s     1.00s    4.99s    70.00%
    Req/Sec     1.00k   100.00     1.20k    70.00%
  Latency Distribution
     50%    2.00s 
     75%    3.00s 
     90%    4.00s 
     99%    1.50m 
  10000 requests in 10.01s, 1.00MB read
  Socket errors: connect 3, read 4, write 5, timeout 6
  Non-2xx or 3xx responses: 7
Requests/sec:    999.00
Transfer/sec:    102.30KB
`

func TestParseWrk(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want wrkResult
	}{
		{"keep-alive run without errors", wrkKeepAlive, wrkResult{
			Requests: 126547, Elapsed: 1100 * time.Millisecond, ReqPerSec: 115057.58,
			P50: 62 * time.Microsecond, P99: 1120 * time.Microsecond}},
		{"socket errors and non-2xx are summed", wrkErrors, wrkResult{
			Requests: 10000, Elapsed: 10010 * time.Millisecond, ReqPerSec: 999,
			P50: 2 * time.Second, P99: 90 * time.Second, SocketErrors: 3 + 4 + 5 + 6, Non2xx: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseWrk(tt.in)
			if err != nil {
				t.Fatalf("parseWrk: %v", err)
			}
			if got != tt.want {
				t.Errorf("parseWrk = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseWrkErrors(t *testing.T) {
	noLatency := strings.Replace(wrkKeepAlive, "     99%    1.12ms\n", "", 1)
	tests := []struct {
		name, in, wantErr string
	}{
		{"empty output", "", `no "requests in" line`},
		{"run without --latency", noLatency, "no latency distribution"},
		{"no rate line", strings.Replace(wrkKeepAlive, "Requests/sec: 115057.58\n", "", 1), "no Requests/sec"},
		{"bad unit", strings.Replace(wrkKeepAlive, "62.00us", "62.00xs", 1), "bad wrk duration"},
		{"bad count", strings.Replace(wrkKeepAlive, "126547 requests", "12x requests", 1), "bad number"},
		{"bad socket error field", strings.Replace(wrkErrors, "read 4", "read", 1), "bad field"},
		{"negative non-2xx", strings.Replace(wrkErrors, "responses: 7", "responses: -7", 1), "bad number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseWrk(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseWrk error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseWrkDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"62.00us", 62 * time.Microsecond, true},
		{"1.12ms", 1120 * time.Microsecond, true},
		{"2.00s", 2 * time.Second, true},
		{"1.50m", 90 * time.Second, true},
		{"1.00h", time.Hour, true},
		{"0.50ms", 500 * time.Microsecond, true},
		{"64.02ms", 64020 * time.Microsecond, true}, // not 64.019999ms
		{"ms", 0, false},
		{"-1ms", 0, false},
		{"1.0", 0, false},
		{"NaNms", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := parseWrkDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseWrkDuration(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParseWrk(f *testing.F) {
	f.Add(wrkKeepAlive)
	f.Add(wrkErrors)
	f.Add("50% 1ms\n99% 2ms\n1 requests in 1s, 1B read\nRequests/sec: 1\n")
	f.Fuzz(func(t *testing.T, in string) {
		r, err := parseWrk(in)
		if err != nil {
			return
		}
		if r.Requests < 0 || r.ReqPerSec < 0 || r.P50 < 0 || r.P99 < 0 || r.Errors() < 0 {
			t.Errorf("parseWrk(%q) accepted negative values: %+v", in, r)
		}
	})
}

func TestParseWrkRejectsNaNRate(t *testing.T) {
	in := strings.Replace(wrkKeepAlive, "Requests/sec: 115057.58", "Requests/sec: NaN", 1)
	if _, err := parseWrk(in); err == nil {
		t.Error("parseWrk accepted Requests/sec: NaN")
	}
}

func FuzzParseWrkDuration(f *testing.F) {
	for _, s := range []string{"62.00us", "1.12ms", "2.00s", "1.50m", "1.00h", "NaNms", "-1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := parseWrkDuration(in)
		if err == nil && d < 0 {
			t.Errorf("parseWrkDuration(%q) = %v: negative", in, d)
		}
	})
}
