package privsep

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"tandem/internal/config"
	"tandem/internal/listener"
	"tandem/internal/stats"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name, line string
		want       request
		err        string // substring; "" = valid
	}{
		{"load", `{"id":1,"op":"load"}`, request{ID: 1, Op: "load"}, ""},
		{"bind", `{"id":2,"op":"bind","network":"tcp4","addr":"127.0.0.1:80"}`, request{ID: 2, Op: "bind", Network: "tcp4", Addr: "127.0.0.1:80"}, ""},
		{"vrrp-start", `{"id":3,"op":"vrrp-start"}`, request{ID: 3, Op: opVRRPStart}, ""},
		{"vrrp-reload", `{"id":4,"op":"vrrp-reload"}`, request{ID: 4, Op: opVRRPReload}, ""},
		{"vrrp-stop", `{"id":5,"op":"vrrp-stop"}`, request{ID: 5, Op: opVRRPStop}, ""},
		{"vrrp-status", `{"id":6,"op":"vrrp-status"}`, request{ID: 6, Op: opVRRPStatus}, ""},
		{"unknown op", `{"id":7,"op":"exec"}`, request{}, `unknown request "exec"`},
		{"no op", `{"id":7}`, request{}, `unknown request ""`},
		{"not json", `load`, request{}, "bad request"},
		{"vrrp op with an address", `{"id":8,"op":"vrrp-stop","addr":"127.0.0.1:80"}`, request{}, "takes no address"},
		{"vrrp-switchover", `{"id":9,"op":"vrrp-switchover","instance":"VI_1"}`, request{ID: 9, Op: opVRRPSwitchover, Instance: "VI_1"}, ""},
		{"an instance on another op", `{"id":10,"op":"vrrp-stop","instance":"VI_1"}`, request{}, "takes no instance"},
		{"wrong type", `{"id":"x","op":"load"}`, request{}, "bad request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRequest([]byte(tt.line))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseRequest(%s) = %+v, %v; want an error with %q", tt.line, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseRequest(%s) = %+v, %v; want %+v", tt.line, got, err, tt.want)
			}
		})
	}
}

// FuzzParseRequest: any line decodes or is refused without panicking, and an accepted
// request survives a round trip unchanged.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{`{"id":1,"op":"load"}`, `{"id":2,"op":"bind","network":"tcp6","addr":"[::1]:443"}`,
		`{"id":3,"op":"vrrp-status"}`, `{"op":"vrrp-start","network":"x"}`, `{`, `null`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := parseRequest(line)
		if err != nil {
			return
		}
		out, _ := json.Marshal(req)
		again, err := parseRequest(out)
		if err != nil || again != req {
			t.Fatalf("round trip of %+v: %+v, %v", req, again, err)
		}
	})
}

func TestParseUpcall(t *testing.T) {
	backend := &config.InProcessCheck{Kind: "backend", Name: "app", MinUp: 2}
	tests := []struct {
		name, line string
		want       upcall
		err        string
	}{
		{"backend check", `{"id":1,"op":"check","check":{"Kind":"backend","Name":"app","MinUp":2}}`, upcall{ID: 1, Op: "check", Check: backend}, ""},
		{"frontend check", `{"id":2,"op":"check","check":{"Kind":"frontend","Name":"fe"}}`,
			upcall{ID: 2, Op: "check", Check: &config.InProcessCheck{Kind: "frontend", Name: "fe"}}, ""},
		{"percent check", `{"id":3,"op":"check","check":{"Kind":"backend","Name":"app","MinUp":50,"Percent":true}}`,
			upcall{ID: 3, Op: "check", Check: &config.InProcessCheck{Kind: "backend", Name: "app", MinUp: 50, Percent: true}}, ""},
		{"vrrp-exit by signal", `{"id":4,"op":"vrrp-exit"}`, upcall{ID: 4, Op: "vrrp-exit"}, ""},
		{"vrrp-exit with error", `{"id":5,"op":"vrrp-exit","err":"no such interface"}`, upcall{ID: 5, Op: "vrrp-exit", Err: "no such interface"}, ""},
		{"no id", `{"op":"vrrp-exit"}`, upcall{}, "no id"},
		{"check without tracker", `{"id":6,"op":"check"}`, upcall{}, "without a tracker"},
		{"unknown kind", `{"id":7,"op":"check","check":{"Kind":"server","Name":"a"}}`, upcall{}, "unknown tracker kind"},
		{"no name", `{"id":8,"op":"check","check":{"Kind":"backend"}}`, upcall{}, "without a name"},
		{"negative minimum", `{"id":9,"op":"check","check":{"Kind":"backend","Name":"a","MinUp":-1}}`, upcall{}, "out of range"},
		{"percent over 100", `{"id":10,"op":"check","check":{"Kind":"backend","Name":"a","MinUp":101,"Percent":true}}`, upcall{}, "out of range"},
		{"exit with tracker", `{"id":11,"op":"vrrp-exit","check":{"Kind":"backend","Name":"a"}}`, upcall{}, "carries a tracker"},
		{"unknown op", `{"id":12,"op":"exec"}`, upcall{}, "unknown op"},
		{"not json", `}`, upcall{}, "bad upcall"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseUpcall([]byte(tt.line))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseUpcall(%s) = %+v, %v; want an error with %q", tt.line, got, err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("parseUpcall(%s) = %+v, %v; want %+v", tt.line, got, err, tt.want)
			}
		})
	}
}

