package h2

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Options are a frontend's HTTP/2 settings, resolved from the configuration.
type Options struct {
	MaxConcurrentStreams uint32        // tune.h2.max-concurrent-streams (HAProxy: 100)
	InitialWindowSize    uint32        // tune.h2.initial-window-size (HAProxy: 65535)
	HeaderTableSize      uint32        // tune.h2.header-table-size (HAProxy: 4096)
	MaxHeaderListSize    uint32        // a decoded header list is bounded by tune.bufsize
	IdleTimeout          time.Duration // timeout client: an idle connection ends
	Scheme               string        // "https" over TLS, "http" for h2c
}

// DefaultOptions are HAProxy 2.6's defaults.
func DefaultOptions() Options {
	return Options{MaxConcurrentStreams: 100, InitialWindowSize: 65535, HeaderTableSize: 4096,
		MaxHeaderListSize: 16384, IdleTimeout: 30 * time.Second, Scheme: "https"}
}

// ServeFunc runs the request engine on one stream and calls done once it closed it
// (httpproxy's Handler.Serve).
type ServeFunc func(c net.Conn, done func())

// Limits against abuse. A client that goes past them gets GOAWAY ENHANCE_YOUR_CALM.
const (
	// refusedBudget is how many streams a client may open past the concurrency limit
	// (each refused with RST_STREAM) before the connection ends: Rapid Reset keeps
	// streams whose engine is still running counted, so its streams get refused.
	refusedBudget = 200
	// controlBudget is how many control frames (SETTINGS, PING, empty DATA or
	// WINDOW_UPDATE, PRIORITY, RST_STREAM) a client may send for each stream it opens,
	// plus controlBase: floods cost a bounded amount per useful request.
	controlBase      = 1000
	controlPerStream = 20
)

// preface is the client connection preface (RFC 9113 §3.4).
const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// conn is one HTTP/2 connection.
type conn struct {
	sv    *Server
	nc    net.Conn
	o     Options
	serve ServeFunc
	fr    *http2.Framer
	gone  chan struct{} // closed when the connection ends

	wmu  sync.Mutex // the framer's writes, the HPACK encoder, bw
	bw   *bufio.Writer
	enc  *hpack.Encoder
	hbuf bytes.Buffer

	mu           sync.Mutex
	streams      map[uint32]*Stream
	running      int // streams whose engine has not finished (counted for the limit)
	maxID        uint32
	sendWin      int64 // connection send window
	peerInit     int64 // SETTINGS_INITIAL_WINDOW_SIZE of the client
	peerFrame    uint32
	waiting      map[*Stream]struct{} // streams blocked on the connection window
	awaySent     bool
	lastID       uint32 // in the GOAWAY sent
	clientAway   bool
	refused      int
	control      int
	streamsOpen  int // streams opened in the connection's life
	engines      sync.WaitGroup
	closeOnce    sync.Once
	writeTimeout time.Duration
	dead         atomic.Bool
	failed       bool // ended on a connection error (the reader's goroutine only)
}

// Serve runs the HTTP/2 connection c until it ends, then closes it. Each stream is
// served by serve. A nil sv serves the connection without drain.
func Serve(c net.Conn, o Options, sv *Server, serve ServeFunc) {
	if sv == nil {
		sv = NewServer()
	}
	cn := &conn{sv: sv, nc: c, o: o, serve: serve, gone: make(chan struct{}),
		streams: map[uint32]*Stream{}, sendWin: 65535, peerInit: 65535, peerFrame: 16384,
		waiting: map[*Stream]struct{}{}}
	cn.writeTimeout = o.IdleTimeout
	if cn.writeTimeout <= 0 {
		cn.writeTimeout = time.Minute
	}
	sv.mu.Lock()
	if sv.draining {
		sv.mu.Unlock()
		c.Close()
		return
	}
	sv.conns[cn] = struct{}{}
	sv.mu.Unlock()
	cn.run()
	sv.mu.Lock()
	delete(sv.conns, cn)
	sv.mu.Unlock()
}

