package idlewait

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// sys is the kernel side: an epoll set in one-shot mode, itself waited on through Go's
// network poller (an epoll descriptor is readable while one of its events is ready).
type sys struct {
	fd     int // the epoll descriptor, owned by ep
	ep     *os.File
	rc     syscall.RawConn
	events []unix.EpollEvent
	out    []int // wait's result, filled by drain
	drainF func(uintptr) bool
}

// New starts a waiter. tick bounds how late a deadline is noticed; 0 means 50ms.
func New(tick time.Duration) (*Waiter, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("idlewait: epoll_create1: %w", err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("idlewait: epoll descriptor: %w", err)
	}
	ep := os.NewFile(uintptr(epfd), "idlewait-epoll")
	rc, err := ep.SyscallConn()
	if err == nil {
		// Deadlines work only on a descriptor in Go's poller: check that it is.
		err = ep.SetReadDeadline(time.Time{})
	}
	if err != nil {
		ep.Close()
		return nil, fmt.Errorf("idlewait: epoll descriptor in the runtime poller: %w", err)
	}
	if tick <= 0 {
		tick = 50 * time.Millisecond
	}
	w := &Waiter{
		p:       sys{fd: epfd, ep: ep, rc: rc, events: make([]unix.EpollEvent, 128)},
		stopped: make(chan struct{}),
		tick:    tick,
	}
	w.p.drainF = w.p.drain
	go w.loop()
	return w, nil
}

// Park parks the socket fd until bytes arrive (Ready), deadline passes
// (Expired; zero: never) or the wait is cancelled. wake is called exactly once: from the
// waiter's goroutine, or from the one that calls Cancel or Close (which may hold its own
// locks). It must not block nor take those locks (start a goroutine to serve the
// connection). A parked object implementing Wake costs no closure.
// The caller must not read from fd, nor close it without Cancel, while it is parked.
func (w *Waiter) Park(fd int, deadline time.Time, wake Waker) (*Wait, error) {
	return w.park(fd, deadline, wake)
}

func (p *sys) add(fd int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(fd)}
	err := unix.EpollCtl(p.epfd(), unix.EPOLL_CTL_ADD, fd, &ev)
	if err == unix.EEXIST { // still in the set: only a caller that broke Park's contract (defensive)
		err = unix.EpollCtl(p.epfd(), unix.EPOLL_CTL_MOD, fd, &ev)
	}
	if err != nil {
		return fmt.Errorf("idlewait: epoll_ctl: %w", err)
	}
	return nil
}

// epfd is the epoll descriptor. It stays valid until close, which runs after the loop
// and every Park have ended (Close waits for the loop; park checks closed under the lock).
// (Not ep.Fd(), which may switch a descriptor to blocking mode.)
func (p *sys) epfd() int { return p.fd }

func (p *sys) remove(fd int) {
	// Fails harmlessly when the descriptor is already closed (the kernel dropped it).
	unix.EpollCtl(p.epfd(), unix.EPOLL_CTL_DEL, fd, nil)
}

// setDeadline sets when wait returns at the latest (zero: none); it may be called while
// wait runs, and a time in the past makes it return now.
func (p *sys) setDeadline(t time.Time) { p.ep.SetReadDeadline(t) }

// wait returns the descriptors that are ready, once there is at least one; or an error
// wrapping os.ErrDeadlineExceeded when the deadline passes first.
func (p *sys) wait(out []int) ([]int, error) {
	p.out = out
	err := p.rc.Read(p.drainF)
	out, p.out = p.out, nil
	return out, err
}

// drain is wait's read callback: it collects ready events without blocking and asks the
// runtime poller to wait when there are none.
func (p *sys) drain(fd uintptr) bool {
	for {
		n, err := unix.EpollWait(int(fd), p.events, 0)
		if err == unix.EINTR {
			continue
		}
		if n <= 0 {
			return false
		}
		for _, ev := range p.events[:n] {
			p.out = append(p.out, int(ev.Fd))
		}
		return true
	}
}

func (p *sys) close() { p.ep.Close() }
