package httpproxy

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"tandem/internal/backend"
	"tandem/internal/balance"
	"tandem/internal/config"
	"tandem/internal/http1"
)

// Failures of a body transfer, telling which side failed.
var (
	errClientGone    = errors.New("client closed during the body")
	errClientTimeout = errors.New("client timed out during the body")
	errBadChunk      = errors.New("invalid chunked body")
	errServerWrite   = errors.New("server write failed")
	errServerRead    = errors.New("server read failed")
	errServerTimeout = errors.New("server timed out")
	errClientWrite   = errors.New("client write failed")
	errRetry         = errors.New("reused server connection closed: replay")
)

// xfer is the state of one exchange that the steps share.
type xfer struct {
	pool       *backend.Pool
	be         *config.Backend
	srv        *backend.Server
	sc         *serverConn
	mode       config.HTTPConnMode
	clientKeep bool
	serverKeep bool
	tunnelReq  bool
	tServer    time.Duration
	now        time.Time // when the exchange started (connect, first write)
	bytesIn    int64
	bytesOut   int64
	retries    int  // retries used (connect and retry-on share the budget; the log's %rc)
	redisp     bool // redispatched to another server (%rc's "+")
}

// exchange serves the request whose head is parsed in cc.ex. It reports whether the
// client connection stays open for another request.
func (cc *clientConn) exchange() bool {
	ex, rs, h := cc.ex, cc.rs, cc.h
	req := &ex.req
	x := &ex.x
	*x = xfer{pool: rs.pool}
	now := time.Now()
	rs.r.Stats.Request(now)
	if svc := rs.r.Service; svc != nil && svc.Match(req.Target.Of(ex.in)) {
		return cc.handOff(svc)
	}
	if x.pool == nil {
		return cc.replyError(503, nil, req.KeepAlive() && rs.feMode != config.HTTPClose && req.Framing == http1.FrameNone, req.Len)
	}
	x.be = x.pool.Cfg
	be := x.be
	x.mode = rs.feMode
	if be.ConnMode > x.mode {
		x.mode = be.ConnMode
	}
	x.tServer = be.Timeouts.Server
	x.now = now
	x.clientKeep = req.KeepAlive() && x.mode != config.HTTPClose && !req.Has(http1.FCLAndTE)
	x.tunnelReq = req.Has(http1.FConnUpgrade | http1.FUpgrade)

	// Server choice: the persistence cookie first, then the balancer.
	ex.ckFound, ex.ckStrip, ex.ckDirect, ex.ckRespHit = false, false, false, false
	if ck := be.Cookie; ck != nil && req.Has(http1.FCookie) {
		cc.analyzeCookies(ck)
		if ex.ckFound {
			if s := x.pool.ByCookie(unsafeString(ex.ckSrvVal.Of(ex.in))); s != nil {
				switch err := x.pool.AcquireServer(h.ctx, s); {
				case err == nil:
					x.srv, ex.ckDirect = s, true
				case errors.Is(err, backend.ErrQueueTimeout):
					// waited in the server's queue: as HAProxy, no redispatch
					return cc.replyError(503, be, x.clientKeep && req.Framing == http1.FrameNone, req.Len)
				}
			}
		}
	}
	if x.srv == nil {
		s, err := x.pool.Acquire(h.ctx, cc.balanceRequest(x.pool))
		if err != nil {
			return cc.replyError(503, be, x.clientKeep && req.Framing == http1.FrameNone, req.Len)
		}
		x.srv = s
	}
	cc.logStep(twOf)
	keep := cc.exchangeOn(x)
	if cc.body != nil && !cc.waitBody() {
		keep, x.serverKeep = false, false
	}
	x.pool.Release(x.srv)
	x.srv.BytesIn.Add(uint64(x.bytesIn))
	x.srv.BytesOut.Add(uint64(x.bytesOut))
	rs.r.Stats.Bytes(x.bytesIn, x.bytesOut)
	if sc := x.sc; sc != nil {
		switch {
		case !x.serverKeep || h.draining.Load():
			sc.nc.Close()
		case keep:
			sc.uses++
			cc.sc = sc
		default:
			sc.uses++
			h.idle.put(sc, time.Now())
		}
	}
	return keep
}

