package idlewait

import (
	"net"
	"sync"
	"testing"
	"time"
)

// pairs returns n connected loopback TCP pairs (server side, client side).
func pairs(t *testing.T, n int) (srv, cli []net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		srv, cli = append(srv, s), append(cli, c)
	}
	t.Cleanup(func() {
		for i := range srv {
			srv[i].Close()
			cli[i].Close()
		}
	})
	return srv, cli
}

// fdOf is c's descriptor (c keeps it: the tests do not read c while it is parked).
func fdOf(t *testing.T, c net.Conn) int {
	t.Helper()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	rc.Control(func(s uintptr) { fd = int(s) })
	return fd
}

// wakeFunc makes a function a Waker.
type wakeFunc func(Reason)

func (f wakeFunc) Wake(_ *Wait, why Reason) { f(why) }

func newWaiter(t *testing.T) *Waiter {
	t.Helper()
	w, err := New(10 * time.Millisecond)
	if err != nil {
		t.Skipf("no waiter here: %v", err)
	}
	t.Cleanup(w.Close)
	return w
}

// recorder collects wake reasons.
type recorder struct {
	mu  sync.Mutex
	got map[int]Reason
	ch  chan int
}

func newRecorder() *recorder { return &recorder{got: map[int]Reason{}, ch: make(chan int, 1024)} }

func (r *recorder) wake(i int) func(Reason) {
	return func(why Reason) {
		r.mu.Lock()
		if _, twice := r.got[i]; twice {
			r.got[i] = -1 // a second call is a bug the test reports
		} else {
			r.got[i] = why
		}
		r.mu.Unlock()
		r.ch <- i
	}
}

func (r *recorder) await(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-r.ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d of %d wakes arrived", i, n)
		}
	}
}

func (r *recorder) reason(i int) Reason {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[i]
}

// TestReadyWhenBytesArrive: a parked connection wakes Ready when its peer writes, and
// only that one; the data is still there to read.
func TestReadyWhenBytesArrive(t *testing.T) {
	w := newWaiter(t)
	srv, cli := pairs(t, 3)
	r := newRecorder()
	for i, s := range srv {
		if _, err := w.Park(fdOf(t, s), time.Now().Add(time.Minute), wakeFunc(r.wake(i))); err != nil {
			t.Fatal(err)
		}
	}
	cli[1].Write([]byte("GET"))
	r.await(t, 1)
	if r.reason(1) != Ready {
		t.Fatalf("conn 1 woke %v, want ready", r.reason(1))
	}
	if r.reason(0) != 0 || r.reason(2) != 0 {
		t.Fatal("a connection without bytes woke")
	}
	buf := make([]byte, 8)
	srv[1].SetReadDeadline(time.Now().Add(time.Second))
	if n, err := srv[1].Read(buf); err != nil || string(buf[:n]) != "GET" {
		t.Fatalf("after the wake, read %q %v", buf[:n], err)
	}
	if w.Parked() != 2 {
		t.Fatalf("%d parked, want 2", w.Parked())
	}
}

// TestExpiredAtDeadline: no bytes, the deadline passes: Expired, about on time.
func TestExpiredAtDeadline(t *testing.T) {
	w := newWaiter(t)
	srv, _ := pairs(t, 1)
	r := newRecorder()
	start := time.Now()
	if _, err := w.Park(fdOf(t, srv[0]), start.Add(100*time.Millisecond), wakeFunc(r.wake(0))); err != nil {
		t.Fatal(err)
	}
	r.await(t, 1)
	if r.reason(0) != Expired {
		t.Fatalf("woke %v, want expired", r.reason(0))
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("expired after %v, before its deadline", d)
	}
}

// TestPeerCloseIsReady: the peer closing wakes the wait (the read then sees EOF).
func TestPeerCloseIsReady(t *testing.T) {
	w := newWaiter(t)
	srv, cli := pairs(t, 1)
	r := newRecorder()
	w.Park(fdOf(t, srv[0]), time.Time{}, wakeFunc(r.wake(0)))
	cli[0].Close()
	r.await(t, 1)
	if r.reason(0) != Ready {
		t.Fatalf("woke %v, want ready", r.reason(0))
	}
}

