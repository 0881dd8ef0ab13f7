package tcpproxy

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"tandem/internal/logging"
)

const (
	bufSize = 16 << 10
	// An idle direction waits in a read into a small buffer of its own; a read that fills
	// it means a burst, and the direction takes a pooled bufSize buffer until a short read
	// says the burst is over. Idle sessions thus hold 2×smallSize, not 2×bufSize.
	smallSize = 512
	// After this many reads that fill the whole buffer in a row, a direction is a bulk
	// transfer and switches to splice (zero copy), which only pays for large transfers.
	bulkReads   = 4
	spliceChunk = 1 << 20
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// activity is the last time either direction moved bytes, shared by both, so that a
// one-way transfer does not time out the quiet direction.
type activity struct{ last atomic.Int64 }

func (a *activity) touch(now time.Time)             { a.last.Store(now.UnixNano()) }
func (a *activity) idleFor() time.Duration          { return time.Since(time.Unix(0, a.last.Load())) }
func (a *activity) expired(idle time.Duration) bool { return idle > 0 && a.idleFor() >= idle }

// direction is one way of a session.
type direction struct {
	src, dst net.Conn
	idle     time.Duration // inactivity limit while the other side is open
	fin      time.Duration // inactivity limit once the other side has half-closed (0: idle)
	act      *activity
	peerDone *atomic.Bool // the opposite direction has finished
	n        int64
	rdl      time.Time // read deadline set on src; refreshed lazily (armRead)
	// termination causes (for the log) of a failure reading src, writing dst and of an
	// inactivity timeout, stored in failed by the first direction that fails
	srcSide, dstSide, timeout byte
	failed                    *atomic.Uint32
}

// fail records cause as the session's, unless a failure came first. A socket closed
// here (the other direction's failure, a stop, shutdown-sessions) is no failure of a side.
func (d *direction) fail(cause byte, err error) {
	if d.failed != nil && !errors.Is(err, net.ErrClosed) {
		d.failed.CompareAndSwap(0, uint32(cause))
	}
}

// armRead keeps a read deadline of the current limit on src. Setting a deadline costs a
// runtime timer update, so it is refreshed only once half the limit has passed: a
// deadline that fires early finds recent activity and is re-armed (see run), so the
// limit still holds, counted from the last byte either way.
func (d *direction) armRead(now time.Time) {
	l := d.limit()
	if l <= 0 {
		if !d.rdl.IsZero() {
			d.rdl = time.Time{}
			d.src.SetReadDeadline(d.rdl)
		}
		return
	}
	if d.rdl.IsZero() || d.rdl.Sub(now) < l/2 || d.rdl.Sub(now) > l {
		d.rdl = now.Add(l)
		d.src.SetReadDeadline(d.rdl)
	}
}

// Pipe copies client→server and server→client until both are done, half-close aware:
// a side's EOF is passed on as a half-close and the other direction goes on, bounded by
// the fin timeout. Activity either way keeps both directions alive. It returns the bytes
// moved each way, and how the session failed, as the cause of HAProxy's termination
// state (C/S: a side closed with an error or reset, c/s: a side silent past its timeout;
// 0: it ended well). The first failure counts: the other direction then fails because
// the first closed the sockets. The HTTP path uses it for tunnels (websockets).
func Pipe(client, server net.Conn, l Limits) (in, out int64, cause byte) {
	act := &activity{}
	act.touch(time.Now())
	var upDone, downDone atomic.Bool
	var failed atomic.Uint32
	up := &direction{src: client, dst: server, idle: l.Client, fin: l.ClientFin, act: act, peerDone: &downDone,
		srcSide: logging.TermClientAbort, dstSide: logging.TermServerAbort, timeout: logging.TermClientTimeout, failed: &failed}
	down := &direction{src: server, dst: client, idle: l.Server, fin: l.ServerFin, act: act, peerDone: &upDone,
		srcSide: logging.TermServerAbort, dstSide: logging.TermClientAbort, timeout: logging.TermServerTimeout, failed: &failed}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		finish(up, up.run(), &upDone)
	}()
	finish(down, down.run(), &downDone)
	wg.Wait()
	return up.n, down.n, byte(failed.Load())
}

// finish half-closes the destination on a clean end, or tears both conns down on an error.
func finish(d *direction, err error, done *atomic.Bool) {
	done.Store(true)
	if err == nil {
		if cw, ok := d.dst.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
			// The peer direction may be parked on a long deadline; nudge it to re-arm
			// with its fin timeout.
			d.dst.SetReadDeadline(time.Now())
			return
		}
	}
	d.src.Close()
	d.dst.Close()
}

func (d *direction) limit() time.Duration {
	if d.peerDone.Load() && d.fin > 0 {
		return d.fin
	}
	return d.idle
}

// run copies until src ends (nil) or fails.
func (d *direction) run() error {
	var small [smallSize]byte
	var bp *[]byte // pooled big buffer, held only during a burst
	defer func() {
		if bp != nil {
			bufPool.Put(bp)
		}
	}()
	full := 0
	for {
		if full >= bulkReads {
			if err := d.splice(); err != errNoSplice {
				return err
			}
			full = 0
		}
		buf := small[:]
		if bp != nil {
			buf = *bp
		}
		now := time.Now()
		d.armRead(now)
		n, err := d.src.Read(buf)
		if n > 0 {
			d.act.touch(now)
			if _, werr := d.dst.Write(buf[:n]); werr != nil {
				d.fail(d.dstSide, werr)
				return werr
			}
			d.n += int64(n)
			switch {
			case n < len(buf) && bp != nil: // the burst is over: give the big buffer back
				bufPool.Put(bp)
				bp, full = nil, 0
			case n < len(buf):
				full = 0
			case bp == nil: // the small buffer filled: a burst starts
				bp = bufPool.Get().(*[]byte)
			default:
				full++
			}
		}
		if err != nil {
			if err == io.EOF {
				return nil
			}
			if errors.Is(err, os.ErrDeadlineExceeded) && !d.act.expired(d.limit()) {
				d.rdl = time.Time{} // re-arm from now
				continue            // the other direction was busy, or a fin nudge
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				d.fail(d.timeout, nil)
				return errIdle
			}
			d.fail(d.srcSide, err)
			return err
		}
	}
}

var errNoSplice = errors.New("splice not possible")

// spliced counts switches to the splice path (tests read it).
var spliced atomic.Int64

// splice moves bulk data with the kernel's zero-copy path (net.TCPConn.ReadFrom splices
// from a TCP source), chunk by chunk so deadlines and activity stay current. It returns
// errNoSplice to fall back to copying when the connections are not both TCP, or when the
// transfer stopped being bulk.
func (d *direction) splice() error {
	spliced.Add(1)
	dst, ok := d.dst.(*net.TCPConn)
	if !ok {
		return errNoSplice
	}
	if _, ok := d.src.(*net.TCPConn); !ok {
		return errNoSplice
	}
	for {
		d.armRead(time.Now())
		lr := &io.LimitedReader{R: d.src, N: spliceChunk}
		n, err := dst.ReadFrom(lr)
		d.n += n
		if n > 0 {
			d.act.touch(time.Now())
		}
		switch {
		case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
			if d.act.expired(d.limit()) {
				d.fail(d.timeout, nil)
				return errIdle
			}
			d.rdl = time.Time{}
			return errNoSplice
		case err != nil:
			d.fail(d.srcSide, err) // ReadFrom does not tell which side failed: the source's, mostly
			return err
		case lr.N > 0:
			return nil // source reached EOF
		}
	}
}
