package httpproxy

import (
	"tandem/internal/persist"
	"tandem/internal/track"

	"errors"
	"math"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"tandem/internal/idlewait"
	"tandem/internal/proxystats"
	"time"

	"tandem/internal/balance"
	"tandem/internal/http1"
	"tandem/internal/logging"
	"tandem/internal/rules"
	"tandem/internal/sample"
)

// exchange is the memory of one request/response exchange, pooled while the client
// connection is idle.
type exchange struct {
	pool   *sync.Pool
	in     []byte // client bytes: the request head, then body bytes, then pipelined requests
	inLen  int
	out    []byte // rewritten heads
	sin    []byte // server bytes
	req    http1.Request
	resp   http1.Response
	ck     http1.Chunked // request body
	rck    http1.Chunked // response body
	sinLen int
	breq   balance.Request
	x      xfer
	hdrFn  func(string) (string, bool)
	// cookie analysis of the current request
	ckSrvVal   http1.Span // the server id found in the persistence cookie
	ckFound    bool
	ckStrip    bool // the request's Cookie headers need rewriting
	ckDirect   bool // the request went to the server its cookie named
	ckDown     bool // the cookie's server could not take it: redispatched (log flag D)
	ckInserted bool // tandem inserted the persistence cookie in the response
	ckRespHit  bool // the response carried the persistence cookie
	// maxidle/maxlife: the dates the persistence cookie carried (Unix seconds, 0: none)
	ckFirst   int64
	ckRefresh bool // the cookie is valid but its dates must be (re)set in the response
	// log record of the current request, nil until logging needs one
	rec *logging.Record
	// the sample language's view of the exchange (rules.go), and a dynamic backend name
	txn     ruleTxn
	nameBuf []byte
	msg     rules.Msg       // the head the HTTP actions edit (actions.go)
	gen     []byte          // a proxy-made response edited by http-after-response rules
	stick   persist.Pending // keys of stick store rules, stored once the server answers
}

func newExchange(size int, p *sync.Pool) *exchange {
	ex := &exchange{pool: p, in: make([]byte, size), out: make([]byte, 0, size), sin: make([]byte, size)}
	ex.hdrFn = ex.header
	return ex
}

// header serves balance.Request.Header: the first value of a request header. The string
// aliases the buffer; the balancer must not keep it.
func (ex *exchange) header(name string) (string, bool) {
	v, ok := ex.req.Get(ex.in, name)
	if !ok {
		return "", false
	}
	return unsafeString(v), true
}

// conn is what a client connection keeps for its whole life. While it is parked
// (Handler.Idle) it is all that is left besides the socket's descriptor: the request
// loop's state, clientConn, goes back to a pool, and the socket object is closed (nc is
// nil), so keep this small (80 B: TestParkedStateSize).
type conn struct {
	h      *Handler
	nc     net.Conn                      // nil while parked; written under h.mu
	fs     *proxystats.Frontend          // the frontend's counters when the connection opened
	scCur  atomic.Pointer[serverConn]    // for Close and ShutdownServer
	parked atomic.Pointer[idlewait.Wait] // the park in progress, for Drain and Close
	lt     *connLog                      // log timings, nil until the frontend logs
	sess   *sample.State                 // sess. variables, nil until a rule sets one
	nreq   int32                         // requests served, saturating (only 0 or not matters)
	idle   atomic.Bool                   // waiting in its goroutine for a request after its first: Drain closes it
	trk    *track.Session                // stick counters tracked (track.go), nil: none
}

// connLog is what the traffic log needs across a connection's requests.
type connLog struct {
	accepted, lastEnd time.Time
}

// clientConn is a client connection's request loop: the goroutine's state, pooled
// (Handler.ccPool) while the connection is parked.
type clientConn struct {
	*conn
	rs     *routeState     // route of the current exchange
	woke   idlewait.Reason // why the park before this goroutine ended, until waitIdle sees it
	until  time.Time       // end of the idle wait that park interrupted
	rc     syscall.RawConn // nil when nc is not a socket
	readFn func(uintptr) bool
	client netip.Addr
	src    netip.AddrPort // the client's address and port (sample fetches src, src_port)
	dst    netip.AddrPort // the address the connection came to (dst, dst_port)
	ex     *exchange      // nil while idle
	sc     *serverConn
	body   *bodyJob // an Expect: 100-continue body in flight
	rn     int
	rerr   error
	tiny   [1]byte
	wdl    time.Time // write deadline last set on nc
	linger bool      // the client may still be sending: finish closes with lingerClose
	// the TLS facts of the connection (ssl_fc…), read on first use (TLSFacts)
	tls     *sample.TLSFacts
	tlsRead bool
	// log timings (set only when the frontend logs)
	logFirst, logMark time.Time
}

func newConn(h *Handler, c net.Conn) *conn {
	cn := &conn{h: h, nc: c}
	if rs := h.route.Load(); rs.r.Log != nil {
		cn.lt = &connLog{accepted: time.Now()}
		cc := &clientConn{conn: cn}
		cc.setAddrs()
		cc.logConnect(rs)
	}
	return cn
}