// TestCancelAndCloseWakeOnce: Cancel wakes Cancelled once; a second Cancel does nothing;
// Close cancels the rest; no wait is ever woken twice.
func TestCancelAndCloseWakeOnce(t *testing.T) {
	w, err := New(10 * time.Millisecond)
	if err != nil {
		t.Skip(err)
	}
	srv, cli := pairs(t, 3)
	r := newRecorder()
	var waits []*Wait
	for i, s := range srv {
		x, err := w.Park(fdOf(t, s), time.Now().Add(time.Minute), wakeFunc(r.wake(i)))
		if err != nil {
			t.Fatal(err)
		}
		waits = append(waits, x)
	}
	if !waits[0].Cancel() || waits[0].Cancel() {
		t.Fatal("Cancel: want true once, then false")
	}
	r.await(t, 1)
	w.Close()
	r.await(t, 2)
	cli[1].Write([]byte("late")) // nothing may wake after Close
	time.Sleep(50 * time.Millisecond)
	for i := range srv {
		if got := r.reason(i); got != Cancelled {
			t.Fatalf("conn %d: %v, want cancelled exactly once", i, got)
		}
	}
	if _, err := w.Park(fdOf(t, srv[0]), time.Time{}, wakeFunc(r.wake(9))); err != ErrClosed {
		t.Fatalf("Park after Close: %v, want ErrClosed", err)
	}
}

// TestManyParkedAndWoken: 500 connections park and each wakes exactly once, Ready.
func TestManyParkedAndWoken(t *testing.T) {
	w := newWaiter(t)
	srv, cli := pairs(t, 500)
	r := newRecorder()
	for i, s := range srv {
		if _, err := w.Park(fdOf(t, s), time.Now().Add(time.Minute), wakeFunc(r.wake(i))); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cli {
		c.Write([]byte("x"))
	}
	r.await(t, len(srv))
	for i := range srv {
		if r.reason(i) != Ready {
			t.Fatalf("conn %d: %v", i, r.reason(i))
		}
	}
	if w.Parked() != 0 {
		t.Fatalf("%d still parked", w.Parked())
	}
}

// TestEarlierDeadlineParkedLater: a wait parked after another, with an earlier deadline,
// expires at its own deadline, not at the other's.
func TestEarlierDeadlineParkedLater(t *testing.T) {
	w := newWaiter(t)
	srv, _ := pairs(t, 2)
	r := newRecorder()
	start := time.Now()
	if _, err := w.Park(fdOf(t, srv[0]), start.Add(time.Minute), wakeFunc(r.wake(0))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // the loop now waits for the 1-minute deadline
	if _, err := w.Park(fdOf(t, srv[1]), time.Now().Add(100*time.Millisecond), wakeFunc(r.wake(1))); err != nil {
		t.Fatal(err)
	}
	r.await(t, 1)
	if r.reason(1) != Expired || r.reason(0) != 0 {
		t.Fatalf("woke %v and %v, want only the second, expired", r.reason(0), r.reason(1))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("expired after %v, want about 120ms", d)
	}
}

// TestIdleLoopDoesNotPoll: with connections parked and nothing happening, the waiter
// does not wake up (it used to poll every tick).
func TestIdleLoopDoesNotPoll(t *testing.T) {
	w := newWaiter(t) // tick 10ms
	srv, _ := pairs(t, 3)
	r := newRecorder()
	for i, s := range srv {
		deadline := time.Time{}
		if i == 0 {
			deadline = time.Now().Add(time.Minute)
		}
		if _, err := w.Park(fdOf(t, s), deadline, wakeFunc(r.wake(i))); err != nil {
			t.Fatal(err)
		}
	}
	w.mu.Lock()
	before := w.rounds
	w.mu.Unlock()
	time.Sleep(300 * time.Millisecond) // 30 ticks
	w.mu.Lock()
	after := w.rounds
	w.mu.Unlock()
	if after-before > 1 {
		t.Fatalf("the waiter woke %d times in 300ms with nothing to do", after-before)
	}
}
