package daemon

import (
	"errors"
	"io"
	"net"
	"os"
	"time"

	"tandem/internal/config"
	"tandem/internal/proxyproto"
	"tandem/internal/tlsconf"
)

// proxiedConn is a connection whose addresses are those its PROXY header carried
// (bind … accept-proxy): logs, src fetches, forwardfor and balance source read them
// through RemoteAddr and LocalAddr. Bytes read past the header come first.
type proxiedConn struct {
	net.Conn
	rest        []byte
	remote, loc net.Addr
}

func (c *proxiedConn) Read(p []byte) (int, error) {
	if len(c.rest) > 0 {
		n := copy(p, c.rest)
		c.rest = c.rest[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (c *proxiedConn) RemoteAddr() net.Addr { return c.remote }
func (c *proxiedConn) LocalAddr() net.Addr  { return c.loc }

var errTruncated = errors.New("truncated PROXY protocol header")

// proxyErrorText is HAProxy's log message for a connection whose PROXY header failed;
// closed is true for a connection closed before a byte (option dontlognull hides it).
func proxyErrorText(err error) (msg string, closed bool) {
	switch {
	case errors.Is(err, proxyproto.ErrNotProxy):
		return "Received something which does not look like a PROXY protocol header", false
	case errors.Is(err, proxyproto.ErrInvalid):
		return "Received an invalid PROXY protocol header", false
	case errors.Is(err, errTruncated):
		return "Truncated PROXY protocol header received", false
	case errors.Is(err, io.EOF):
		return "Connection closed while waiting for PROXY protocol header", true
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "Timeout while waiting for PROXY protocol header", false
	}
	return "Connection error while waiting for PROXY protocol header", false
}

// readProxyHeader reads c's PROXY header (v1 or v2) and returns the connection as its
// header describes it. A connection whose first bytes are not a header, or that sends
// none before the deadline, is an error.
func readProxyHeader(c net.Conn, deadline time.Time) (net.Conn, error) {
	c.SetReadDeadline(deadline)
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, 0, 256)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // a v2 header may carry TLVs up to 64 KB
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		h, hn, perr := proxyproto.Parse(buf)
		switch {
		case perr == nil:
			pc := &proxiedConn{Conn: c, rest: buf[hn:], remote: c.RemoteAddr(), loc: c.LocalAddr()}
			if !h.Local {
				pc.remote = net.TCPAddrFromAddrPort(h.Src)
				pc.loc = net.TCPAddrFromAddrPort(h.Dst)
			}
			return pc, nil
		case !errors.Is(perr, proxyproto.ErrShort):
			return nil, perr
		case err != nil:
			if len(buf) > 0 && errors.Is(err, io.EOF) {
				return nil, errTruncated
			}
			return nil, err
		case len(buf) > 16+65535:
			return nil, proxyproto.ErrInvalid
		}
	}
}

// serveProxied reads the PROXY header of a connection to an accept-proxy bind, then
// serves it as any other (TLS when live is not nil). The header must arrive within
// the frontend's client timeout (a minute when none is set), as HAProxy waits for it.
func (d *Daemon) serveProxied(a *acceptor, fr *front, c net.Conn, live *tlsconf.Live, release func()) {
	accepted := time.Now()
	fc := fr.cfg.Load()
	pc, err := readProxyHeader(c, accepted.Add(handshakeLimit(fc)))
	if err != nil {
		d.log.Debug("PROXY protocol header refused", "frontend", fc.Name, "client", c.RemoteAddr().String(), "err", err)
		msg, closed := proxyErrorText(err)
		d.logConnError(a, fr, c, accepted, msg, closed)
		c.Close()
		release()
		return
	}
	if live != nil {
		d.serveTLS(a, fr, pc, live, release)
		return
	}
	// h2c with prior knowledge (bind … proto h2)
	d.handOver(fr, pc, fc.Mode == config.ModeHTTP && a.h2.Load(), "http", release)
}
