package tcpproxy

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"tandem/internal/backend"
	"tandem/internal/logging"
	"tandem/internal/reactor"
)

// maxReads bounds the reads one direction makes per turn, so that a bulk transfer
// shares the loop with the other sessions.
const maxReads = 8

// rsession is a TCP session served by a reactor loop. All its fields belong to the
// loop's goroutine.
type rsession struct {
	loop     *reactor.Loop
	h        *Handler
	sess     *session // the handler's record of it
	att      *attempts
	lg       *sessionLog
	cli, srv end
	up, down flow          // up: client → server
	last     int64         // loop time of the last byte either way
	timer    reactor.Timer // timeout connect, then the inactivity timeouts

	// Setting up: a goroutine owns the session while dialing (before the loop has it,
	// and between a failed connect and the next); the loop, from startConnect on.
	dialing      bool // a goroutine is choosing a server or starting a connect
	abortPending bool // abort came while dialing: finish once the loop has it back
	connecting   bool // the server socket is registered, its connect not finished

	closed   bool
	finished func(in, out int64)   // called once, when both sockets are closed
	stored   func(*backend.Server) // stick store rules, once the server is connected (nil: none)
	giveUp   func()                // no server could be connected: the client is closed
}

// end is one socket of a session; the loop calls it with its events.
type end struct {
	s       *rsession
	fd      int
	tok     reactor.Token
	added   bool
	in, out *flow // the flow reading from this socket, and the one writing to it
}

func (e *end) Event(ev uint32) { e.s.event(e, ev) }
func (e *end) Abort()          { e.s.abort() }

// flow is one direction of a session.
type flow struct {
	src, dst  *end
	peer      *flow
	idle, fin time.Duration // inactivity limits while the peer flow runs, and after
	pend      []byte        // bytes read but not yet written (dst was full)
	off       int
	ready     bool // src may hold bytes: edge-triggered, no event comes until drained
	drain     bool // src saw a hang-up: read until EOF, short reads or not
	eof       bool // src ended and dst was shut for writing
	n         int64
	again     func() // pump(f), allocated once
}

// init sets up a session for the client socket cfd; the server socket comes with dial.
func (s *rsession) init(cfd int, l Limits) {
	s.cli = end{s: s, fd: cfd, in: &s.up, out: &s.down}
	s.srv = end{s: s, fd: -1, in: &s.down, out: &s.up}
	s.up = flow{src: &s.cli, dst: &s.srv, peer: &s.down, idle: l.Client, fin: l.ClientFin}
	s.down = flow{src: &s.srv, dst: &s.cli, peer: &s.up, idle: l.Server, fin: l.ServerFin}
	s.up.again = func() { s.pump(&s.up) }
	s.down.again = func() { s.pump(&s.down) }
	s.timer.Fn = s.expire
}

func (s *rsession) event(e *end, ev uint32) {
	if s.closed {
		return
	}
	if s.connecting {
		if e == &s.srv {
			s.connectEvent(ev)
		}
		return
	}
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		e.in.ready = true
		if ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			e.in.drain = true
		}
	}
	if e.out.pend != nil && ev&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		s.pump(e.out)
	}
	if e.in.ready {
		s.pump(e.in)
	}
}

// pump moves bytes along f until src has none, dst is full, or f has had its turn.
func (s *rsession) pump(f *flow) {
	if s.closed || f.eof {
		return
	}
	if f.pend != nil && !s.flush(f) {
		return
	}
	buf := s.loop.Buffer()
	for i := 0; f.ready; i++ {
		if i == maxReads {
			s.loop.Later(f.again)
			return
		}
		n, err := sysRead(f.src.fd, buf)
		switch {
		case n > 0:
			s.last = s.loop.Now()
			f.n += int64(n)
			w, werr := sysWrite(f.dst.fd, buf[:n])
			if werr != nil && werr != unix.EAGAIN {
				s.lg.fail(s.abortOf(f.dst))
				s.finish()
				return
			}
			if w < n {
				f.pend = append(s.loop.TakeBuffer()[:0], buf[w:n]...)
				f.off = 0
				return // dst's EPOLLOUT resumes the flow
			}
			if n < len(buf) && !f.drain {
				f.ready = false // a short read from a stream socket: drained
			}
		case err == nil: // EOF
			s.endFlow(f)
			return
		case err == unix.EAGAIN:
			f.ready = false
		case err == unix.EINTR:
		default:
			s.lg.fail(s.abortOf(f.src))
			s.finish()
			return
		}
	}
}