func (c *conn) run() {
	defer func() {
		c.shutdown()
		c.engines.Wait()
	}()
	c.bw = bufio.NewWriterSize(c.nc, 4<<10) // larger frames go straight through
	c.enc = hpack.NewEncoder(&c.hbuf)
	br := bufio.NewReaderSize(c.nc, 4<<10)
	c.nc.SetReadDeadline(time.Now().Add(c.writeTimeout))
	var pre [len(preface)]byte
	if _, err := io.ReadFull(br, pre[:]); err != nil || string(pre[:]) != preface {
		if err == nil {
			c.goAwayErr(http2.ErrCodeProtocol)
		}
		return
	}
	c.fr = http2.NewFramer(c.bw, br)
	c.fr.SetMaxReadFrameSize(16384)
	c.fr.MaxHeaderListSize = c.o.MaxHeaderListSize
	dec := hpack.NewDecoder(c.o.HeaderTableSize, nil)
	c.fr.ReadMetaHeaders = dec
	c.wmu.Lock()
	settings := []http2.Setting{
		{ID: http2.SettingInitialWindowSize, Val: c.o.InitialWindowSize},
		{ID: http2.SettingMaxHeaderListSize, Val: c.o.MaxHeaderListSize},
	}
	if c.o.MaxConcurrentStreams > 0 { // 0: no limit announced (tune.h2.max-concurrent-streams 0)
		settings = append(settings, http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: c.o.MaxConcurrentStreams})
	}
	if c.o.HeaderTableSize != 4096 {
		settings = append(settings, http2.Setting{ID: http2.SettingHeaderTableSize, Val: c.o.HeaderTableSize})
	}
	err := c.fr.WriteSettings(settings...)
	if err == nil && c.o.InitialWindowSize > 65535 {
		// the connection window starts at 65535 whatever SETTINGS say: open it so that
		// one stream can use its whole window
		err = c.fr.WriteWindowUpdate(0, c.o.InitialWindowSize-65535)
	}
	if err == nil {
		err = c.flushLocked()
	}
	c.wmu.Unlock()
	if err != nil {
		return
	}
	first := true
	for {
		c.mu.Lock()
		idle := len(c.streams) == 0 && c.running == 0
		// the client's GOAWAY is not a reason to close: it closes itself, and what it
		// still sends (a PING) is answered
		away := c.awaySent
		if idle && away {
			c.mu.Unlock()
			return
		}
		// an idle connection lasts timeout client; engineDone sets the same deadline
		// (under c.mu, so that neither overwrites the other's newer view)
		if idle {
			c.nc.SetReadDeadline(time.Now().Add(c.writeTimeout))
		} else {
			c.nc.SetReadDeadline(time.Time{})
		}
		c.mu.Unlock()
		f, err := c.fr.ReadFrame()
		if err != nil {
			var se http2.StreamError
			var ce http2.ConnectionError
			switch {
			case errors.As(err, &se):
				c.mu.Lock()
				s := c.streams[se.StreamID]
				if se.StreamID > c.maxID {
					c.maxID = se.StreamID // a malformed request's id is used
				}
				c.mu.Unlock()
				if !c.spend() {
					return
				}
				if s != nil {
					c.resetStream(s, se.Code)
				} else {
					c.writeRST(se.StreamID, se.Code)
				}
				continue
			case errors.As(err, &ce):
				c.goAwayErr(http2.ErrCode(ce))
			case errors.Is(err, http2.ErrFrameTooLarge):
				c.goAwayErr(http2.ErrCodeFrameSize)
			}
			return
		}
		if first {
			sf, ok := f.(*http2.SettingsFrame)
			if !ok || sf.IsAck() {
				c.goAwayErr(http2.ErrCodeProtocol)
				return
			}
			first = false
		}
		if code, ok := c.handle(f); !ok {
			c.goAwayErr(code)
			return
		}
	}
}

// maxEngines bounds the exchanges in flight on a connection, streams the client reset
// included (Rapid Reset, MadeYouReset): twice the concurrency limit, and 65536 when
// tune.h2.max-concurrent-streams is 0 (no limit).
func (c *conn) maxEngines() int {
	if m := c.o.MaxConcurrentStreams; m > 0 && m < 1<<15 {
		return 2 * int(m)
	}
	return 1 << 16
}

// spend counts one control frame against the connection's budget.
func (c *conn) spend() bool {
	c.mu.Lock()
	c.control++
	over := c.control > controlBase+controlPerStream*c.streamsOpen
	c.mu.Unlock()
	if over {
		c.goAwayErr(http2.ErrCodeEnhanceYourCalm)
	}
	return !over
}

