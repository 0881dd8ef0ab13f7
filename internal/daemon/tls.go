package daemon

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"tandem/internal/config"
	"tandem/internal/listener"
	"tandem/internal/logging"
	"tandem/internal/tlsconf"
)

// setTLS keeps the acceptor's certificate store current with its bind (nil: plain).
// A bind that stays TLS keeps its Live across reloads, and so its session ticket keys:
// clients resume after a reload.
func (a *acceptor) setTLS(b *tlsconf.Bind, log *logging.Logger) {
	a.tlsLog.Store(log)
	if b == nil {
		a.tls.Store(nil)
		return
	}
	if l := a.tls.Load(); l != nil {
		l.Swap(b)
		return
	}
	a.tls.Store(tlsconf.NewLive(b))
}

// serveTLS terminates TLS on c, then hands the clear stream to the frontend. crypto/tls
// blocks, so the connection has a goroutine of its own: it never takes the raw-socket
// paths (reactor, park, splice), which need a socket.
func (d *Daemon) serveTLS(a *acceptor, fr *front, c net.Conn, live *tlsconf.Live, release func()) {
	accepted := time.Now()
	fc := fr.cfg.Load()
	tc := tls.Server(c, live.Config())
	tc.SetDeadline(accepted.Add(handshakeLimit(fc)))
	if err := tc.Handshake(); err != nil {
		d.log.Debug("TLS handshake failed", "frontend", fc.Name, "client", c.RemoteAddr().String(), "err", err)
		d.logHandshakeError(a, fr, c, accepted, err)
		c.Close()
		release()
		return
	}
	tc.SetDeadline(time.Time{})
	h2 := fc.Mode == config.ModeHTTP && (a.h2.Load() || tc.ConnectionState().NegotiatedProtocol == "h2")
	d.handOver(fr, tc, h2, "https", release)
}

// handshakeLimit is how long a connection to f has for its TLS handshake or PROXY
// header: timeout client, a minute when none is set.
func handshakeLimit(f *config.Frontend) time.Duration {
	if f.Timeouts.Client > 0 {
		return f.Timeouts.Client
	}
	return time.Minute
}

// handOver serves c, a connection past its TLS handshake or PROXY header, on this
// goroutine: as HTTP/2 when h2 (scheme: what :scheme it stands for, h2.go), else with
// the frontend's handler.
func (d *Daemon) handOver(fr *front, c net.Conn, h2 bool, scheme string, release func()) {
	if h2 {
		d.serveH2(fr, c, scheme, release)
		return
	}
	if ah, ok := fr.h.(asyncHandler); ok && fr.cfg.Load().Mode == config.ModeHTTP {
		ah.Serve(c, release)
		return
	}
	defer release()
	fr.h.ServeConn(c)
}

// resetCerts points the runtime API's certificate registry at the running TLS binds.
// d.mu is held.
func (d *Daemon) resetCerts() {
	var lives []*tlsconf.Live
	for _, a := range d.acceptors {
		if l := a.tls.Load(); l != nil {
			lives = append(lives, l)
		}
	}
	if d.obs.src.Certs == nil {
		d.obs.src.Certs = &tlsconf.Registry{}
	}
	d.obs.src.Certs.Reset(lives)
}

// logHandshakeError writes HAProxy's line for a failed handshake to the frontend's log.
func (d *Daemon) logHandshakeError(a *acceptor, fr *front, c net.Conn, accepted time.Time, err error) {
	msg, closed := "SSL handshake failure", false
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		// option dontlognull hides these, whatever part of a hello came first
		msg, closed = "Connection closed during SSL handshake", true
	case errors.Is(err, os.ErrDeadlineExceeded):
		msg = "Timeout during SSL handshake"
	case errors.Is(err, syscall.ECONNRESET):
		msg = "Connection error during SSL handshake"
	}
	d.logConnError(a, fr, c, accepted, msg, closed)
}

// logConnError writes HAProxy's line for a connection that failed before its session
// began (a TLS handshake, a PROXY header) to the frontend's log: "FE/BIND: msg".
func (d *Daemon) logConnError(a *acceptor, fr *front, c net.Conn, accepted time.Time, msg string, closed bool) {
	l := a.tlsLog.Load()
	if l == nil || l.ConnectOnly() {
		return
	}
	fc := fr.cfg.Load()
	n := 0
	for i, b := range fc.Binds {
		if listener.KeyOf(b) == a.key {
			n = i + 1
		}
	}
	r := logging.NewRecord(0)
	r.Accept, r.FrontendName = accepted, fc.Name
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		r.Client = ta.AddrPort()
	}
	l.LogConnError(r, n, msg, closed)
}
