package ha

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tandem/internal/config"
)

// TestMissingInterfaceWaitsInFault: keepalived keeps an instance whose interface
// does not exist in FAULT and starts it when the interface appears; tandem's Run
// does the same instead of failing, and the instance then runs normally (alone on
// its segment, it becomes MASTER and adds its VIP). Entering FAULT runs
// notify_fault, as keepalived does.
func TestMissingInterfaceWaitsInFault(t *testing.T) {
	h := &hub{}
	var mu sync.Mutex
	exists := false
	errNoIf := errors.New("route ip+net: no such network interface")
	vips := &addrs{}
	execs := make(chan []string, 16)
	n, err := New(conf(t, 100, "notify_fault \"/bin/fault x\"\n"), Options{
		Exec: func(_ context.Context, c Command) error { execs <- c.Argv; return nil },
		Listen: func(*config.VRRPInstance) (Transport, error) {
			mu.Lock()
			defer mu.Unlock()
			if !exists {
				return nil, errNoIf
			}
			return h.attach("198.18.0.1"), nil
		},
		Announcer: func(string) (Announcer, error) { return countAnnouncer{new(atomic.Int64)}, nil },
		VIPs:      vips,
		LinkPoll:  10 * time.Millisecond,
		LinkUp: func(string) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			if !exists {
				return false, errNoIf
			}
			return true, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			t.Error("Run did not return within 3s of the end of its context")
		}
	}()
	state := func() string {
		st := n.Status()
		if len(st) != 1 {
			return ""
		}
		return st[0].State
	}
	waitFor(t, 2*time.Second, "VI_1 reported in FAULT", func() bool { return state() == "FAULT" })
	select {
	case argv := <-execs:
		if len(argv) != 2 || argv[0] != "/bin/fault" || argv[1] != "x" {
			t.Errorf("notify ran %q, want notify_fault /bin/fault x", argv)
		}
	case <-time.After(2 * time.Second):
		t.Error("notify_fault did not run when the instance went to FAULT")
	}
	// stays there (bounded look: 20 link polls), Run still running, no VIP
	for range 20 {
		select {
		case err := <-done:
			t.Fatalf("Run returned while the interface is missing: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if s := state(); s != "FAULT" || vips.holds(vipA) {
			t.Fatalf("without its interface: state %s, VIP held %v", s, vips.holds(vipA))
		}
	}
	// a reload with the same instance keeps it waiting, since the same moment
	since := n.Status()[0].Since
	if err := n.Reload(conf(t, 100, "notify_fault \"/bin/fault x\"\n")); err != nil {
		t.Fatal(err)
	}
	if st := n.Status(); len(st) != 1 || st[0].State != "FAULT" || !st[0].Since.Equal(since) {
		t.Errorf("after a reload: %+v, want FAULT since %v", st, since)
	}
	mu.Lock()
	exists = true
	mu.Unlock()
	waitFor(t, 3*time.Second, "VI_1 master once its interface exists", func() bool { return state() == "MASTER" && vips.holds(vipA) })
}
