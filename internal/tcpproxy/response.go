package tcpproxy

import (
	"errors"
	"io"
	"net"
	"time"

	"tandem/internal/rawsock"
	"tandem/internal/rules"
)

// This file carries out tcp-response content rules (configuration.txt §4.2): the
// server's first bytes are held while the backend's rules run over them, evaluated
// again as more arrive, up to tcp-response inspect-delay; meanwhile the client's bytes
// keep flowing to the server. accept (or no rule) forwards what was held and goes on,
// close forwards it and closes the server connection, reject closes both sides, and
// silent-drop drops the client without telling it. Sessions with such rules run on
// goroutines (the reactor hands them over: serveReactor).

var errResponseRejected = errors.New("rejected by a tcp-response rule")

// resInspector is the server side of a session whose backend has tcp-response rules,
// as Pipe reads it: its first Read runs the rules.
type resInspector struct {
	net.Conn // the server connection
	client   net.Conn
	t        *connTxn
	prog     rules.Program
	delay    time.Duration
	done     bool
	pend     []byte    // held bytes to hand over
	eof      bool      // after pend: end of stream (close, or the server ended)
	err      error     // after pend: this error
	dl       time.Time // the read deadline Pipe asked for meanwhile
}

func (ri *resInspector) Read(p []byte) (int, error) {
	if !ri.done {
		ri.inspect()
	}
	if len(ri.pend) > 0 {
		n := copy(p, ri.pend)
		ri.pend = ri.pend[n:]
		return n, nil
	}
	if ri.err != nil {
		return 0, ri.err
	}
	if ri.eof {
		return 0, io.EOF
	}
	return ri.Conn.Read(p)
}

// SetReadDeadline keeps Pipe's deadline for after the inspection.
func (ri *resInspector) SetReadDeadline(t time.Time) error {
	if !ri.done {
		ri.dl = t
		return nil
	}
	return ri.Conn.SetReadDeadline(t)
}

// CloseWrite passes the client's end of stream on to the server.
func (ri *resInspector) CloseWrite() error {
	if cw, ok := ri.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("no half-close")
}

// inspect reads the server's first bytes and runs the rules over them.
func (ri *resInspector) inspect() {
	t := ri.t
	final := ri.delay <= 0
	deadline := time.Now().Add(ri.delay)
	buf := make([]byte, 0, inspectSize)
	var rerr error
	next := 0
	// Without a delay the rules run once, at once, over what is there: nothing yet
	// (as Debian's haproxy does: e2e TestTCPResponseRulesMatchHAProxy).
	for reads := 0; reads <= inspectSize; reads++ {
		t.resPayload = buf
		t.st.WaitEnd = final
		var v rules.Verdict
		v, next = rules.RunTCP(ri.prog, next, t, true)
		if v != rules.Wait || final {
			ri.finish(v, buf, rerr)
			return
		}
		ri.Conn.SetReadDeadline(deadline)
		n, err := ri.Conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil || len(buf) == cap(buf) {
			final = true // the delay is over, the server's stream ended, or the buffer is full
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				rerr = err
			}
		}
	}
	ri.finish(rules.Continue, buf, rerr)
}

// finish carries out the verdict v over the held bytes buf (rerr: how the server's
// stream ended meanwhile, nil while it is open).
func (ri *resInspector) finish(v rules.Verdict, buf []byte, rerr error) {
	ri.done = true
	ri.t.resPayload = nil
	ri.Conn.SetReadDeadline(ri.dl)
	switch v {
	case rules.Rejected, rules.Dropped:
		if v == rules.Dropped {
			rawsock.SilentDrop(ri.client)
		} else {
			ri.client.Close()
		}
		ri.Conn.Close()
		ri.err = errResponseRejected
		return
	case rules.Closed:
		ri.pend, ri.eof = buf, true
		ri.Conn.Close()
		return
	}
	ri.pend = buf
	if rerr == io.EOF {
		ri.eof = true
	} else if rerr != nil {
		ri.err = rerr
	}
}
