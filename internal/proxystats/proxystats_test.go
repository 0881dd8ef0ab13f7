package proxystats

import (
	"testing"
	"time"
)

func TestFrontendCounters(t *testing.T) {
	t0 := time.Unix(1000, 0)
	f := &Frontend{}
	f.SessionOpen(t0)
	f.SessionOpen(t0)
	f.SessionClose()
	f.Request(t0)
	f.Request(t0)
	f.Request(t0.Add(time.Second))
	f.Response(200)
	f.Response(503)
	f.Response(99)
	f.Bytes(10, 20)
	f.RequestError()
	f.Denied()
	f.Intercepted()
	s := f.Snapshot(t0.Add(time.Second))
	want := Snapshot{Cur: 1, Max: 2, Total: 2, BytesIn: 10, BytesOut: 20, Denied: 1, ReqErr: 1, Requests: 3, Intercepted: 1,
		Responses: [6]uint64{0, 1, 0, 0, 1, 1}, SessRate: 2, SessRateMax: 2, ReqRate: 2, ReqRateMax: 2}
	if s != want {
		t.Errorf("snapshot\n got %+v\nwant %+v", s, want)
	}
}

func TestRate(t *testing.T) {
	var r Rate
	for range 5 {
		r.Add(10)
	}
	r.Add(11)
	tests := []struct {
		sec  int64
		want uint64
	}{{11, 5}, {12, 1}, {13, 0}, {9, 0}}
	for _, tc := range tests {
		if got := r.Read(tc.sec); got != tc.want {
			t.Errorf("Read(%d) = %d, want %d", tc.sec, got, tc.want)
		}
	}
	r.Add(20) // a gap: the previous second had nothing
	if got := r.Read(20); got != 0 {
		t.Errorf("after a gap Read = %d, want 0", got)
	}
	if r.Max() != 5 {
		t.Errorf("Max = %d, want 5", r.Max())
	}
}

func TestNilFrontendIsANoOp(t *testing.T) {
	var f *Frontend
	f.SessionOpen(time.Now())
	f.SessionClose()
	f.Request(time.Now())
	f.Response(200)
	f.Bytes(1, 1)
	f.RequestError()
	f.Denied()
	f.Intercepted()
	if s := f.Snapshot(time.Now()); s != (Snapshot{}) {
		t.Errorf("nil snapshot = %+v", s)
	}
}

func TestRegistryKeepsCountersByName(t *testing.T) {
	r := NewRegistry()
	a := r.Frontend("web")
	if r.Frontend("web") != a || r.Frontend("other") == a {
		t.Error("registry does not key by name")
	}
}

func TestRecordingAllocatesNothing(t *testing.T) {
	f := &Frontend{}
	now := time.Unix(5, 0)
	if n := testing.AllocsPerRun(100, func() {
		f.SessionOpen(now)
		f.Request(now)
		f.Response(200)
		f.Bytes(1, 2)
		f.SessionClose()
	}); n != 0 {
		t.Errorf("allocs = %v, want 0", n)
	}
}
