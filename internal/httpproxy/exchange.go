package httpproxy

import (
	"errors"
	"io"
	"net"
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
	noL7Retry  bool // http-request disable-l7-retry: only connection failures are retried
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
	content := rs.fe != nil && len(rs.fe.TCPRules.Content) > 0
	if content {
		ex.startTxn(cc)
		ex.msg.Request(req, ex.in)
		if !cc.contentRules(rs.fe.TCPRules.Content) {
			cc.endStream(0, 0, 0)
			return false
		}
	}
	rs.r.Stats.Request(now)
	if svc := rs.r.Service; svc != nil && svc.Match(req.Target.Of(ex.in)) {
		return cc.handOff(svc)
	}
	feWork := rs.feRequestWork()
	started := content || rs.needTxn || feWork || rs.fe != nil && len(rs.fe.Rules.AfterResponse) > 0
	if started && !content {
		ex.startTxn(cc)
		ex.msg.Request(req, ex.in)
	}
	cc.startStream()
	defer cc.endStream(0, 0, 0) // a request the proxy answered: stop its trackers
	if feWork {
		if rs.fe.MonitorURI != "" {
			if done, keep := cc.monitor(); done {
				return keep
			}
		}
		if done, keep := cc.requestRules(&rs.fe.Rules, nil, tarpitOf(&rs.fe.Timeouts)); done {
			return keep
		}
	}
	if rs.rules != nil {
		x.pool = cc.choosePool()
	}
	if x.pool == nil {
		return cc.replyError(503, nil, req.KeepAlive() && rs.feMode != config.HTTPClose && req.Framing == http1.FrameNone, req.Len)
	}
	x.be = x.pool.Cfg
	be := x.be
	beWork := (len(be.Rules.Request) > 0 || len(be.Rules.Redirect) > 0) && !rs.ownBackend(be)
	beContent := len(be.TCPRules.Content) > 0 // nil for a listen section's own half
	if !started && (beWork || beContent || rs.hasResponseRules(be) || len(be.StickRules) > 0) {
		ex.startTxn(cc) // response rules read variables and the transaction too
		ex.msg.Request(req, ex.in)
	}
	if beContent && !cc.contentRules(be.TCPRules.Content) {
		return false // the backend's tcp-request content reject: closed without an answer
	}
	if beWork {
		if done, keep := cc.requestRules(&be.Rules, be, tarpitOf(&be.Timeouts)); done {
			return keep
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
	if len(be.StickRules) > 0 {
		if s := persist.Match(be.StickRules, rs.r.Tables, x.pool, &ex.txn, &ex.stick, time.Now()); s != nil && x.srv == nil {
			switch err := x.pool.AcquireServer(h.ctx, s); {
			case err == nil:
				x.srv = s
			case errors.Is(err, backend.ErrQueueTimeout):
				return cc.replyError(503, be, x.clientKeep && req.Framing == http1.FrameNone, req.Len)
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
			cc.linger = true
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
			err = cc.sendBody(x, remaining, req.Has(http1.FExpect100))
			next = -1 // known only once the body transfer ends (then at the start of in)
		}
		if err == nil {
			err = cc.readResponseHead(x)
		} else if err == errServerWrite && cc.body == nil {
			// the server stopped reading the body: it may have answered early (413, 401...)
			if cc.readResponseHead(x) == nil {
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
		nc, err := dialServer(h.ctx, x.srv, be.Timeouts.Connect)
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

// bodyJob carries a request body transfer running beside the response, so that the
// server's 100 Continue or its early final answer (401, 413 on a large upload) is
// relayed at once, as HAProxy does, while the client still sends.
type bodyJob struct {
	done     chan error
	sc       net.Conn
	readAll  atomic.Bool // the whole body was read from the client
	cut      atomic.Bool // waitBody wants the transfer to stop
	waitHead atomic.Bool // readResponseHead waits for the server (sendBody may wake it)
	expect   bool        // Expect: 100-continue: the client may hold the body back
	sent     int64       // bytes sent to the server, once done
	finished bool
	err      error
}

// sendBody starts streaming the rest of the request body to the server in a second
// goroutine (see bodyJob). A failure of the client's side (timeout, close, bad chunk)
// wakes readResponseHead, which reports it.
func (cc *clientConn) sendBody(x *xfer, remaining int64, expect bool) error {
	cc.ex.inLen = 0
	sc := x.sc.nc
	job := &bodyJob{done: make(chan error, 1), sc: sc, expect: expect}
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
		job.sent, err = cc.copyRequestBody(sc, cc.ex.req.Framing, remaining, x.tServer, &job.readAll, &job.cut)
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
// a body that the server answered early goes on to the server until it ends (its
// timeouts bound it), and the connection may then stay open; only an Expect body,
// which the client may never send, is cut.
func (cc *clientConn) finishBody() bool {
	return cc.endBody(cc.body != nil && cc.body.expect)
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
	if !ok && job.err != errClientGone && job.err != errClientTimeout {
		cc.linger = true // the client may still be sending: see lingerClose
	}
	return ok
}

// expectPending reports whether an Expect body transfer still waits for client bytes.
func (cc *clientConn) expectPending() bool {
	return cc.body != nil && cc.body.expect && cc.body.pending() && !cc.body.readAll.Load()
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