// logTimes returns the connection's log timings, made on first use (the log was
// turned on by a reload after the connection opened: it counts from now).
func (c *conn) logTimes() *connLog {
	if c.lt == nil {
		now := time.Now()
		c.lt = &connLog{accepted: now, lastEnd: now}
	}
	return c.lt
}

// clientConn takes a request loop state for c from the pool.
func (c *conn) clientConn() *clientConn {
	cc := c.h.ccPool.Get().(*clientConn)
	c.h.ccOut.Add(1)
	cc.conn = c
	cc.setAddrs()
	if sc, ok := c.nc.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			cc.rc = rc
		}
	}
	return cc
}

// setAddrs reads the connection's addresses once, for the balancer, the sample
// fetches and the log.
func (cc *clientConn) setAddrs() {
	cc.src, cc.dst = addrsOf(cc.nc)
	cc.client = cc.src.Addr().Unmap()
}

// addrsOf returns the client's address and port and the one it connected to (zero
// when nc is not TCP).
func addrsOf(nc net.Conn) (src, dst netip.AddrPort) {
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		src = ta.AddrPort()
	}
	if ta, ok := nc.LocalAddr().(*net.TCPAddr); ok {
		dst = ta.AddrPort()
	}
	return src, dst
}

// release gives the state back to the pool; the goroutine must not use it after.
func (cc *clientConn) release() {
	readFn, h := cc.readFn, cc.h
	*cc = clientConn{readFn: readFn}
	h.ccOut.Add(-1)
	h.ccPool.Put(cc)
}

func newPooledClientConn() any {
	cc := &clientConn{}
	cc.readFn = cc.rawRead
	return cc
}

// serve runs the request loop. It reports whether it parked the connection with
// Handler.Idle instead of finishing it.
func (cc *clientConn) serve() (parked bool) {
	for {
		cc.rs = cc.h.route.Load()
		ok, err := cc.readHead()
		if !ok {
			if err == errParked {
				return true
			}
			if err != nil {
				status := 400
				var he *http1.Error
				if errors.As(err, &he) {
					status = he.Status
				}
				cc.rs.r.Stats.RequestError()
				cc.countBadRequest()
				cc.logBadRequest(status, cc.ex != nil && cc.ex.inLen > 0, false)
				cc.sendError(status, nil)
				cc.linger = status != 408 // more of the request may be on its way
			} else if cc.nreq == 0 && !cc.h.draining.Load() {
				cc.countBadRequest()
				cc.logBadRequest(400, cc.ex != nil && cc.ex.inLen > 0, true) // closed before a request
			}
			return false
		}
		cc.rs = cc.h.route.Load() // a reload while idle applies to this request
		cc.logStart(cc.logFirst)
		keep := cc.exchange()
		cc.logFinish(keep)
		if !keep {
			return false
		}
		if cc.nreq < math.MaxInt32 {
			cc.nreq++
		}
		if cc.ex != nil && cc.ex.inLen == 0 {
			cc.putEx()
		}
	}
}

var errTimeout = &http1.Error{Status: 408, Reason: "request timeout"}

// readHead waits for a whole request head and parses it. ok is false when the
// connection must close; err, when set, is what to answer first.
func (cc *clientConn) readHead() (ok bool, err error) {
	rs, h := cc.rs, cc.h
	pending := cc.ex != nil && cc.ex.inLen > 0
	if pending && rs.r.Log != nil {
		cc.logFirst = time.Now()
	}
	// As in HAProxy 2.6 (checked with Debian's haproxy): a new connection's first byte
	// must come within timeout http-request of the accept (Serve set cc.until to that; a
	// park keeps it), a later request's within timeout http-keep-alive; then each head
	// must be whole within timeout http-request of its first byte.
	if !pending {
		d := rs.tKeepAlive
		if cc.nreq == 0 {
			d = rs.tHTTPReq
		}
		// Draining closes a connection between requests, but a new one that has not
		// sent its first request yet (accepted just before the listener closed, as
		// when a new worker takes over) is served once, with Connection: close.
		if h.draining.Load() && cc.nreq > 0 {
			return false, nil
		}
		n, rerr, parked := cc.waitIdle(d)
		if parked {
			return false, errParked
		}
		if rerr != nil {
			// A keep-alive connection closes silently; a new one that sent nothing
			// answers 408 on timeout, as HAProxy does without http-ignore-probes.
			if errors.Is(rerr, os.ErrDeadlineExceeded) && cc.nreq == 0 && !h.draining.Load() {
				return false, errTimeout
			}
			return false, nil
		}
		cc.ex.inLen += n
		if rs.r.Log != nil {
			cc.logFirst = time.Now()
		}
	}
	deadlineSet := false
	for {
		ex := cc.ex
		end := http1.EndOfHead(ex.in[:ex.inLen])
		if rs.laxReq || end < 0 {
			// HTTP/0.9: the request line is the whole head (accept-invalid-http-request),
			// else an error to answer now, as HAProxy, not at timeout http-request
			if e := http1.EndOfSimpleRequest(ex.in[:ex.inLen]); e > 0 {
				end = e
			}
		}
		if end > rs.headLimit || (end < 0 && ex.inLen >= rs.headLimit) {
			return false, http1.ErrHeadTooLarge
		}
		if end > 0 {
			var err error
			if rs.laxReq {
				err = ex.req.ParseLax(ex.in[:end])
			} else {
				err = ex.req.Parse(ex.in[:end])
			}
			if err != nil {
				return false, err
			}
			return true, nil
		}
		if !deadlineSet {
			// waitIdle's deadline was the idle wait's (or the park interval's)
			deadlineSet = true
			cc.nc.SetReadDeadline(deadline(time.Now(), rs.tHTTPReq))
		}
		n, rerr := cc.read()
		if rerr != nil {
			if errors.Is(rerr, os.ErrDeadlineExceeded) {
				return false, errTimeout
			}
			return false, nil
		}
		ex.inLen += n
	}
}