// handle processes one frame; !ok ends the connection with GOAWAY code.
func (c *conn) handle(f http2.Frame) (code http2.ErrCode, ok bool) {
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		return c.onHeaders(f)
	case *http2.DataFrame:
		return c.onData(f)
	case *http2.SettingsFrame:
		if f.IsAck() {
			return 0, true
		}
		if !c.spend() {
			return 0, true
		}
		return c.onSettings(f)
	case *http2.PingFrame:
		if f.IsAck() {
			return 0, true
		}
		if !c.spend() {
			return 0, true
		}
		c.wmu.Lock()
		err := c.fr.WritePing(true, f.Data)
		if err == nil {
			err = c.flushLocked()
		}
		c.wmu.Unlock()
		return 0, err == nil
	case *http2.WindowUpdateFrame:
		return c.onWindowUpdate(f)
	case *http2.RSTStreamFrame:
		id := f.StreamID
		c.mu.Lock()
		idle := id > c.maxID
		s := c.streams[id]
		c.mu.Unlock()
		if idle {
			return http2.ErrCodeProtocol, false
		}
		if !c.spend() {
			return 0, true
		}
		if s != nil {
			c.dropStream(s)
		}
		return 0, true
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID {
			c.writeRST(f.StreamID, http2.ErrCodeProtocol)
		}
		return 0, c.spend() || true
	case *http2.GoAwayFrame:
		c.mu.Lock()
		c.clientAway = true
		c.mu.Unlock()
		return 0, true
	case *http2.PushPromiseFrame:
		return http2.ErrCodeProtocol, false
	}
	return 0, true // unknown frame types are ignored (RFC 9113 §4.1)
}

func (c *conn) onSettings(f *http2.SettingsFrame) (http2.ErrCode, bool) {
	if err := f.ForeachSetting(func(s http2.Setting) error { return s.Valid() }); err != nil {
		var ce http2.ConnectionError
		if errors.As(err, &ce) {
			return http2.ErrCode(ce), false
		}
		return http2.ErrCodeProtocol, false
	}
	var code http2.ErrCode
	bad := false
	f.ForeachSetting(func(s http2.Setting) error {
		switch s.ID {
		case http2.SettingInitialWindowSize:
			// lock order: a stream's mu, then c.mu (Stream.data); so the streams are
			// listed under c.mu and adjusted after
			c.mu.Lock()
			delta := int64(s.Val) - c.peerInit
			c.peerInit = int64(s.Val)
			ss := make([]*Stream, 0, len(c.streams))
			for _, st := range c.streams {
				ss = append(ss, st)
			}
			c.mu.Unlock()
			for _, st := range ss {
				st.mu.Lock()
				st.sendWin += delta
				if st.sendWin > 1<<31-1 {
					bad, code = true, http2.ErrCodeFlowControl
				}
				st.mu.Unlock()
				wake(st.wrWake)
			}
		case http2.SettingMaxFrameSize:
			c.mu.Lock()
			c.peerFrame = s.Val
			c.mu.Unlock()
		case http2.SettingHeaderTableSize:
			c.wmu.Lock()
			c.enc.SetMaxDynamicTableSizeLimit(s.Val)
			c.wmu.Unlock()
		}
		return nil
	})
	if bad {
		return code, false
	}
	c.wmu.Lock()
	err := c.fr.WriteSettingsAck()
	if err == nil {
		err = c.flushLocked()
	}
	c.wmu.Unlock()
	return 0, err == nil
}