// exchangeOn runs the exchange once a server slot is held.
func (cc *clientConn) exchangeOn(x *xfer) bool {
	ex, be := cc.ex, x.be
	req := &ex.req

	// What of the body is already here, validated before anything is forwarded.
	bodyStart := req.Len
	consumed, bodyDone := bodyStart, true
	var remaining int64
	switch req.Framing {
	case http1.FrameLength:
		n := int64(ex.inLen - bodyStart)
		if n > req.ContentLength {
			n = req.ContentLength
		}
		consumed += int(n)
		remaining = req.ContentLength - n
		bodyDone = remaining == 0
	case http1.FrameChunked:
		ex.ck.Reset()
		n, done, err := ex.ck.Feed(ex.in[bodyStart:ex.inLen])
		if err != nil {
			cc.sendError(400, be)
			return false
		}
		consumed += n
		bodyDone = done
	}

	ex.out = cc.rewriteRequest(ex.out[:0], x)
	headLen := len(ex.out)
	if len(ex.out)+consumed-bodyStart <= cap(ex.out) {
		ex.out = append(ex.out, ex.in[bodyStart:consumed]...)
	}

	// Connect (retries, redispatch), send, and read the response head; a reused
	// connection that turns out closed is replayed once on a new one.
	replayable := bodyDone
	fresh := false
	for {
		if !cc.connect(x, fresh, !replayable) {
			return cc.replyError(503, be, x.clientKeep && bodyDone, consumed)
		}
		cc.logStep(tcOf)
		next := consumed // where the next request starts once this one is read whole
		err := cc.send(x, headLen, bodyStart, consumed)
		if err == nil && !bodyDone {
			expect := req.Has(http1.FExpect100)
			err = cc.sendBody(x, remaining, expect)
			next = 0 // the body copy leaves pipelined bytes at the start of in
			if expect {
				next = -1 // known only once the body transfer ends
			}
		}
		if err == nil {
			err = cc.readResponseHead(x)
		} else if err == errServerWrite && cc.body == nil {
			// the server stopped reading the body: it may have answered early (413, 401...)
			if cc.readResponseHead(x) == nil {
				x.clientKeep = false
				ex.inLen = 0
				cc.forwardResponse(x)
				x.serverKeep = false
				return false
			}
		}
		if err == nil {
			st := ex.resp.Status
			x.srv.ObserveStatus(st)
			if replayable && x.bytesOut == 0 && be.RetryOn.RetryStatus(st) && cc.retry(x, true) {
				x.sc.nc.Close() // retry-on <status>: replay elsewhere or again
				x.sc, fresh = nil, true
				continue
			}
			break
		}
		x.sc.nc.Close()
		x.sc = nil
		if err != errRetry {
			cc.h.log.Debug("http exchange failed", "backend", be.Name, "server", x.srv.Cfg.Name, "client", cc.client, "err", err)
		}
		switch {
		case err == errRetry && replayable && !fresh:
			fresh = true
			continue
		case replayable && x.bytesOut == 0 && cc.body == nil && cc.retryOnError(x, err):
			fresh = true
			continue
		case err == errClientTimeout:
			cc.sendError(408, be)
		case err == errClientGone:
		case err == errBadChunk:
			cc.sendError(400, be)
		case err == errServerTimeout || err == errServerRead:
			x.srv.RespErr.Add(1)
			code := 502
			if err == errServerTimeout {
				code = 504
			}
			if next == -1 { // Expect: the body must have been read whole
				if cc.waitBody() {
					next = 0
				}
			}
			return cc.replyError(code, be, x.clientKeep && next >= 0, next)
		default:
			x.srv.RespErr.Add(1)
			cc.sendError(502, be)
		}
		cc.waitBody()
		return false
	}
	cc.logResponse()
	if bodyDone {
		cc.keepPipelined(consumed)
	}
	return cc.forwardResponse(x)
}

// keepPipelined moves bytes after the request (a pipelined next request) to the start of in.
func (cc *clientConn) keepPipelined(from int) {
	ex := cc.ex
	n := copy(ex.in, ex.in[from:ex.inLen])
	ex.inLen = n
}

