package httpproxy

import (
	"errors"
	"io"
	"os"
	"time"

	"tandem/internal/config"
	"tandem/internal/http1"
	"tandem/internal/tcpproxy"
)

// forwardResponse sends the response whose head is in sin to the client, then its body.
// It reports whether the client connection stays open.
func (cc *clientConn) forwardResponse(x *xfer) bool {
	ex, h := cc.ex, cc.h
	resp := &ex.resp
	if resp.Status == 101 {
		if !x.tunnelReq {
			x.srv.RespErr.Add(1)
			cc.sendError(502, x.be)
			cc.closeServerOf(x)
			return false
		}
		return cc.tunnel(x)
	}
	fr := resp.BodyFraming(ex.req.Method)
	if fr == http1.FrameClose || resp.Has(http1.FCLAndTE) || h.draining.Load() || cc.expectPending() {
		x.clientKeep = false
	}
	if fr == http1.FrameChunked && ex.req.Minor == 0 {
		x.clientKeep = false // an HTTP/1.0 client reads the chunked body until close
	}
	x.serverKeep = x.mode == config.HTTPKeepAlive && resp.KeepAlive() && fr != http1.FrameClose && !resp.Has(http1.FCLAndTE) && !ex.req.Has(http1.FCLAndTE)
	idx := resp.Status/100 - 1
	if idx < 0 || idx > 4 {
		idx = 5
	}
	x.srv.Responses[idx].Add(1)
	cc.rs.r.Stats.Response(resp.Status)

	headEnd := resp.Len
	ex.out = cc.rewriteResponse(ex.out[:0], x, false)
	// body bytes already read
	avail := ex.sinLen - headEnd
	fwd, done := 0, true
	var remaining int64
	switch fr {
	case http1.FrameLength:
		fwd = avail
		if int64(fwd) > resp.ContentLength {
			fwd = int(resp.ContentLength)
		}
		remaining = resp.ContentLength - int64(fwd)
		done = remaining == 0
	case http1.FrameChunked:
		ex.rck.Reset()
		n, d, err := ex.rck.Feed(ex.sin[headEnd:ex.sinLen])
		if err != nil {
			x.srv.RespErr.Add(1)
			cc.sendError(502, x.be)
			cc.closeServerOf(x)
			return false
		}
		fwd, done = n, d
	case http1.FrameClose:
		fwd, done = avail, false
	}
	if headEnd+fwd != ex.sinLen {
		x.serverKeep = false // bytes after the response: the server is not to be trusted
	}
	now := time.Now()
	cc.setWriteDeadline(now)
	var err error
	if len(ex.out)+fwd <= cap(ex.out) {
		ex.out = append(ex.out, ex.sin[headEnd:headEnd+fwd]...)
		_, err = cc.nc.Write(ex.out)
	} else if _, err = cc.nc.Write(ex.out); err == nil {
		_, err = cc.nc.Write(ex.sin[headEnd : headEnd+fwd])
	}
	x.bytesOut += int64(len(ex.out))
	if err != nil {
		x.serverKeep = false
		cc.waitBody()
		return false
	}
	if !done {
		n, err := cc.copyResponseBody(x, fr, remaining)
		x.bytesOut += n
		if err != nil {
			if err == errBadChunk || err == errServerRead || err == errServerTimeout {
				x.srv.RespErr.Add(1)
			}
			x.serverKeep = false
			cc.waitBody()
			return false
		}
		if fr == http1.FrameClose {
			x.serverKeep = false
			cc.waitBody()
			return false
		}
	}
	if !cc.finishBody() {
		x.serverKeep = false
		return false
	}
	return x.clientKeep
}

func (cc *clientConn) closeServerOf(x *xfer) {
	x.serverKeep = false
}

// copyResponseBody streams the rest of the response body from the server to the client.
func (cc *clientConn) copyResponseBody(x *xfer, fr http1.Framing, remaining int64) (int64, error) {
	ex := cc.ex
	nc := x.sc.nc
	var sent int64
	for {
		now := time.Now()
		nc.SetReadDeadline(deadline(now, x.tServer))
		n, err := nc.Read(ex.sin)
		if n == 0 {
			switch {
			case fr == http1.FrameClose && (err == nil || errors.Is(err, io.EOF)):
				return sent, nil
			case errors.Is(err, os.ErrDeadlineExceeded):
				return sent, errServerTimeout
			}
			return sent, errServerRead
		}
		fwd, done := n, false
		switch fr {
		case http1.FrameLength:
			if int64(n) >= remaining {
				fwd, done = int(remaining), true
				if n > fwd {
					x.serverKeep = false
				}
			}
			remaining -= int64(fwd)
		case http1.FrameChunked:
			var cerr error
			fwd, done, cerr = ex.rck.Feed(ex.sin[:n])
			if cerr != nil {
				return sent, errBadChunk
			}
			if done && n > fwd {
				x.serverKeep = false
			}
		}
		cc.setWriteDeadline(now)
		if _, err := cc.nc.Write(ex.sin[:fwd]); err != nil {
			return sent, errClientWrite
		}
		sent += int64(fwd)
		if done {
			return sent, nil
		}
	}
}

// tunnel relays a 101 Switching Protocols response, then copies bytes both ways until
// both sides are done (timeout tunnel, else client/server timeouts, bound inactivity).
func (cc *clientConn) tunnel(x *xfer) bool {
	ex := cc.ex
	x.clientKeep, x.serverKeep = false, false
	x.srv.Responses[0].Add(1)
	cc.rs.r.Stats.Response(101)
	cc.waitBody()
	ex.out = cc.rewriteResponse(ex.out[:0], x, true)
	ex.out = append(ex.out, ex.sin[ex.resp.Len:ex.sinLen]...)
	cc.nc.SetWriteDeadline(time.Time{})
	if _, err := cc.nc.Write(ex.out); err != nil {
		return false
	}
	x.bytesOut += int64(len(ex.out))
	sc := x.sc.nc
	if ex.inLen > 0 {
		if _, err := sc.Write(ex.in[:ex.inLen]); err != nil {
			return false
		}
		x.bytesIn += int64(ex.inLen)
		ex.inLen = 0
	}
	l := tcpproxy.TunnelLimits(cc.rs.fe.Timeouts, x.be.Timeouts)
	if l.Client == 0 {
		l.Client = cc.rs.tClient
	}
	if l.Server == 0 {
		l.Server = x.tServer
	}
	in, out := tcpproxy.Pipe(cc.nc, sc, l)
	x.bytesIn += in
	x.bytesOut += out
	return false
}