// abortOf is the termination cause of a failure on e's socket: C for the client's,
// S for the server's.
func (s *rsession) abortOf(e *end) byte {
	if e == &s.cli {
		return logging.TermClientAbort
	}
	return logging.TermServerAbort
}

// flush writes f's pending bytes; it reports whether they are all gone.
func (s *rsession) flush(f *flow) bool {
	for f.off < len(f.pend) {
		w, err := sysWrite(f.dst.fd, f.pend[f.off:])
		switch {
		case err == unix.EAGAIN:
			return false
		case err == unix.EINTR:
			continue
		case err != nil:
			s.lg.fail(s.abortOf(f.dst))
			s.finish()
			return false
		}
		f.off += w
		s.last = s.loop.Now()
	}
	s.loop.GiveBuffer(f.pend)
	f.pend, f.off = nil, 0
	return true
}

// endFlow passes src's EOF on as a half-close of dst; the session ends once both flows
// have.
func (s *rsession) endFlow(f *flow) {
	f.eof, f.ready = true, false
	if f.peer.eof {
		s.finish()
		return
	}
	if unix.Shutdown(f.dst.fd, unix.SHUT_WR) != nil {
		s.finish()
		return
	}
	s.arm() // the other flow may now run on its fin timeout
}

// limit is f's inactivity limit now (0: none).
func (f *flow) limit() time.Duration {
	if f.peer.eof && f.fin > 0 {
		return f.fin
	}
	return f.idle
}

// due is when the session times out if nothing moves (0: never): the last byte either
// way plus the shortest limit of the flows still running.
func (s *rsession) due() int64 {
	var l time.Duration
	for _, f := range []*flow{&s.up, &s.down} {
		if d := f.limit(); !f.eof && d > 0 && (l == 0 || d < l) {
			l = d
		}
	}
	if l == 0 {
		return 0
	}
	return s.last + int64(l)
}

// arm schedules the timer for due, or earlier. Activity does not move the timer (that
// would cost a heap update per message): a timer that fires early re-arms (expire).
func (s *rsession) arm() {
	d := s.due()
	switch {
	case d == 0:
		s.loop.Cancel(&s.timer)
	case !s.timer.Scheduled() || d < s.timer.When():
		s.loop.Schedule(&s.timer, d)
	}
}

func (s *rsession) expire() {
	if s.closed {
		return
	}
	if s.connecting {
		s.connectFailed(unix.ETIMEDOUT)
		return
	}
	d := s.due()
	switch {
	case d == 0:
	case d > s.loop.Now():
		s.loop.Schedule(&s.timer, d)
	default:
		s.lg.fail(s.timeoutCause())
		s.finish() // idle too long
	}
}

// timeoutCause is the termination cause of an inactivity timeout: the side whose
// timeout is the shorter one that runs (timeout client: c, timeout server: s).
func (s *rsession) timeoutCause() byte {
	up, down := s.up.limit(), s.down.limit()
	switch {
	case s.up.eof || up <= 0:
		return logging.TermServerTimeout
	case s.down.eof || down <= 0 || up <= down:
		return logging.TermClientTimeout
	}
	return logging.TermServerTimeout
}

// abort ends the session from outside (shutdown-sessions, stop, the loop closing).
func (s *rsession) abort() {
	switch {
	case s.closed:
	case s.dialing:
		s.abortPending = true
	default:
		s.finish()
	}
}

// finish closes both sockets and reports the session's bytes.
func (s *rsession) finish() {
	if s.closed {
		return
	}
	s.closed = true
	s.loop.Cancel(&s.timer)
	for _, e := range []*end{&s.cli, &s.srv} {
		if e.added {
			s.loop.Forget(e.tok) // closed just below
		}
		if e.fd >= 0 {
			unix.Close(e.fd)
		}
	}
	for _, f := range []*flow{&s.up, &s.down} {
		if f.pend != nil {
			s.loop.GiveBuffer(f.pend)
			f.pend = nil
		}
	}
	s.finished(s.up.n, s.down.n)
}

// sysRead and sysWrite are read(2) and send(2) on non-blocking sockets: they return
// at once, so they skip the runtime's bookkeeping for calls that may block. send has
// MSG_NOSIGNAL: a peer gone away is an EPIPE error, not a signal.
func sysRead(fd int, p []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func sysWrite(fd int, p []byte) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), unix.MSG_NOSIGNAL, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
