package reactor

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func newTestGroup(t *testing.T, n int) *Group {
	t.Helper()
	g, err := NewGroup(n, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

// onLoop runs fn on l's goroutine and waits for it.
func onLoop(t *testing.T, l *Loop, fn func()) {
	t.Helper()
	done := make(chan struct{})
	if err := l.Submit(func() { fn(); close(done) }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the loop did not run a submitted function within 5s")
	}
}

// pairHandler records what it reads from its end of a socket pair.
type pairHandler struct {
	l       *Loop
	fd      int
	got     chan string
	aborted chan struct{}
	panics  bool
}

func (h *pairHandler) Event(ev uint32) {
	if h.panics {
		panic("handler bug")
	}
	if ev&unix.EPOLLIN == 0 {
		return
	}
	for {
		n, err := unix.Read(h.fd, h.l.Buffer())
		if n <= 0 || err != nil {
			return
		}
		h.got <- string(h.l.Buffer()[:n])
	}
}

func (h *pairHandler) Abort() { close(h.aborted) }

func socketPair(t *testing.T) (a, b int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

func recv(t *testing.T, c chan string) string {
	t.Helper()
	select {
	case s := <-c:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
		return ""
	}
}

// TestEventsReachHandler: bytes written to the peer of a registered descriptor reach its
// handler, including bytes that were there before registration; after Forget and close
// the handler hears nothing more, and its token serves the next registration.
func TestEventsReachHandler(t *testing.T) {
	l := newTestGroup(t, 1).Pick()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := fds[0], fds[1] // a is closed by the test itself
	defer unix.Close(b)
	unix.Write(b, []byte("early"))
	h := &pairHandler{l: l, fd: a, got: make(chan string, 16), aborted: make(chan struct{})}
	var tok Token
	onLoop(t, l, func() {
		var err error
		if tok, err = l.Add(a, h); err != nil {
			t.Error(err)
		}
	})
	if got := recv(t, h.got); got != "early" {
		t.Fatalf("got %q, want the bytes written before Add", got)
	}
	for _, m := range []string{"one", "two", "three"} {
		unix.Write(b, []byte(m))
		if got := recv(t, h.got); got != m {
			t.Fatalf("got %q, want %q", got, m)
		}
	}
	onLoop(t, l, func() { l.Forget(tok); unix.Close(a) })
	onLoop(t, l, func() {}) // the token is free once the turn that released it is over
	c, d := socketPair(t)
	h2 := &pairHandler{l: l, fd: c, got: make(chan string, 16), aborted: make(chan struct{})}
	var tok2 Token
	onLoop(t, l, func() { tok2, _ = l.Add(c, h2) })
	if tok2 != tok {
		t.Fatalf("the next registration got token %d, want the released %d", tok2, tok)
	}
	unix.Write(d, []byte("new"))
	if got := recv(t, h2.got); got != "new" {
		t.Fatalf("the new handler got %q", got)
	}
	select {
	case s := <-h.got:
		t.Fatalf("a forgotten handler got %q", s)
	default:
	}
}

// TestTimersFireInOrder: timers fire on the loop in time order, a cancelled one never,
// and a rescheduled one at its new time.
func TestTimersFireInOrder(t *testing.T) {
	l := newTestGroup(t, 1).Pick()
	var mu sync.Mutex
	var order []string
	done := make(chan struct{})
	mk := func(name string) *Timer {
		return &Timer{Fn: func() {
			mu.Lock()
			order = append(order, name)
			if len(order) == 3 {
				close(done)
			}
			mu.Unlock()
		}}
	}
	t1, t2, t3, t4 := mk("a"), mk("b"), mk("c"), mk("cancelled")
	onLoop(t, l, func() {
		now := l.Now()
		l.Schedule(t3, now+int64(90*time.Millisecond))
		l.Schedule(t1, now+int64(30*time.Millisecond))
		l.Schedule(t2, now+int64(500*time.Millisecond))
		l.Schedule(t4, now+int64(40*time.Millisecond))
		l.Cancel(t4)
		l.Schedule(t2, now+int64(60*time.Millisecond)) // moved earlier
	})
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("timers did not fire within 5s")
	}
	onLoop(t, l, func() {})
	mu.Lock()
	defer mu.Unlock()
	if len(order) != 3 || order[0] != "a" || order[1] != "b" || order[2] != "c" {
		t.Fatalf("fired %v, want [a b c]", order)
	}
}

// TestLaterRunsAfterNewEvents: work a handler defers with Later runs on the next turn,
// and a Later that keeps rescheduling itself does not keep the loop from other events.
func TestLaterRunsAfterNewEvents(t *testing.T) {
	l := newTestGroup(t, 1).Pick()
	a, b := socketPair(t)
	h := &pairHandler{l: l, fd: a, got: make(chan string, 16), aborted: make(chan struct{})}
	stop := make(chan struct{})
	var spin func()
	turns := 0
	spin = func() {
		turns++
		select {
		case <-stop:
		default:
			l.Later(spin)
		}
	}
	onLoop(t, l, func() {
		if _, err := l.Add(a, h); err != nil {
			t.Error(err)
		}
		l.Later(spin)
	})
	unix.Write(b, []byte("ping"))
	if got := recv(t, h.got); got != "ping" {
		t.Fatalf("got %q", got)
	}
	close(stop)
	n := 0
	onLoop(t, l, func() {})
	onLoop(t, l, func() { n = turns }) // the spin has stopped by the second turn
	if n < 2 {
		t.Fatalf("the Later function ran %d times, want it to keep running", n)
	}
}

// TestPanickingHandlerIsAborted: a handler that panics is aborted; the loop goes on
// serving the others.
func TestPanickingHandlerIsAborted(t *testing.T) {
	l := newTestGroup(t, 1).Pick()
	a, b := socketPair(t)
	c, d := socketPair(t)
	bad := &pairHandler{l: l, fd: a, got: make(chan string, 1), aborted: make(chan struct{}), panics: true}
	good := &pairHandler{l: l, fd: c, got: make(chan string, 16), aborted: make(chan struct{})}
	onLoop(t, l, func() {
		l.Add(a, bad)
		l.Add(c, good)
	})
	unix.Write(b, []byte("boom"))
	select {
	case <-bad.aborted:
	case <-time.After(5 * time.Second):
		t.Fatal("the panicking handler was not aborted")
	}
	unix.Write(d, []byte("still here"))
	if got := recv(t, good.got); got != "still here" {
		t.Fatalf("got %q", got)
	}
}

// TestCloseAbortsHandlersAndRefusesWork: closing a group aborts every registered
// handler before it returns; Submit fails afterwards.
func TestCloseAbortsHandlersAndRefusesWork(t *testing.T) {
	g, err := NewGroup(2, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var hs []*pairHandler
	for range 4 {
		l := g.Pick()
		a, _ := socketPair(t)
		h := &pairHandler{l: l, fd: a, got: make(chan string, 1), aborted: make(chan struct{})}
		hs = append(hs, h)
		onLoop(t, l, func() { l.Add(a, h) })
	}
	g.Close()
	for i, h := range hs {
		select {
		case <-h.aborted:
		default:
			t.Fatalf("handler %d not aborted by Close", i)
		}
	}
	if err := g.Pick().Submit(func() {}); err != ErrClosed {
		t.Fatalf("Submit after Close: %v, want ErrClosed", err)
	}
}
