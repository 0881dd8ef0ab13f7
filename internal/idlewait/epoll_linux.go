package idlewait

import (
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// sys is the kernel side: an epoll set in one-shot mode.
type sys struct {
	epfd   int
	events []unix.EpollEvent
}

// New starts a waiter. tick bounds how late a deadline is noticed; 0 means 50ms.
func New(tick time.Duration) (*Waiter, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("idlewait: epoll_create1: %w", err)
	}
	if tick <= 0 {
		tick = 50 * time.Millisecond
	}
	w := &Waiter{
		p:       sys{epfd: epfd, events: make([]unix.EpollEvent, 128)},
		waits:   map[int]*Wait{},
		kick:    make(chan struct{}, 1),
		stopped: make(chan struct{}),
		tick:    tick,
	}
	go w.loop()
	return w, nil
}

// Park parks the connection behind rc until bytes arrive (Ready), deadline passes
// (Expired; zero: never) or the wait is cancelled. wake is called exactly once, from the
// waiter's goroutine: it must not block (start a goroutine to serve the connection).
// The caller must not read from the connection, nor close it without Cancel, while
// it is parked.
func (w *Waiter) Park(rc syscall.RawConn, deadline time.Time, wake func(Reason)) (*Wait, error) {
	var fd int
	if err := rc.Control(func(s uintptr) { fd = int(s) }); err != nil {
		return nil, err
	}
	return w.park(fd, deadline, wake)
}

func (p *sys) add(fd int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(fd)}
	err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev)
	if err == unix.EEXIST { // left armed-off by a one-shot that fired: re-arm
		err = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, &ev)
	}
	if err != nil {
		return fmt.Errorf("idlewait: epoll_ctl: %w", err)
	}
	return nil
}

func (p *sys) remove(fd int) {
	// Fails harmlessly when the descriptor is already closed (the kernel dropped it).
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
}

// wait returns the descriptors that became readable within tick.
func (p *sys) wait(out []int, tick time.Duration) []int {
	n, err := unix.EpollWait(p.epfd, p.events, int(tick/time.Millisecond))
	if err != nil {
		return out // EINTR: the loop comes back
	}
	for _, ev := range p.events[:n] {
		out = append(out, int(ev.Fd))
	}
	return out
}

func (p *sys) close() { unix.Close(p.epfd) }