// connect gets a server connection: the attached one, a parked one (never for a client
// connection's first request: http-reuse safe), or a new one, retrying failed connects
// `retries` times and moving to another server on the last retry with option redispatch.
//
// A request that cannot be replayed (its body streams) first checks that a kept
// connection was not closed by the server while idle.
func (cc *clientConn) connect(x *xfer, fresh, probe bool) bool {
	h, be := cc.h, x.be
	now := x.now
	if !fresh {
		if sc := cc.sc; sc != nil {
			cc.sc = nil
			switch {
			case sc.addr != x.srv.Addr:
				h.idle.put(sc, now)
			case !probe || sc.alive():
				x.sc = sc
				cc.scCur.Store(sc)
				return true
			default:
				sc.nc.Close()
			}
		}
		for i := 0; cc.nreq > 0 && i < 4; i++ {
			sc := h.idle.get(x.srv.Addr, now)
			if sc == nil {
				break
			}
			if !probe || sc.alive() {
				x.sc = sc
				cc.scCur.Store(sc)
				return true
			}
			sc.nc.Close()
		}
	}
	for {
		nc, err := h.dial(x.srv, be.Timeouts.Connect) // tlsdial.go
		if err == nil {
			x.now = time.Now() // dialling took time: the server timeout starts now
			x.sc = &serverConn{nc: nc, addr: x.srv.Addr}
			cc.scCur.Store(x.sc)
			if h.closed.Load() { // Close ran while we dialled: it may not have seen sc
				nc.Close()
			}
			return true
		}
		x.srv.ConnErr.Add(1)
		x.srv.ObserveConnError()
		if !cc.retry(x, be.RetryOn.Has(config.RetryConnFailure)) {
			return false
		}
	}
}

// send writes the rewritten head and the buffered body bytes.
func (cc *clientConn) send(x *xfer, headLen, bodyStart, consumed int) error {
	ex := cc.ex
	nc := x.sc.nc
	reused := x.sc.uses > 0
	nc.SetDeadline(deadline(x.now, x.tServer))
	if _, err := nc.Write(ex.out); err != nil {
		if reused {
			return errRetry
		}
		return errServerWrite
	}
	x.bytesIn += int64(len(ex.out))
	if len(ex.out) == headLen && consumed > bodyStart {
		if _, err := nc.Write(ex.in[bodyStart:consumed]); err != nil {
			return errServerWrite
		}
		x.bytesIn += int64(consumed - bodyStart)
	}
	return nil
}

// bodyJob carries an Expect: 100-continue body transfer running beside the response.
type bodyJob struct {
	done     chan error
	sc       net.Conn
	readAll  atomic.Bool // the whole body was read from the client
	cut      atomic.Bool // waitBody wants the transfer to stop
	finished bool
	err      error
}

// sendBody streams the rest of the request body to the server. With Expect:
// 100-continue it runs in a second goroutine, so that the server's 100 (or its early
// final answer) is relayed while the client waits for it.
func (cc *clientConn) sendBody(x *xfer, remaining int64, expect bool) error {
	cc.ex.inLen = 0
	if !expect {
		n, err := cc.copyRequestBody(x.sc.nc, cc.ex.req.Framing, remaining, x.tServer, nil, nil)
		x.bytesIn += n
		return err
	}
	sc := x.sc.nc
	job := &bodyJob{done: make(chan error, 1), sc: sc}
	cc.body = job
	srv := x.srv
	go func() {
		err := errClientGone
		defer func() {
			if v := recover(); v != nil {
				cc.h.log.Error("http request body panic", "panic", v)
				sc.Close()
			}
			job.done <- err
		}()
		var n int64
		n, err = cc.copyRequestBody(sc, cc.ex.req.Framing, remaining, x.tServer, &job.readAll, &job.cut)
		srv.BytesIn.Add(uint64(n))
	}()
	return nil
}

// waitBody waits for an Expect body transfer; if it is still running, the client side
// is cut so that it ends. It reports whether the body was fully sent.
func (cc *clientConn) waitBody() bool {
	job := cc.body
	if job == nil {
		return true
	}
	cc.body = nil
	if !job.pending() {
		return job.err == nil
	}
	if job.readAll.Load() { // only the last write is left: let it end
		return <-job.done == nil
	}
	// Flag first, deadlines second: the transfer re-arms its deadlines each round and
	// checks the flag after that, so one of the two always stops it.
	job.cut.Store(true)
	cc.nc.SetReadDeadline(aLongTimeAgo)
	job.sc.SetWriteDeadline(aLongTimeAgo) // the server may have stopped reading
	<-job.done
	return false
}