func (c *conn) onHeaders(f *http2.MetaHeadersFrame) (http2.ErrCode, bool) {
	id := f.StreamID
	if id%2 == 0 {
		return http2.ErrCodeProtocol, false // clients open odd-numbered streams (RFC 9113 §5.1.1)
	}
	if f.HasPriority() && f.Priority.StreamDep == id {
		c.writeRST(id, http2.ErrCodeProtocol)
		return 0, true
	}
	c.mu.Lock()
	s := c.streams[id]
	idle := id > c.maxID
	c.mu.Unlock()
	if s != nil { // trailers
		s.mu.Lock()
		ended := s.inEnd || s.remoteEnd
		s.mu.Unlock()
		if ended {
			// half-closed (remote) or closed: the stream error RFC 9113 §5.1 allows for
			// the first is made a connection error, which the second needs, as a
			// stream whose response just ended may still be in the table
			return http2.ErrCodeStreamClosed, false
		}
		if !f.StreamEnded() {
			c.resetStream(s, http2.ErrCodeProtocol)
			return 0, true
		}
		tr, err := ValidateTrailers(f.Fields)
		if err != nil {
			c.resetStream(s, http2.ErrCodeProtocol)
			return 0, true
		}
		c.endOfRequest(s, tr)
		return 0, true
	}
	if !idle {
		c.mu.Lock()
		last := id == c.maxID
		c.mu.Unlock()
		if last {
			return http2.ErrCodeStreamClosed, false // a closed stream
		}
		return http2.ErrCodeProtocol, false // a stream id lower than one already used
	}
	c.mu.Lock()
	c.maxID = id
	away := c.awaySent
	full := c.o.MaxConcurrentStreams > 0 && uint32(len(c.streams)) >= c.o.MaxConcurrentStreams ||
		c.running >= c.maxEngines()
	if full {
		c.refused++
	}
	refused := c.refused
	c.mu.Unlock()
	if away {
		return 0, true // opened after our GOAWAY: ignored (RFC 9113 §6.8)
	}
	if full {
		if refused > refusedBudget {
			return http2.ErrCodeEnhanceYourCalm, false
		}
		c.writeRST(id, http2.ErrCodeRefusedStream)
		return 0, true
	}
	if f.Truncated {
		c.writeRST(id, http2.ErrCodeProtocol) // header list larger than tune.bufsize
		return 0, true
	}
	req, err := TranslateRequest(f.Fields, f.StreamEnded(), c.o.Scheme)
	if err != nil {
		c.writeRST(id, http2.ErrCodeProtocol)
		return 0, true
	}
	s = newStream(c, id, req)
	c.mu.Lock()
	s.sendWin = c.peerInit
	s.recvWin = int64(c.o.InitialWindowSize)
	c.streams[id] = s
	c.running++
	c.streamsOpen++
	c.mu.Unlock()
	if f.StreamEnded() {
		s.inEnd, s.remoteEnd = true, true
	}
	c.engines.Add(1)
	c.serve(s, func() { c.engineDone(s) })
	return 0, true
}

// engineDone is called once the engine has closed the stream.
func (c *conn) engineDone(s *Stream) {
	s.Close()
	c.mu.Lock()
	c.running--
	if c.streams[s.id] == s {
		delete(c.streams, s.id)
	}
	delete(c.waiting, s)
	if c.running == 0 && len(c.streams) == 0 {
		if c.awaySent {
			c.nc.SetReadDeadline(time.Now()) // wake the reader: nothing left to serve
		} else {
			c.nc.SetReadDeadline(time.Now().Add(c.writeTimeout))
		}
	}
	c.mu.Unlock()
	c.engines.Done()
}

func (c *conn) onData(f *http2.DataFrame) (http2.ErrCode, bool) {
	id := f.StreamID
	size := int64(f.Header().Length)
	data := f.Data()
	c.mu.Lock()
	s := c.streams[id]
	idle := id > c.maxID
	c.mu.Unlock()
	if idle {
		return http2.ErrCodeProtocol, false
	}
	// the connection window is given back at once: the stream windows bound what waits
	if size > 0 {
		c.windowUpdate(0, uint32(size))
	} else if !f.StreamEnded() && !c.spend() {
		return 0, true
	}
	if s == nil {
		// a closed stream: a stream error, so that DATA crossing our RST_STREAM
		// does not end the connection
		if c.spend() {
			c.writeRST(id, http2.ErrCodeStreamClosed)
		}
		return 0, true
	}
	s.mu.Lock()
	if s.inEnd || s.remoteEnd {
		s.mu.Unlock()
		c.resetStream(s, http2.ErrCodeStreamClosed)
		return 0, true
	}
	if size > s.recvWin {
		s.mu.Unlock()
		c.resetStream(s, http2.ErrCodeFlowControl)
		return 0, true
	}
	s.recvWin -= size
	pad := size - int64(len(data))
	s.gotCL += int64(len(data))
	req := s.req
	if req.ContentLength >= 0 && s.gotCL > req.ContentLength {
		s.mu.Unlock()
		c.resetStream(s, http2.ErrCodeProtocol)
		return 0, true
	}
	if req.Chunked && len(data) > 0 {
		s.in = strconv.AppendInt(s.in, int64(len(data)), 16)
		s.in = append(s.in, "\r\n"...)
		s.in = append(s.in, data...)
		s.in = append(s.in, "\r\n"...)
	} else {
		s.in = append(s.in, data...)
	}
	s.credit += int64(len(data))
	s.recvWin += pad
	s.mu.Unlock()
	if pad > 0 {
		c.windowUpdate(id, uint32(pad))
	}
	if f.StreamEnded() { // endOfRequest checks the content-length
		var tail []byte
		if req.Chunked {
			tail = []byte("0\r\n\r\n")
		}
		c.endOfRequest(s, tail)
		return 0, true
	}
	wake(s.rdWake)
	return 0, true
}