// FuzzParseUpcall: any line decodes or is refused without panicking; an accepted
// upcall survives a round trip unchanged.
func FuzzParseUpcall(f *testing.F) {
	for _, s := range []string{`{"id":1,"op":"check","check":{"Kind":"backend","Name":"app","MinUp":2}}`,
		`{"id":2,"op":"vrrp-exit","err":"x"}`, `{"id":3,"op":"check","check":null}`, `{"id":0}`, `"`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		u, err := parseUpcall(line)
		if err != nil {
			return
		}
		out, _ := json.Marshal(u)
		again, err := parseUpcall(out)
		if err != nil || !reflect.DeepEqual(again, u) {
			t.Fatalf("round trip of %+v: %+v, %v", u, again, err)
		}
	})
}

// fakeVRRP records the requests and answers as told.
type fakeVRRP struct {
	mu         sync.Mutex
	calls      []string
	startErr   error
	statusGate chan struct{} // when set, Status waits for it
}

func (f *fakeVRRP) note(op string) { f.mu.Lock(); f.calls = append(f.calls, op); f.mu.Unlock() }
func (f *fakeVRRP) Start() error {
	f.note("start")
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.startErr
}
func (f *fakeVRRP) Reload() error {
	f.note("reload")
	return errors.New("keepalived.conf: cannot open")
}
func (f *fakeVRRP) Stop() { f.note("stop") }
func (f *fakeVRRP) Switchover(name string) error {
	f.note("switchover " + name)
	if name == "VI_2" {
		return errors.New(`vrrp_instance "VI_2" is BACKUP, not MASTER: nothing to hand over`)
	}
	return nil
}
func (f *fakeVRRP) Status() []stats.VRRPInstance {
	f.note("status")
	if f.statusGate != nil {
		<-f.statusGate
	}
	return []stats.VRRPInstance{{Name: "VI_1", Interface: "eth0", VRID: 51, State: "MASTER", Priority: 101, VIPs: []string{"198.18.0.100/32"}}}
}

// serveFake runs ServeVRRP with v on one end of a socket pair and returns a client.
func serveFake(t *testing.T, v VRRPControl) *Client {
	t.Helper()
	a, b := pair(t)
	done := make(chan error, 1)
	go func() { done <- ServeVRRP(b, fakeLoad, fakeSources("127.0.0.1:1"), listener.Open, v) }()
	t.Cleanup(func() {
		a.Close()
		if err := <-done; err != nil {
			t.Errorf("helper: %v", err)
		}
	})
	return NewClient(a)
}

// TestVRRPRequests: each vrrp-* request reaches the helper's VRRP node and its answer
// comes back: configuration problems one per line, the status as the stats page reads it.
func TestVRRPRequests(t *testing.T) {
	var list config.ErrorList
	list.Add(config.Pos{File: "keepalived.conf", Line: 3}, "vrrp_instance %q: no interface", "VI_1")
	list.Add(config.Pos{File: "keepalived.conf", Line: 9}, "vrrp_script %q: no script", "chk")
	v := &fakeVRRP{startErr: list.Err()}
	c := serveFake(t, v)

	err := c.StartVRRP()
	var got config.ErrorList
	if !errors.As(err, &got) || !reflect.DeepEqual(got, list) {
		t.Fatalf("StartVRRP = %v, want the two problems with their positions", err)
	}
	v.mu.Lock()
	v.startErr = nil
	v.mu.Unlock()
	if err := c.StartVRRP(); err != nil {
		t.Fatalf("StartVRRP: %v", err)
	}
	if err := c.ReloadVRRP(); err == nil || err.Error() != "keepalived.conf: cannot open" {
		t.Fatalf("ReloadVRRP = %v, want the helper's error", err)
	}
	st, err := c.VRRPStatus()
	if err != nil || len(st) != 1 || st[0].Name != "VI_1" || st[0].State != "MASTER" || st[0].VIPs[0] != "198.18.0.100/32" {
		t.Fatalf("VRRPStatus = %+v, %v", st, err)
	}
	if err := c.VRRPSwitchover("VI_1"); err != nil {
		t.Fatalf("VRRPSwitchover: %v", err)
	}
	if err := c.VRRPSwitchover("VI_2"); err == nil || !strings.Contains(err.Error(), "not MASTER") {
		t.Fatalf("VRRPSwitchover(VI_2) = %v, want the helper's error", err)
	}
	if err := c.StopVRRP(); err != nil {
		t.Fatalf("StopVRRP: %v", err)
	}
	want := []string{"start", "start", "reload", "status", "switchover VI_1", "switchover VI_2", "stop"}
	v.mu.Lock()
	defer v.mu.Unlock()
	if !reflect.DeepEqual(v.calls, want) {
		t.Fatalf("the helper's node saw %v, want %v", v.calls, want)
	}
}

