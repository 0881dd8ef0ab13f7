package httpproxy

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"tandem/internal/persist"
	"time"
	"unsafe"

	"tandem/internal/backend"
	"tandem/internal/balance"
	"tandem/internal/config"
	"tandem/internal/http1"
	"tandem/internal/logging"
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
	// how the exchange ended, for the log (logrec.go): the termination state (%ts) where
	// the failure was seen, zero when it ended well; own when the proxy answered
	// instead of the server's response; badReq when the request turned out invalid before
	// it went anywhere (logged as HAProxy's <BADREQ>)
	term   [2]byte
	own    bool
	badReq bool
	// the request body already in the buffer: where it ends (consumed), whether it is
	// whole and what is left to read
	consumed  int
	bodyDone  bool
	remaining int64
	// where the server connection goes (a server without a port or at 0.0.0.0: filled in
	// from where the client connected)
	dst       netip.AddrPort
	noL7Retry bool // http-request disable-l7-retry: only connection failures are retried
}

// exchange serves the request whose head is parsed in cc.ex. It reports whether the
// client connection stays open for another request.
func (cc *clientConn) exchange() bool {
	ex, rs, h := cc.ex, cc.rs, cc.h
	req := &ex.req
	x := &ex.x
	*x = xfer{pool: rs.pool}
	now := time.Now()
	// tcp-request content rules come first (HAProxy runs them before it counts an
	// HTTP request): a reject closes the connection without an answer.
	if rs.feTxn {
		ex.startTxn(cc)
		if c := rs.fe.TCPRules.Content; len(c) > 0 && !cc.contentRules(c) {
			cc.endStream(0, 0, 0)
			return false
		}
	}
	rs.r.Stats.Request(now)
	cc.startStream()
	defer cc.endStream(0, 0, 0) // a request the proxy answered: stop its trackers
	if rs.feWork {
		if rs.fe.MonitorURI != "" {
			if done, keep := cc.monitor(); done {
				return keep
			}
		}
		if done, keep := cc.requestRules(&rs.fe.Rules, nil, tarpitOf(&rs.fe.Timeouts)); done {
			return keep
		}
	}
	// The stats page (and the Prometheus path when it is the only rule) answers after the
	// frontend's http-request rules, as in HAProxy: a deny protects it.
	if svc := rs.r.Service; svc != nil && svc.Match(req.Target.Of(ex.in)) {
		return cc.handOff(svc, rs.noBackend())
	}
	if rs.rules != nil {
		x.pool = cc.choosePool()
	}
	if x.pool == nil {
		return cc.replyError(503, nil, cc.replyKeep(), req.Len)
	}
	x.be = x.pool.Cfg
	be := x.be
	beWork := (len(be.Rules.Request) > 0 || len(be.Rules.Redirect) > 0) && !rs.ownBackend(be)
	beContent := len(be.TCPRules.Content) > 0 // nil for a listen section's own half
	if !rs.feTxn && (beWork || beContent || rs.hasResponseRules(be) || len(be.StickRules) > 0) {
		ex.startTxn(cc) // response rules read variables and the transaction too
	}
	if beContent && !cc.contentRules(be.TCPRules.Content) {
		return false // the backend's tcp-request content reject: closed without an answer
	}
	if beWork {
		if done, keep := cc.requestRules(&be.Rules, be, tarpitOf(&be.Timeouts)); done {
			return keep
		}
	}
	if be.Stats != nil { // stats in a backend: its page answers the requests that reach it
		if svc := rs.r.BackendServices[be.Name]; svc != nil && svc.Match(req.Target.Of(ex.in)) {
			return cc.handOff(svc, false)
		}
	}
	x.mode = rs.feMode
	if be.ConnMode > x.mode {
		x.mode = be.ConnMode
	}
	x.tServer = be.Timeouts.Server
	x.now = now
	x.clientKeep = req.KeepAlive() && x.mode != config.HTTPClose && !req.Has(http1.FCLAndTE)
	x.tunnelReq = req.Has(http1.FConnUpgrade | http1.FUpgrade)
	if x.tunnelReq && wsKeyMissing(&req.Head, ex.in) || !cc.bufferedBody(x) {
		// a websocket upgrade without its key, or an invalid chunked body already in
		// the buffer: HAProxy refuses them as it parses the request, before a server
		// is chosen (<BADREQ>)
		rs.r.Stats.RequestError()
		x.badReq = true
		cc.sendError(400, nil)
		cc.linger = true
		return false
	}

	// Server choice: the persistence cookie first, then the balancer.
	ex.ckFound, ex.ckStrip, ex.ckDirect, ex.ckRespHit, ex.ckDown, ex.ckInserted = false, false, false, false, false, false
	if ck := be.Cookie; ck != nil && req.Has(http1.FCookie) {
		cc.analyzeCookies(ck)
		if ex.ckFound {
			if s := x.pool.ByCookie(unsafeString(ex.ckSrvVal.Of(ex.in))); s != nil {
				switch err := x.pool.AcquireServer(h.ctx, s); {
				case err == nil:
					x.srv, ex.ckDirect = s, true
				case errors.Is(err, backend.ErrQueueTimeout):
					// waited in the server's queue: as HAProxy, no redispatch
					return cc.noServer(x)
				case errors.Is(err, backend.ErrQueueFull):
					// its queue holds maxqueue requests: HAProxy breaks persistence under
					// option redispatch (counted as a redispatch, cookie flag D), else
					// answers 503 at once, a failed connection, termination state SQ
					if !be.Redispatch {
						s.ConnErr.Add(1)
						// logged as the server the valid cookie chose, as HAProxy (SQVN)
						x.srv, ex.ckDirect = s, true
						x.fail(logging.TermServerAbort, logging.StateQueue)
						return cc.noServer(x)
					}
					s.Redisp.Add(1)
					x.redisp, ex.ckDown = true, true
				}
			}
		}
	}
	if len(be.StickRules) > 0 {
		if s := persist.Match(be.StickRules, rs.r.Tables, x.pool, &ex.txn, &ex.stick, time.Now()); s != nil && x.srv == nil {
			switch err := x.pool.AcquireServer(h.ctx, s); {
			case err == nil:
				x.srv = s
			case errors.Is(err, backend.ErrQueueTimeout):
				return cc.noServer(x)
			}
		}
	}
	if x.srv == nil {
		s, err := x.pool.Acquire(h.ctx, cc.balanceRequest(x.pool))
		if err != nil {
			if errors.Is(err, backend.ErrQueueFull) { // hashed to a server whose queue is full
				x.srv = s // no slot held: logged only, as HAProxy
				x.fail(logging.TermServerAbort, logging.StateQueue)
			}
			return cc.noServer(x)
		}
		x.srv = s
	}
	cc.logStep(twOf)
	keep := cc.exchangeOn(x)
	if cc.body != nil && !cc.waitBody() {
		keep, x.serverKeep = false, false
	}
	x.pool.Release(x.srv)
	if cc.trk != nil {
		st := 0
		if ex.resp.Len > 0 {
			st = ex.resp.Status
		}
		cc.endStream(st, x.bytesIn, x.bytesOut)
	}
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

// noServer answers 503 when no server takes the request (queue full or timed out,
// none up); a request without a body was read whole, so the connection may stay open.
func (cc *clientConn) noServer(x *xfer) bool {
	req := &cc.ex.req
	return cc.replyError(503, x.be, x.clientKeep && req.Framing == http1.FrameNone, req.Len)
}

// exchangeOn runs the exchange once a server slot is held.
func (cc *clientConn) exchangeOn(x *xfer) bool {
	ex, be := cc.ex, x.be
	req := &ex.req

	bodyStart, consumed, bodyDone, remaining := req.Len, x.consumed, x.bodyDone, x.remaining

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
		x.term = [2]byte{} // a replay forgets the failure of the try before
		if !cc.connect(x, fresh, !replayable) {
			return cc.replyError(503, be, x.clientKeep && bodyDone, consumed)
		}
		cc.logStep(tcOf)
		next := consumed // where the next request starts once this one is read whole
		err := cc.send(x, headLen, bodyStart, consumed)
		if err == nil && !bodyDone {
			err = cc.sendBody(x, remaining)
			next = -1 // known only once the body transfer ends (then at the start of in)
		}
		if err == nil {
			err = cc.readResponseHead(x)
		} else if err == errServerWrite && cc.body == nil {
			// the server stopped reading the body: it may have answered early (413, 401...)
			if cc.readResponseHead(x) == nil {
				cc.logResponse()
				x.clientKeep = false
				cc.linger = !bodyDone
				ex.inLen = 0
				cc.forwardResponse(x)
				x.serverKeep = false
				return false
			}
		}
		if err == nil {
			st := ex.resp.Status
			x.srv.ObserveStatus(st)
			if replayable && x.bytesOut == 0 && !x.noL7Retry && be.RetryOn.RetryStatus(st) && cc.retry(x, true) {
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
			x.bodyFail(err, false)
			cc.sendError(408, be)
		case err == errClientGone:
			x.bodyFail(err, false)
		case err == errBadChunk:
			// the head went to the server: HAProxy answers in its response form and
			// logs a protocol error while waiting for the response
			x.fail(logging.TermProxy, logging.StateHeaders)
			cc.sendBadBody(be)
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
	if len(be.StickRules) > 0 {
		t := &cc.ex.txn
		t.resp = true
		persist.Store(be.StickRules, cc.rs.r.Tables, x.pool, x.srv, t, &cc.ex.stick, true, time.Now())
		t.resp = false
	}
	if cc.rs.hasResponseRules(be) {
		if done, keep := cc.responseRules(x); done {
			return keep
		}
	}
	cc.logResponse()
	if bodyDone {
		cc.keepPipelined(consumed)
	}
	cc.bodyAnswered()
	return cc.forwardResponse(x)
}

// bufferedBody measures the part of the request body already in the buffer and
// validates it, before anything is forwarded. It reports false for an invalid chunk.
func (cc *clientConn) bufferedBody(x *xfer) bool {
	ex := cc.ex
	req := &ex.req
	x.consumed, x.bodyDone, x.remaining = req.Len, true, 0
	switch req.Framing {
	case http1.FrameLength:
		n := int64(ex.inLen - req.Len)
		if n > req.ContentLength {
			n = req.ContentLength
		}
		x.consumed += int(n)
		x.remaining = req.ContentLength - n
		x.bodyDone = x.remaining == 0
	case http1.FrameChunked:
		ex.ck.Reset()
		n, done, err := ex.ck.Feed(ex.in[req.Len:ex.inLen])
		if err != nil {
			return false
		}
		x.consumed += n
		x.bodyDone = done
	}
	return true
}

// keepPipelined moves bytes after the request (a pipelined next request) to the start of in.
func (cc *clientConn) keepPipelined(from int) {
	ex := cc.ex
	n := copy(ex.in, ex.in[from:ex.inLen])
	ex.inLen = n
}

// setDst sets x.dst, where a connection to x.srv goes, and returns the idle-pool key of
// that address: the server's own, or for a server without a port or at 0.0.0.0
// (HAProxy's "same as the client") the address the client connected to filled in.
func (cc *clientConn) setDst(x *xfer) string {
	x.dst = x.srv.Cfg.Addr
	if !x.srv.FollowsClient() {
		return x.srv.Addr
	}
	x.dst = x.srv.Dst(cc.dst)
	return x.dst.String()
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
	key := cc.setDst(x)
	if !fresh {
		if sc := cc.sc; sc != nil {
			cc.sc = nil
			switch {
			case sc.addr != key:
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
			sc := h.idle.get(key, now)
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
		key = cc.setDst(x)                                       // a retry may have moved to another server
		nc, err := h.dial(cc, x.srv, x.dst, be.Timeouts.Connect) // tlsdial.go
		if err == nil {
			x.now = time.Now() // dialling took time: the server timeout starts now
			x.sc = &serverConn{nc: nc, addr: key, private: x.srv.Cfg.SendProxy != 0}
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

// bodyJob carries a request body transfer running beside the response, so that the
// server's 100 Continue or its early final answer (401, 413 on a large upload) is
// relayed at once, as HAProxy does, while the client still sends.
//
// Timeouts, as HAProxy 2.6 applies them (checked with Debian's haproxy): while the
// response is awaited, timeout client does not apply to the body; timeout server does,
// counted from the last body bytes the server took (readResponseHead's 504). Once the
// final response head came (answered), timeout client applies to the rest of the body
// again, counted from then.
type bodyJob struct {
	done     chan error
	sc       net.Conn
	readAll  atomic.Bool // the whole body was read from the client
	cut      atomic.Bool // waitBody wants the transfer to stop
	waitHead atomic.Bool // readResponseHead waits for the server (sendBody may wake it)
	answered atomic.Bool // the final response head came: timeout client applies again
	sent     int64       // bytes sent to the server, once done
	// the server's write failed on its timeout (not closed): set before done is sent
	srvTimeout bool
	finished   bool
	err        error
}

// sendBody starts streaming the rest of the request body to the server in a second
// goroutine (see bodyJob). A failure of the client's side (timeout, close, bad chunk)
// wakes readResponseHead, which reports it.
func (cc *clientConn) sendBody(x *xfer, remaining int64) error {
	cc.ex.inLen = 0
	sc := x.sc.nc
	job := &bodyJob{done: make(chan error, 1), sc: sc}
	cc.body = job
	go func() {
		err := errClientGone
		defer func() {
			if v := recover(); v != nil {
				cc.h.log.Error("http request body panic", "panic", v)
				sc.Close()
			}
			job.done <- err
			if err != nil && err != errServerWrite && !job.cut.Load() && job.waitHead.Load() {
				sc.SetReadDeadline(aLongTimeAgo) // wake a wait for the response head
			}
		}()
		job.sent, err = cc.copyRequestBody(job, cc.ex.req.Framing, remaining, x.tServer)
	}()
	return nil
}

// bodyFailure returns the error of a body transfer that ended in failure on the
// client's side, or nil.
func (cc *clientConn) bodyFailure() error {
	if job := cc.body; job != nil && !job.pending() {
		switch job.err {
		case errClientGone, errClientTimeout, errBadChunk:
			return job.err
		}
	}
	return nil
}

// waitBody waits for the body transfer; if it is still running, the client side is
// cut so that it ends. It reports whether the body was fully sent.
func (cc *clientConn) waitBody() bool {
	return cc.endBody(true)
}

// finishBody ends the body transfer once the response was relayed whole. As HAProxy,
// the rest of a body that the server answered early (an early 401 or 413, a final answer
// to Expect: 100-continue) still goes to the server until it ends, bounded by timeout
// client and timeout server; the client connection may then stay open, the body read
// whole so that nothing of it is taken for a next request.
func (cc *clientConn) finishBody() bool {
	return cc.endBody(false)
}

// bodyAnswered tells a body transfer still running that the final response head came:
// its client reads get timeout client again, counted from now.
func (cc *clientConn) bodyAnswered() {
	job := cc.body
	if job == nil || !job.pending() {
		return
	}
	// Flag first, deadline second: copyRequestBody checks the flag again after it arms
	// its own deadline, so the deadline that stays is timeout client's.
	job.answered.Store(true)
	if !job.cut.Load() {
		cc.nc.SetReadDeadline(deadline(time.Now(), cc.rs.tClient))
	}
}

func (cc *clientConn) endBody(cut bool) bool {
	job := cc.body
	if job == nil {
		return true
	}
	cc.body = nil
	ok := false
	switch {
	case !job.pending():
		ok = job.err == nil
	case job.readAll.Load() || !cut: // only the last write is left, or let it end
		job.err, job.finished = <-job.done, true
		ok = job.err == nil
	default:
		// Flag first, deadlines second: the transfer re-arms its deadlines each round
		// and checks the flag after that, so one of the two always stops it.
		job.cut.Store(true)
		cc.nc.SetReadDeadline(aLongTimeAgo)
		job.sc.SetWriteDeadline(aLongTimeAgo) // the server may have stopped reading
		job.err = <-job.done
		cc.linger = true // the client may still be sending: see lingerClose
	}
	cc.ex.x.bytesIn += job.sent
	if !ok && !job.cut.Load() {
		cc.ex.x.bodyFail(job.err, job.srvTimeout)
	}
	if !ok && job.err != errClientGone && job.err != errClientTimeout {
		cc.linger = true // the client may still be sending: see lingerClose
	}
	return ok
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

// copyRequestBody streams body bytes from the client to the server, validating chunks.
// When job.cut is set (by waitBody, from another goroutine) it stops.
func (cc *clientConn) copyRequestBody(job *bodyJob, fr http1.Framing, remaining int64, tServer time.Duration) (int64, error) {
	ex, tc, w := cc.ex, cc.rs.tClient, job.sc
	var sent int64
	for {
		cc.armBodyRead(job, tc)
		if job.cut.Load() { // after the deadline: see waitBody
			return sent, errClientGone
		}
		n, err := cc.nc.Read(ex.in)
		if n == 0 {
			if errors.Is(err, os.ErrDeadlineExceeded) && !job.cut.Load() {
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
		if done {
			job.readAll.Store(true) // before the last write: the server can answer only after it
		}
		w.SetWriteDeadline(deadline(time.Now(), tServer))
		if job.cut.Load() {
			return sent, errClientGone
		}
		if _, err := w.Write(ex.in[:fwd]); err != nil {
			job.srvTimeout = errors.Is(err, os.ErrDeadlineExceeded) && !job.cut.Load()
			return sent, errServerWrite
		}
		if !job.answered.Load() {
			// the server took bytes: its timeout for the response starts again, as
			// HAProxy's server-side inactivity does
			w.SetReadDeadline(deadline(time.Now(), tServer))
		}
		sent += int64(fwd)
		if done {
			ex.inLen = copy(ex.in, ex.in[fwd:n])
			return sent, nil
		}
	}
}

// armBodyRead sets the deadline of the next client read of a body transfer: none while
// the response is awaited, timeout client once it came (see bodyJob).
func (cc *clientConn) armBodyRead(job *bodyJob, tc time.Duration) {
	for range 2 {
		answered := job.answered.Load()
		var dl time.Time
		if answered {
			dl = deadline(time.Now(), tc)
		}
		cc.nc.SetReadDeadline(dl)
		// bodyAnswered may have set its deadline before ours: then the flag is up now
		// and the second round sets timeout client's
		if answered || !job.answered.Load() {
			return
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
	if job := cc.body; job != nil {
		// sendBody wakes the read below when the client fails first, or it failed
		// before the flag was up: then bodyFailure sees it here.
		job.waitHead.Store(true)
		defer job.waitHead.Store(false)
		if err := cc.bodyFailure(); err != nil {
			return err
		}
	}
	for {
		if ex.sinLen > 0 {
			end := http1.EndOfHead(ex.sin[:ex.sinLen])
			if end < 0 && ex.sinLen == len(ex.sin) {
				x.fail(logging.TermProxy, logging.StateHeaders) // head too large
				return errServerRead
			}
			if end > 0 {
				var err error
				if x.be.AcceptInvalidResponse {
					err = ex.resp.ParseLax(ex.sin[:end])
				} else {
					err = ex.resp.Parse(ex.sin[:end])
				}
				if err != nil {
					x.fail(logging.TermProxy, logging.StateHeaders)
					return errServerRead
				}
				if s := ex.resp.Status; s < 200 && s != 101 {
					if ex.req.Minor > 0 { // never to an HTTP/1.0 client (RFC 9110 §15.2)
						cc.setWriteDeadline(time.Now())
						if _, err := cc.nc.Write(ex.sin[:end]); err != nil {
							x.clientWriteFail(err, logging.StateHeaders)
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
			if berr := cc.bodyFailure(); berr != nil {
				return berr // the client failed first (sendBody woke this read)
			}
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