// endOfRequest records END_STREAM from the client; tail ends a chunked body.
func (c *conn) endOfRequest(s *Stream, tail []byte) {
	s.mu.Lock()
	if s.req.Chunked {
		s.in = append(s.in, tail...)
	} else if s.req.ContentLength >= 0 && s.gotCL != s.req.ContentLength {
		s.mu.Unlock()
		c.resetStream(s, http2.ErrCodeProtocol)
		return
	}
	s.inEnd, s.remoteEnd = true, true
	sent := s.respDone
	s.mu.Unlock()
	if sent {
		c.forget(s)
	}
	wake(s.rdWake)
}

func (c *conn) onWindowUpdate(f *http2.WindowUpdateFrame) (http2.ErrCode, bool) {
	id, inc := f.StreamID, int64(f.Increment)
	if id == 0 {
		c.mu.Lock()
		c.sendWin += inc
		over := c.sendWin > 1<<31-1
		ws := make([]*Stream, 0, len(c.waiting))
		for s := range c.waiting {
			ws = append(ws, s)
		}
		clear(c.waiting)
		c.mu.Unlock()
		if over {
			return http2.ErrCodeFlowControl, false
		}
		for _, s := range ws {
			wake(s.wrWake)
		}
		return 0, true
	}
	c.mu.Lock()
	s := c.streams[id]
	idle := id > c.maxID
	c.mu.Unlock()
	if idle {
		return http2.ErrCodeProtocol, false
	}
	if s == nil {
		return 0, true // a closed stream: ignored
	}
	s.mu.Lock()
	s.sendWin += inc
	over := s.sendWin > 1<<31-1
	s.mu.Unlock()
	if over {
		c.resetStream(s, http2.ErrCodeFlowControl)
		return 0, true
	}
	wake(s.wrWake)
	return 0, true
}

// streamSent notes that the response went out whole: a stream whose request also
// ended is closed for the state machine.
func (c *conn) streamSent(s *Stream) {
	s.mu.Lock()
	closed := s.inEnd
	s.mu.Unlock()
	if closed {
		c.forget(s)
	}
}

// forget removes a closed stream from the table (its engine may still be running).
func (c *conn) forget(s *Stream) {
	c.mu.Lock()
	if c.streams[s.id] == s {
		delete(c.streams, s.id)
	}
	c.mu.Unlock()
}

// dropStream forgets a stream the client reset; its engine sees errors and ends.
func (c *conn) dropStream(s *Stream) {
	s.mu.Lock()
	s.reset, s.remoteEnd = true, true
	s.mu.Unlock()
	wake(s.rdWake)
	wake(s.wrWake)
	c.mu.Lock()
	if c.streams[s.id] == s {
		delete(c.streams, s.id)
	}
	c.mu.Unlock()
}

// resetStream ends a stream with RST_STREAM code (a stream error).
func (c *conn) resetStream(s *Stream, code http2.ErrCode) {
	s.mu.Lock()
	already := s.reset
	s.mu.Unlock()
	c.dropStream(s)
	if !already {
		c.writeRST(s.id, code)
	}
}

// shutdown ends every stream and closes the connection.
func (c *conn) shutdown() {
	c.closeOnce.Do(func() {
		close(c.gone)
		c.mu.Lock()
		ss := make([]*Stream, 0, len(c.streams))
		for _, s := range c.streams {
			ss = append(ss, s)
		}
		c.mu.Unlock()
		for _, s := range ss {
			c.dropStream(s)
		}
		c.dead.Store(true)
		if c.failed {
			c.linger()
		}
		c.nc.Close()
	})
}