// bodyPending reports whether an Expect body transfer still waits for client bytes.
func (cc *clientConn) bodyPending() bool {
	return cc.body != nil && cc.body.pending() && !cc.body.readAll.Load()
}

func (j *bodyJob) pending() bool {
	if j.finished {
		return false
	}
	select {
	case j.err = <-j.done:
		j.finished = true
		return false
	default:
		return true
	}
}

// copyRequestBody streams body bytes from the client to w, validating chunks. When cut
// is set (by waitBody, from another goroutine) it stops.
func (cc *clientConn) copyRequestBody(w net.Conn, fr http1.Framing, remaining int64, tServer time.Duration, readAll, cut *atomic.Bool) (int64, error) {
	ex, tc := cc.ex, cc.rs.tClient
	var sent int64
	for {
		cc.nc.SetReadDeadline(deadline(time.Now(), tc))
		if cut != nil && cut.Load() { // after the deadline: see waitBody
			return sent, errClientGone
		}
		n, err := cc.nc.Read(ex.in)
		if n == 0 {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return sent, errClientTimeout
			}
			return sent, errClientGone
		}
		fwd, done := n, false
		switch fr {
		case http1.FrameLength:
			if int64(n) >= remaining {
				fwd, done = int(remaining), true
			}
			remaining -= int64(fwd)
		case http1.FrameChunked:
			var cerr error
			fwd, done, cerr = ex.ck.Feed(ex.in[:n])
			if cerr != nil {
				return sent, errBadChunk
			}
		}
		if done && readAll != nil {
			readAll.Store(true) // before the last write: the server can answer only after it
		}
		w.SetWriteDeadline(deadline(time.Now(), tServer))
		if cut != nil && cut.Load() {
			return sent, errClientGone
		}
		if _, err := w.Write(ex.in[:fwd]); err != nil {
			return sent, errServerWrite
		}
		sent += int64(fwd)
		if done {
			ex.inLen = copy(ex.in, ex.in[fwd:n])
			return sent, nil
		}
	}
}

// readResponseHead reads the server's response head into sin, relaying 1xx interim
// responses (except 101) to the client.
func (cc *clientConn) readResponseHead(x *xfer) error {
	ex := cc.ex
	nc := x.sc.nc
	reused := x.sc.uses > 0
	ex.sinLen = 0
	total := 0
	for {
		if ex.sinLen > 0 {
			end := http1.EndOfHead(ex.sin[:ex.sinLen])
			if end < 0 && ex.sinLen == len(ex.sin) {
				return errServerRead
			}
			if end > 0 {
				if err := ex.resp.Parse(ex.sin[:end]); err != nil {
					return errServerRead
				}
				if s := ex.resp.Status; s < 200 && s != 101 {
					if ex.req.Minor > 0 { // never to an HTTP/1.0 client (RFC 9110 §15.2)
						cc.setWriteDeadline(time.Now())
						if _, err := cc.nc.Write(ex.sin[:end]); err != nil {
							return errClientWrite
						}
						x.bytesOut += int64(end)
					}
					ex.sinLen = copy(ex.sin, ex.sin[end:ex.sinLen])
					continue
				}
				return nil
			}
		}
		n, err := nc.Read(ex.sin[ex.sinLen:])
		if n == 0 {
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
				return errServerTimeout
			case reused && total == 0 && cc.body == nil && (err == nil || isReset(err)):
				return errRetry
			}
			return errServerRead
		}
		total += n
		ex.sinLen += n
	}
}

func isReset(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// balanceRequest fills the balancer's view of the request with only what the pool needs.
func (cc *clientConn) balanceRequest(p *backend.Pool) *balance.Request {
	ex := cc.ex
	br := &ex.breq
	*br = balance.Request{}
	client, uri, hdr := p.Needs()
	if client {
		br.Client = cc.client
	}
	if uri {
		br.URI = unsafeString(ex.req.Target.Of(ex.in))
	}
	if hdr != "" {
		br.Header = ex.hdrFn
	}
	return br
}

// unsafeString views b as a string without copying; b must not change while it is used.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
