package h2

import (
	"net"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// What the connection sends: frames under wmu, flow-control windows, GOAWAY.

// takeSendWindow takes up to n bytes of the connection window.
func (c *conn) takeSendWindow(n int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n = min(n, c.sendWin)
	if n > 0 {
		c.sendWin -= n
	}
	return n
}

// waitWindow registers s to be woken by a connection WINDOW_UPDATE.
func (c *conn) waitWindow(s *Stream) {
	c.mu.Lock()
	c.waiting[s] = struct{}{}
	c.mu.Unlock()
}

func (c *conn) peerMaxFrame() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peerFrame
}

func (c *conn) writeRST(id uint32, code http2.ErrCode) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.fr.WriteRSTStream(id, code) == nil {
		c.flushLocked()
	}
}

func (c *conn) windowUpdate(id uint32, n uint32) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.fr.WriteWindowUpdate(id, n) == nil {
		c.flushLocked()
	}
}

// writeHeaders encodes fields and sends them as HEADERS and CONTINUATION frames.
func (c *conn) writeHeaders(s *Stream, fields []hpack.HeaderField, end bool) error {
	max := int(c.peerMaxFrame())
	c.wmu.Lock()
	defer c.wmu.Unlock()
	s.mu.Lock()
	reset := s.reset
	s.mu.Unlock()
	if reset {
		return errStreamReset
	}
	c.hbuf.Reset()
	for _, f := range fields {
		c.enc.WriteField(f)
	}
	block := c.hbuf.Bytes()
	first := true
	for first || len(block) > 0 {
		n := min(len(block), max)
		chunk := block[:n]
		block = block[n:]
		var err error
		if first {
			err = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: s.id, BlockFragment: chunk,
				EndStream: end, EndHeaders: len(block) == 0})
			first = false
		} else {
			err = c.fr.WriteContinuation(s.id, len(block) == 0, chunk)
		}
		if err != nil {
			return err
		}
	}
	return c.flushLocked()
}

func (c *conn) writeData(id uint32, p []byte, end bool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.fr.WriteData(id, end, p); err != nil {
		return err
	}
	return c.flushLocked()
}

// flushLocked writes out what the framer buffered, bounded by the write timeout (a
// client that reads nothing cannot hold the connection's writers for longer).
func (c *conn) flushLocked() error {
	if c.dead.Load() {
		return net.ErrClosed
	}
	c.nc.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	if err := c.bw.Flush(); err != nil {
		c.dead.Store(true)
		c.nc.Close()
		return err
	}
	return nil
}

// goAway sends GOAWAY with the last stream id seen: streams up to it are served, no
// new one is opened (graceful when code is NO_ERROR).
func (c *conn) goAway(code http2.ErrCode) {
	c.mu.Lock()
	if c.awaySent || c.fr == nil {
		c.mu.Unlock()
		if code == http2.ErrCodeNo {
			c.nc.SetReadDeadline(time.Now()) // a connection still reading its preface ends
		}
		return
	}
	c.awaySent = true
	c.lastID = c.maxID
	last := c.maxID
	idle := c.running == 0 && len(c.streams) == 0
	c.mu.Unlock()
	c.wmu.Lock()
	if c.fr.WriteGoAway(last, code, nil) == nil {
		c.flushLocked()
	}
	c.wmu.Unlock()
	if idle {
		c.nc.SetReadDeadline(time.Now())
	}
}

// goAwayErr ends the connection on an error: GOAWAY with code, then close.
func (c *conn) goAwayErr(code http2.ErrCode) {
	c.failed = true
	if c.fr == nil {
		c.wmu.Lock()
		if http2.NewFramer(c.bw, nil).WriteGoAway(0, code, nil) == nil {
			c.flushLocked()
		}
		c.wmu.Unlock()
		return
	}
	c.mu.Lock()
	sent := c.awaySent
	c.awaySent = true
	last := c.maxID
	c.mu.Unlock()
	if sent && code == http2.ErrCodeNo {
		return
	}
	c.wmu.Lock()
	if c.fr.WriteGoAway(last, code, nil) == nil {
		c.flushLocked()
	}
	c.wmu.Unlock()
}

// linger lets the client read a GOAWAY before the close: the write side is shut, what
// the client still sends is read and dropped for a bounded time, so that the kernel
// does not answer it with a reset that could discard the GOAWAY.
func (c *conn) linger() {
	type closeWriter interface{ CloseWrite() error }
	cw, ok := c.nc.(closeWriter)
	if !ok || cw.CloseWrite() != nil {
		return
	}
	c.nc.SetReadDeadline(time.Now().Add(time.Second))
	var buf [4096]byte
	for i := 0; i < 256; i++ { // at most 1 MiB or 1 s
		if _, err := c.nc.Read(buf[:]); err != nil {
			return
		}
	}
}