// read reads client bytes into ex.in[inLen:], taking an exchange from the pool only once
// bytes are there. It returns io.EOF-like errors as errEOF.
func (cc *clientConn) read() (int, error) {
	if cc.rc != nil {
		cc.rn, cc.rerr = 0, nil
		if err := cc.rc.Read(cc.readFn); err != nil {
			return 0, err
		}
		if cc.rerr != nil {
			return 0, cc.rerr
		}
		if cc.rn == 0 {
			return 0, errEOF
		}
		return cc.rn, nil
	}
	if cc.ex == nil {
		n, err := cc.nc.Read(cc.tiny[:])
		if n == 0 {
			if err == nil {
				err = errEOF
			}
			return 0, err
		}
		cc.getEx()
		cc.ex.in[0] = cc.tiny[0]
		return 1, nil
	}
	n, err := cc.nc.Read(cc.ex.in[cc.ex.inLen:])
	if n == 0 {
		if err == nil {
			err = errEOF
		}
		return 0, err
	}
	return n, nil
}

var errEOF = errors.New("eof")

// rawRead is the syscall.RawConn read callback: it takes buffers only when the socket
// has bytes, and gives them back before parking.
func (cc *clientConn) rawRead(fd uintptr) bool {
	if cc.ex == nil {
		cc.getEx()
	}
	ex := cc.ex
	for {
		n, err := syscall.Read(int(fd), ex.in[ex.inLen:])
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			if ex.inLen == 0 {
				cc.putEx()
			}
			return false
		}
		if n < 0 {
			n = 0
		}
		cc.rn, cc.rerr = n, err
		return true
	}
}

// detachServer gives the server connection kept from the last exchange to the idle pool,
// where any later request may take it: after serverHold of idleness, and when parking.
func (cc *clientConn) detachServer() {
	if sc := cc.sc; sc != nil {
		cc.sc = nil
		cc.scCur.Store(nil)
		cc.h.idle.put(sc, time.Now())
	}
}

func (cc *clientConn) getEx() {
	ex := cc.rs.exPool.Get().(*exchange)
	ex.inLen = 0
	cc.ex = ex
}

func (cc *clientConn) putEx() {
	ex := cc.ex
	cc.ex = nil
	ex.inLen = 0
	ex.pool.Put(ex)
}

// setWriteDeadline keeps a write deadline of timeout client on nc, refreshing it
// lazily: only once half of it has passed.
func (cc *clientConn) setWriteDeadline(now time.Time) {
	d := cc.rs.tClient
	if d <= 0 {
		return
	}
	if cc.wdl.IsZero() || cc.wdl.Sub(now) < d/2 {
		cc.wdl = now.Add(d)
		cc.nc.SetWriteDeadline(cc.wdl)
	}
}

func (c *conn) closeServer() {
	if sc := c.scCur.Load(); sc != nil {
		sc.nc.Close()
	}
}

// finish releases what the connection holds.
func (cc *clientConn) finish() {
	if sc := cc.sc; sc != nil {
		cc.sc = nil
		if cc.h.draining.Load() {
			sc.nc.Close()
		} else {
			cc.h.idle.put(sc, time.Now()) // other clients' later requests may use it
		}
	}
	if cc.nc != nil && cc.linger && !cc.h.closed.Load() {
		if cc.ex == nil {
			cc.getEx()
		}
		lingerClose(cc.nc, cc.ex.in)
	}
	if cc.ex != nil {
		cc.putEx()
	}
	if cc.nc != nil {
		cc.nc.Close()
	}
}

// lingerTime bounds how long lingerClose discards a client's bytes.
const lingerTime = time.Second

// lingerClose ends what the proxy sends with a FIN, then reads and discards what the
// client still sends (the rest of an upload that was answered early or refused) until
// it closes too, for lingerTime at most, so that closing does not send an RST, which
// would destroy the answer in the client's receive buffer before it reads it. The
// caller closes nc after.
func lingerClose(nc net.Conn, buf []byte) {
	cw, ok := nc.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	nc.SetReadDeadline(time.Now().Add(lingerTime))
	for i := 0; i < 1<<20; i++ { // bounded by the deadline; the count is a backstop
		if _, err := nc.Read(buf); err != nil {
			return
		}
	}
}
