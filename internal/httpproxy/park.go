package httpproxy

import (
	"errors"
	"os"
	"time"

	"tandem/internal/idlewait"
)

// errParked tells serve that the connection was parked: its goroutine ends, a wake
// starts another.
var errParked = errors.New("parked")

// waitIdle waits up to d (the keep-alive or http-request timeout) for the first bytes of
// the next request. With Handler.Idle set, it waits h.parkAfter in this goroutine, then
// parks the connection for the rest of d and reports parked: the goroutine must end.
func (cc *clientConn) waitIdle(d time.Duration) (n int, err error, parked bool) {
	switch why := cc.woke; why {
	case idlewait.Expired:
		cc.woke, cc.idleUntil = 0, 0
		return 0, os.ErrDeadlineExceeded, false
	case idlewait.Cancelled:
		cc.woke, cc.idleUntil = 0, 0
		return 0, errEOF, false
	case idlewait.Ready:
		cc.woke = 0 // bytes are there: read them below
	}
	now := time.Now()
	until := deadline(now, d)
	if cc.idleUntil != 0 { // the wait began before a park
		until = time.Unix(0, cc.idleUntil)
	}
	canPark := cc.h.Idle != nil && cc.rc != nil && cc.ex == nil && (until.IsZero() || until.Sub(now) > cc.h.parkAfter)
	wait := until
	if canPark {
		wait = now.Add(cc.h.parkAfter)
	}
	cc.nc.SetReadDeadline(wait)
	cc.idle.Store(true)
	n, err = cc.read()
	cc.idle.Store(false)
	if err == nil || !canPark || !errors.Is(err, os.ErrDeadlineExceeded) || cc.h.draining.Load() {
		cc.idleUntil = 0
		return n, err, false
	}
	if cc.park(until) {
		return 0, nil, true
	}
	// Could not park (the waiter is closed): wait the rest here.
	cc.nc.SetReadDeadline(until)
	cc.idle.Store(true)
	n, err = cc.read()
	cc.idle.Store(false)
	cc.idleUntil = 0
	return n, err, false
}

// park hands the idle connection to Handler.Idle until bytes arrive or until passes. Its
// kept server connection goes to the idle pool meanwhile (later requests may take any),
// and its write deadline is cleared (no runtime timer stays behind for it).
func (cc *clientConn) park(until time.Time) bool {
	h := cc.h
	cc.detachServer()
	if !cc.wdl.IsZero() {
		cc.wdl = time.Time{}
		cc.nc.SetWriteDeadline(time.Time{})
	}
	cc.idleUntil = 0
	if !until.IsZero() {
		cc.idleUntil = until.UnixNano()
	}
	w, err := h.Idle.ParkWaker(cc.rc, until, cc.conn)
	if err != nil {
		cc.idleUntil = 0
		return false
	}
	cc.parked.Store(w)
	if h.draining.Load() { // Drain may have looked before the store above
		w.Cancel()
	}
	return true
}

// Wake is the waiter's callback (idlewait.Waker): serve the connection again in a new
// goroutine.
func (c *conn) Wake(why idlewait.Reason) {
	c.parked.Store(nil)
	go c.run(why)
}