// TestVRRPRequestsWithoutVRRP: a helper started without -k refuses them.
func TestVRRPRequestsWithoutVRRP(t *testing.T) {
	c := serveFake(t, nil)
	if err := c.StartVRRP(); err == nil || !strings.Contains(err.Error(), "runs no VRRP") {
		t.Fatalf("StartVRRP without VRRP = %v, want a refusal", err)
	}
}

// TestVRRPStatusTimesOutAndLateAnswerIsSkipped: a status the helper is slow to give
// fails within the bound; its late answer is not taken for the next request's.
func TestVRRPStatusTimesOutAndLateAnswerIsSkipped(t *testing.T) {
	v := &fakeVRRP{statusGate: make(chan struct{})}
	c := serveFake(t, v)
	c.statusTimeout = 50 * time.Millisecond
	start := time.Now()
	if _, err := c.VRRPStatus(); err == nil {
		t.Fatal("VRRPStatus answered while the helper was stuck")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("VRRPStatus gave up after %v, want about 50ms", took)
	}
	close(v.statusGate) // the late status answer now reaches the socket
	if err := c.ReloadVRRP(); err == nil || err.Error() != "keepalived.conf: cannot open" {
		t.Fatalf("the request after a timeout got %v, want its own answer", err)
	}
}

// TestUpcalls: the helper's tracker checks are answered by the serving process's
// check function, and vrrp-exit reaches it as ErrHelperStopped or the error.
func TestUpcalls(t *testing.T) {
	a, b := pair(t)
	exits := make(chan error, 2)
	check := func(_ context.Context, c config.InProcessCheck) error {
		if c.Kind == "backend" && c.Name == "app" && c.MinUp <= 1 {
			return nil
		}
		return errors.New("backend \"app\" has 1 of 2 servers up, needs 2")
	}
	done := make(chan error, 1)
	go func() { done <- ServeUpcalls(b, check, func(err error) { exits <- err }) }()
	up := NewUpcalls(a)
	ctx := context.Background()

	tests := []struct {
		c   config.InProcessCheck
		err string
	}{
		{config.InProcessCheck{Kind: "backend", Name: "app", MinUp: 1}, ""},
		{config.InProcessCheck{Kind: "backend", Name: "app", MinUp: 2}, "needs 2"},
		{config.InProcessCheck{Kind: "server", Name: "app"}, "unknown tracker kind"},
	}
	for _, tt := range tests {
		err := up.Check(ctx, tt.c)
		if (tt.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("Check(%+v) = %v, want %q", tt.c, err, tt.err)
		}
	}
	if err := up.VRRPExited(nil); err != nil {
		t.Fatal(err)
	}
	if err := <-exits; !errors.Is(err, ErrHelperStopped) {
		t.Errorf("vrrp-exit without error reached the serving process as %v", err)
	}
	if err := up.VRRPExited(errors.New("VI_1: no such interface eth9")); err != nil {
		t.Fatal(err)
	}
	if err := <-exits; err == nil || err.Error() != "VI_1: no such interface eth9" {
		t.Errorf("vrrp-exit with an error reached the serving process as %v", err)
	}
	a.Close()
	if err := <-done; err != nil {
		t.Errorf("ServeUpcalls did not end cleanly when the helper went away: %v", err)
	}
}

// TestUpcallCheckFailsWhenTheServingProcessHangsOrDies: a tracker check is bounded by
// its context when the serving process does not answer, and fails at once when it is
// gone, so the tracker counts as failed (as a failing vrrp_script).
func TestUpcallCheckFailsWhenTheServingProcessHangsOrDies(t *testing.T) {
	a, b := pair(t)
	up := NewUpcalls(a)
	c := config.InProcessCheck{Kind: "backend", Name: "app", MinUp: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := up.Check(ctx, c); err == nil {
		t.Fatal("a check nobody answered succeeded")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("an unanswered check took %v, want about its 50ms timeout", took)
	}
	b.Close() // the serving process dies
	start = time.Now()
	if err := up.Check(context.Background(), c); err == nil {
		t.Fatal("a check succeeded with the serving process gone")
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("a check with the serving process gone took %v, want an immediate failure", took)
	}
}

// TestRefusedRequestIsAnsweredWithItsID: a request the helper refuses (unknown, or an
// address where none belongs) is answered under its id, so the caller gets the refusal
// instead of skipping the answer as stale and waiting for ever.
func TestRefusedRequestIsAnsweredWithItsID(t *testing.T) {
	c := serveFake(t, nil)
	for _, req := range []request{{Op: "format-disk"}, {Op: "load", Addr: "127.0.0.1:80"}} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, _, err := c.call(ctx, req)
		cancel()
		if err != nil {
			t.Fatalf("%+v: %v, want the helper's refusal", req, err)
		}
		if resp.Err == "" {
			t.Fatalf("%+v: answer %+v, want a refusal", req, resp)
		}
	}
}
