package reactor

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	wakeSlot   = 0        // the eventfd's registration
	maxEvents  = 256      // events taken per epoll_wait
	bufferSize = 32 << 10 // the loop's shared read buffer
	// Registration: edge-triggered, both ways and peer hang-up, once per descriptor,
	// so that a busy connection costs no epoll_ctl per message.
	yieldEvery = 8 // busy turns between two runtime.Gosched
	edgeAll    = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET
)

// Group is a set of loops sharing the work: one per CPU Go may use.
type Group struct {
	loops []*Loop
	next  atomic.Uint32
}

// NewGroup starts n loops (n ≤ 0: one per GOMAXPROCS).
func NewGroup(n int, log *slog.Logger) (*Group, error) {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	g := &Group{}
	for range n {
		l, err := newLoop(log)
		if err != nil {
			g.Close()
			return nil, err
		}
		g.loops = append(g.loops, l)
	}
	return g, nil
}

// Pick returns the next loop, round robin.
func (g *Group) Pick() *Loop {
	return g.loops[int(g.next.Add(1)-1)%len(g.loops)]
}

// Close stops every loop: their handlers are aborted, on their goroutines, before it
// returns.
func (g *Group) Close() {
	for _, l := range g.loops {
		l.close()
	}
}

// Loop is one event loop. Its methods other than Submit run on the loop's goroutine
// only: from a Handler, a Timer or a submitted function.
type Loop struct {
	log  *slog.Logger
	epfd int
	file *os.File // epfd, watched by Go's poller
	rc   syscall.RawConn
	wake int // eventfd: Submit's doorbell

	mu     sync.Mutex
	tasks  []func()
	closed bool
	rung   atomic.Bool // the doorbell rang and the loop has not taken the tasks yet

	events     []unix.EpollEvent
	slots      []Handler // by Token; nil: free
	free       []Token
	freeing    []Token // released during a batch: reusable once it is over
	timers     timers
	armed      int64 // the deadline set on file; 0: none
	now        int64
	later      []func()
	spareLater []func()
	buf        []byte
	spare      [][]byte
	stopped    chan struct{}
}

func newLoop(log *slog.Logger) (*Loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("reactor: epoll_create1: %w", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("reactor: epoll descriptor non-blocking: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("reactor: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: wakeSlot}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, fmt.Errorf("reactor: epoll_ctl eventfd: %w", err)
	}
	// A non-blocking descriptor given to os.NewFile is watched by Go's poller.
	f := os.NewFile(uintptr(epfd), "reactor-epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		unix.Close(wake)
		return nil, fmt.Errorf("reactor: %w", err)
	}
	l := &Loop{
		log: log, epfd: epfd, file: f, rc: rc, wake: wake,
		events:  make([]unix.EpollEvent, maxEvents),
		slots:   []Handler{nil}, // slot 0 is the doorbell
		buf:     make([]byte, bufferSize),
		now:     time.Now().UnixNano(),
		stopped: make(chan struct{}),
	}
	go l.run()
	return l, nil
}

// Submit runs fn on the loop's goroutine, after the events at hand. Safe from any
// goroutine. It returns ErrClosed, and fn does not run, once the loop is closing.
func (l *Loop) Submit(fn func()) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.tasks = append(l.tasks, fn)
	l.mu.Unlock()
	if !l.rung.Swap(true) {
		l.ring()
	}
	return nil
}

func (l *Loop) ring() {
	one := [8]byte{1}
	unix.Write(l.wake, one[:]) // EAGAIN only when the counter is full: it is rung already
}

// Now returns the loop's clock (unix nanoseconds), read once per batch of events.
func (l *Loop) Now() int64 { return l.now }

// Buffer is the loop's scratch buffer: valid until the handler returns.
func (l *Loop) Buffer() []byte { return l.buf }

// TakeBuffer returns a buffer of the loop's buffer size for bytes that must wait (a
// full socket); GiveBuffer returns it.
func (l *Loop) TakeBuffer() []byte {
	if n := len(l.spare); n > 0 {
		b := l.spare[n-1]
		l.spare = l.spare[:n-1]
		return b
	}
	return make([]byte, bufferSize)
}

// GiveBuffer takes back a buffer from TakeBuffer. A few are kept for reuse.
func (l *Loop) GiveBuffer(b []byte) {
	if cap(b) == bufferSize && len(l.spare) < 64 {
		l.spare = append(l.spare, b[:bufferSize])
	}
}

// Add registers fd for h, edge-triggered for reading, writing and peer hang-up. If fd
// is ready already, an event follows.
func (l *Loop) Add(fd int, h Handler) (Token, error) {
	var t Token
	if n := len(l.free); n > 0 {
		t = l.free[n-1]
		l.free = l.free[:n-1]
		l.slots[t] = h
	} else {
		t = Token(len(l.slots))
		l.slots = append(l.slots, h)
	}
	ev := unix.EpollEvent{Events: edgeAll, Fd: int32(t)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.slots[t] = nil
		l.free = append(l.free, t)
		return 0, fmt.Errorf("reactor: epoll_ctl add: %w", err)
	}
	return t, nil
}

// Forget releases t for a descriptor the caller closes now: closing the last
// descriptor of a socket takes it out of the epoll set, with no system call of ours.
// (Should a copy of the descriptor survive somewhere, its stray events reach whichever
// handler has the token next, as a spurious wake-up: handlers read until EAGAIN.)
func (l *Loop) Forget(t Token) {
	if int(t) < len(l.slots) && l.slots[t] != nil {
		l.slots[t] = nil
		l.freeing = append(l.freeing, t)
	}
}

