package httpproxy

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"

	"tandem/internal/idlewait"
)

// serverHold is how long an idle keep-alive connection keeps the server connection of
// its last exchange (for its next request, if it goes to the same server) before giving
// it to the idle pool, where any request may take it. Giving it back at once cost about
// 1 µs per request to a single server; keeping it until the park (parkAfter) held a
// server socket per connection in the window (+250–450 B per idle connection in the
// bench's burst of 5,000).
const serverHold = 5 * time.Millisecond

// errParked tells serve that the connection was parked: its goroutine ends, a wake
// starts another.
var errParked = errors.New("parked")

// waitIdle waits up to d (the keep-alive or http-request timeout) for the first bytes of
// the next request. With Handler.Idle set, it waits h.parkAfter in this goroutine, then
// parks the connection for the rest of d and reports parked: the goroutine must end.
func (cc *clientConn) waitIdle(d time.Duration) (n int, err error, parked bool) {
	switch why := cc.woke; why {
	case idlewait.Expired:
		cc.woke, cc.until = 0, time.Time{}
		return 0, os.ErrDeadlineExceeded, false
	case idlewait.Cancelled:
		cc.woke, cc.until = 0, time.Time{}
		return 0, errEOF, false
	case idlewait.Ready:
		cc.woke = 0 // bytes are there: read them below
	}
	now := time.Now()
	until := deadline(now, d)
	if !cc.until.IsZero() { // the wait began before a park
		until = cc.until
	}
	canPark := cc.h.Idle != nil && cc.rc != nil && cc.ex == nil && (until.IsZero() || until.Sub(now) > cc.h.parkAfter) &&
		!(cc.nreq == 0 && cc.h.draining.Load()) // a drain closes parked connections
	wait := until
	hold := false // first wait serverHold with the server connection, then without
	if canPark {
		wait = now.Add(cc.h.parkAfter)
		if hold = cc.sc != nil && cc.h.parkAfter > serverHold; hold {
			wait = now.Add(serverHold)
		}
	}
	cc.nc.SetReadDeadline(wait)
	cc.idle.Store(cc.nreq > 0)
	n, err = cc.read()
	cc.idle.Store(false)
	if hold && err != nil && errors.Is(err, os.ErrDeadlineExceeded) && !cc.h.draining.Load() {
		cc.detachServer()
		cc.nc.SetReadDeadline(now.Add(cc.h.parkAfter))
		cc.idle.Store(cc.nreq > 0)
		n, err = cc.read()
		cc.idle.Store(false)
	}
	if err == nil || !canPark || !errors.Is(err, os.ErrDeadlineExceeded) || cc.h.draining.Load() {
		cc.until = time.Time{}
		return n, err, false
	}
	if parked, err := cc.park(until); parked || err != nil {
		cc.until = time.Time{}
		return 0, err, parked
	}
	// Could not park (the waiter is closed): wait the rest here.
	cc.nc.SetReadDeadline(until)
	cc.idle.Store(cc.nreq > 0)
	n, err = cc.read()
	cc.idle.Store(false)
	cc.until = time.Time{}
	return n, err, false
}

// park hands the idle connection to Handler.Idle until bytes arrive or until passes.
// Its kept server connection goes to the idle pool meanwhile (later requests may take
// any), and it gives up its Go socket object (see detach_linux.go): a duplicate of the
// descriptor waits. err is set when the connection was lost on the way.
func (cc *clientConn) park(until time.Time) (parked bool, err error) {
	h := cc.h
	cc.detachServer()
	fd, err := dupSocket(cc.rc)
	if err != nil {
		return false, nil // wait in this goroutine
	}
	cc.setConn(nil)
	w, err := h.Idle.Park(fd, until, cc.conn)
	if err != nil { // the waiter is closed: serve on in this goroutine
		nc, err := attachSocket(fd)
		if err != nil {
			return false, err
		}
		cc.setConn(nc)
		return false, nil
	}
	cc.parked.Store(w)
	if h.draining.Load() { // Drain may have looked before the store above
		w.Cancel()
	}
	return true, nil
}

// setConn replaces the connection's socket object, closing the old one (nil: none, while
// parked). Close, Drain and ShutdownServer read it under h.mu.
func (cc *clientConn) setConn(nc net.Conn) {
	h := cc.h
	h.mu.Lock()
	old := cc.conn.nc
	cc.conn.nc = nc
	h.mu.Unlock()
	if old != nil && old != nc {
		old.Close()
	}
	cc.rc, cc.wdl = nil, time.Time{}
	if sc, ok := nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			cc.rc = rc
		}
	}
}

// Wake is the waiter's callback (idlewait.Waker): serve the connection again in a new
// goroutine.
func (c *conn) Wake(x *idlewait.Wait, why idlewait.Reason) {
	c.parked.Store(nil)
	go c.resume(why, x.FD(), x.Deadline())
}

// resume serves c again once its park ended (why), its descriptor fd made a socket
// object again; until is when its idle wait ends.
func (c *conn) resume(why idlewait.Reason, fd int, until time.Time) {
	h := c.h
	if why == idlewait.Cancelled || why == idlewait.Expired && c.nreq > 0 {
		// A stop, or the keep-alive timeout: the connection closes silently, so no
		// socket object, goroutine state or read is needed (only a first request's
		// timeout answers 408).
		closeSocket(fd)
		c.end()
		return
	}
	nc, err := attachSocket(fd)
	h.mu.Lock()
	if err == nil && h.closed.Load() { // Close ran: it did not see this socket
		nc.Close()
		err = net.ErrClosed
	}
	if err == nil {
		c.nc = nc
	}
	h.mu.Unlock()
	if err != nil {
		h.log.Debug("http connection not resumed", "err", err)
		c.end()
		return
	}
	c.run(why, until)
}