// Schedule makes t fire at when (unix nanoseconds); it moves t if scheduled already.
func (l *Loop) Schedule(t *Timer, when int64) { l.timers.schedule(t, when) }

// Cancel unschedules t.
func (l *Loop) Cancel(t *Timer) { l.timers.cancel(t) }

// Later runs fn after the current batch of events, before the loop waits again: a
// handler that stopped early to let others run continues there.
func (l *Loop) Later(fn func()) { l.later = append(l.later, fn) }

// pollNow is epoll_wait with a zero timeout: it returns at once, so it skips the
// runtime's bookkeeping for calls that may block (which also wakes the runtime's
// monitor thread more often).
func pollNow(epfd int, events []unix.EpollEvent) int {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(unsafe.SliceData(events))), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0
	}
	return int(n)
}

// run is the loop: wait, dispatch, tasks, timers; until close.
func (l *Loop) run() {
	defer close(l.stopped)
	busy := 0
	for {
		// A loop with events at every turn never parks; let the program's other
		// goroutines (HTTP connections, checks) have the CPU between turns.
		if busy++; busy == yieldEvery {
			busy = 0
			runtime.Gosched()
		}
		n := 0
		err := l.rc.Read(func(fd uintptr) bool {
			n = pollNow(int(fd), l.events)
			if n > 0 || len(l.later) > 0 {
				return true
			}
			busy = 0 // the loop parks: others run meanwhile
			return false
		})
		l.now = time.Now().UnixNano()
		switch {
		case err == nil, errors.Is(err, os.ErrDeadlineExceeded):
		default: // the epoll file is closed: close did it
			l.shutdown()
			return
		}
		l.dispatch(n)
		if l.runTasks() {
			l.shutdown()
			return
		}
		l.runLater()
		l.fireTimers()
		l.arm()
	}
}

func (l *Loop) dispatch(n int) {
	for i := range n {
		ev := &l.events[i]
		t := Token(ev.Fd)
		if t == wakeSlot {
			var b [8]byte
			unix.Read(l.wake, b[:])
			continue
		}
		if int(t) < len(l.slots) {
			if h := l.slots[t]; h != nil {
				l.event(h, ev.Events)
			}
		}
	}
	l.free = append(l.free, l.freeing...)
	l.freeing = l.freeing[:0]
}

// event calls h; a panic is logged and ends what h serves, not the loop.
func (l *Loop) event(h Handler, ev uint32) {
	defer func() {
		if p := recover(); p != nil {
			l.log.Error("reactor handler panicked", "panic", p)
			l.abort(h)
		}
	}()
	h.Event(ev)
}

func (l *Loop) abort(h Handler) {
	defer func() {
		if p := recover(); p != nil {
			l.log.Error("reactor handler panicked while aborting", "panic", p)
		}
	}()
	h.Abort()
}

// runTasks runs what Submit queued; it reports whether the loop is closing.
func (l *Loop) runTasks() bool {
	if !l.rung.Load() {
		return false
	}
	l.rung.Store(false) // before taking the tasks: a later Submit rings again
	l.mu.Lock()
	tasks, closed := l.tasks, l.closed
	l.tasks = nil
	l.mu.Unlock()
	for i, fn := range tasks {
		l.call(fn)
		tasks[i] = nil
	}
	return closed
}

// runLater runs the functions Later queued before this call; those they queue wait
// for the next turn, after the loop has collected new events.
func (l *Loop) runLater() {
	fns := l.later
	l.later = l.spareLater[:0]
	for i, fn := range fns {
		l.call(fn)
		fns[i] = nil
	}
	l.spareLater = fns[:0]
}

func (l *Loop) fireTimers() {
	for t := l.timers.due(l.now); t != nil; t = l.timers.due(l.now) {
		l.call(t.Fn)
	}
}

func (l *Loop) call(fn func()) {
	defer func() {
		if p := recover(); p != nil {
			l.log.Error("reactor task panicked", "panic", p)
		}
	}()
	fn()
}

// arm sets the epoll file's read deadline to the first timer, so that the wait ends
// for it. A deadline earlier than needed only costs an empty turn of the loop.
func (l *Loop) arm() {
	next, ok := l.timers.next()
	switch {
	case !ok && l.armed != 0:
		l.armed = 0
		l.file.SetReadDeadline(time.Time{})
	case ok && (l.armed == 0 || next < l.armed || l.armed <= l.now):
		l.armed = next
		l.file.SetReadDeadline(time.Unix(0, next))
	}
}

// close asks the loop to stop and waits until it has.
func (l *Loop) close() {
	l.mu.Lock()
	already := l.closed
	l.closed = true
	l.mu.Unlock()
	if !already {
		l.rung.Store(true)
		l.ring()
	}
	<-l.stopped
}

// shutdown aborts every handler and releases the loop's descriptors.
func (l *Loop) shutdown() {
	l.mu.Lock()
	l.closed = true
	tasks := l.tasks
	l.tasks = nil
	l.mu.Unlock()
	for _, fn := range tasks { // submitted before close: they may start sessions to abort
		l.call(fn)
	}
	for _, h := range l.slots {
		if h != nil {
			l.abort(h)
		}
	}
	l.file.Close()
	unix.Close(l.wake)
}
