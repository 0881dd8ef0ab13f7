package h2

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// errStreamReset is what Read and Write return once the stream is reset (by the
// client, by a stream error, or because the connection ended).
var errStreamReset = errors.New("h2: stream reset")

// Stream is the stream adapter: one HTTP/2 stream seen by the HTTP/1 engine as a
// connection that carries one exchange (see the package doc).
type Stream struct {
	c   *conn
	id  uint32
	req *Request

	mu        sync.Mutex
	in        []byte        // translated request bytes not yet read
	inEnd     bool          // the client ended the stream (END_STREAM)
	gotCL     int64         // DATA bytes received
	rdWake    chan struct{} // Read may go on
	wrWake    chan struct{} // Write may go on (window, reset)
	rdl, wdl  time.Time
	reset     bool
	respDone  bool       // the whole response was sent (END_STREAM)
	sendWin   int64      // what the client lets us send on this stream
	recvWin   int64      // what we let the client send
	credit    int64      // DATA bytes received and not yet given back by WINDOW_UPDATE
	consumed  int64      // bytes the engine read, not yet matched by a WINDOW_UPDATE
	closed    bool       // Close was called
	remoteEnd bool       // we received END_STREAM or RST (for the state machine)
	respMu    sync.Mutex // Write and Close translate the response one at a time
	resp      Response
}

func newStream(c *conn, id uint32, req *Request) *Stream {
	s := &Stream{c: c, id: id, req: req, rdWake: make(chan struct{}, 1), wrWake: make(chan struct{}, 1)}
	s.in = append(s.in, req.Head...)
	s.resp.Head = req.Method == "HEAD"
	s.resp.Connect = req.Connect
	return s
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Multiplexed marks the adapter as one stream of a connection: the engine counts its
// exchange as a request, not as a session (the connection is the session).
func (s *Stream) Multiplexed() {}

// LogRequestLine is the request line the traffic log shows: HAProxy logs an HTTP/2
// request in absolute form with version HTTP/2.0.
func (s *Stream) LogRequestLine() string { return s.req.LogLine }

// ConnectionState is the TLS state of the connection the stream is on (zero for h2c).
func (s *Stream) ConnectionState() tls.ConnectionState {
	if tc, ok := s.c.nc.(interface{ ConnectionState() tls.ConnectionState }); ok {
		return tc.ConnectionState()
	}
	return tls.ConnectionState{}
}

// LocalAddr and RemoteAddr are the connection's.
func (s *Stream) LocalAddr() net.Addr  { return s.c.nc.LocalAddr() }
func (s *Stream) RemoteAddr() net.Addr { return s.c.nc.RemoteAddr() }

// SetDeadline sets both deadlines.
func (s *Stream) SetDeadline(t time.Time) error {
	s.SetReadDeadline(t)
	return s.SetWriteDeadline(t)
}

// SetReadDeadline bounds Read.
func (s *Stream) SetReadDeadline(t time.Time) error {
	s.mu.Lock()
	s.rdl = t
	s.mu.Unlock()
	wake(s.rdWake)
	return nil
}

// SetWriteDeadline bounds Write (a zero window blocks it until then).
func (s *Stream) SetWriteDeadline(t time.Time) error {
	s.mu.Lock()
	s.wdl = t
	s.mu.Unlock()
	wake(s.wrWake)
	return nil
}

// wait blocks until ch is signalled, the deadline d passes, or the connection ends.
func (s *Stream) wait(ch chan struct{}, d time.Time) error {
	var tc <-chan time.Time
	if !d.IsZero() {
		left := time.Until(d)
		if left <= 0 {
			return os.ErrDeadlineExceeded
		}
		t := time.NewTimer(left)
		defer t.Stop()
		tc = t.C
	}
	select {
	case <-ch:
		return nil
	case <-tc:
		return os.ErrDeadlineExceeded
	case <-s.c.gone:
		return errStreamReset
	}
}

// Read returns the translated request bytes; after them, once the response has been
// sent, io.EOF.
func (s *Stream) Read(p []byte) (int, error) {
	for {
		s.mu.Lock()
		if s.reset || s.closed {
			s.mu.Unlock()
			return 0, errStreamReset
		}
		if len(s.in) > 0 {
			n := copy(p, s.in)
			s.in = s.in[n:]
			if len(s.in) == 0 {
				s.in = s.in[:0:0] // let a large body's buffer go
			}
			s.consumed += int64(n)
			give := min(s.credit, s.consumed)
			if s.inEnd || (give < int64(s.c.o.InitialWindowSize)/2 && len(s.in) > 0) {
				give = 0 // nothing more comes, or not worth a frame yet
			}
			if give > 0 {
				s.credit -= give
				s.consumed -= give
				s.recvWin += give
			}
			s.mu.Unlock()
			if give > 0 {
				s.c.windowUpdate(s.id, uint32(give))
			}
			return n, nil
		}
		if s.inEnd && s.respDone {
			s.mu.Unlock()
			return 0, io.EOF
		}
		d := s.rdl
		s.mu.Unlock()
		if err := s.wait(s.rdWake, d); err != nil {
			return 0, err
		}
	}
}

// Write translates the engine's HTTP/1.1 response into frames.
func (s *Stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	if s.reset || s.closed {
		s.mu.Unlock()
		return 0, errStreamReset
	}
	s.mu.Unlock()
	s.respMu.Lock()
	defer s.respMu.Unlock()
	if err := s.resp.Feed(p, s); err != nil {
		if err == errBadResponse {
			s.c.resetStream(s, http2.ErrCodeInternal)
		}
		return 0, err
	}
	return len(p), nil
}

// headers sends a HEADERS block (frameSink).
func (s *Stream) headers(fields []hpack.HeaderField, end bool) error {
	if err := s.c.writeHeaders(s, fields, end); err != nil {
		return err
	}
	if end {
		s.finishResponse()
	}
	return nil
}

// data sends DATA as the windows allow (frameSink).
func (s *Stream) data(p []byte, end bool) error {
	for len(p) > 0 || end {
		max := int64(s.c.peerMaxFrame())
		s.mu.Lock()
		if s.reset || (s.closed && !end) {
			s.mu.Unlock()
			return errStreamReset
		}
		n := int64(0)
		if len(p) > 0 {
			n = min(int64(len(p)), max, s.sendWin)
			if n > 0 {
				n = s.c.takeSendWindow(n)
			}
			if n <= 0 {
				d := s.wdl
				s.mu.Unlock()
				s.c.waitWindow(s)
				if err := s.wait(s.wrWake, d); err != nil {
					return err
				}
				continue
			}
			s.sendWin -= n
		}
		s.mu.Unlock()
		last := end && int(n) == len(p)
		if err := s.c.writeData(s.id, p[:n], last); err != nil {
			return err
		}
		p = p[n:]
		if last {
			s.finishResponse()
			return nil
		}
	}
	return nil
}

func (s *Stream) finishResponse() {
	s.mu.Lock()
	s.respDone = true
	s.mu.Unlock()
	wake(s.rdWake)
	s.c.streamSent(s)
}

// Close ends the exchange: an unfinished response ends the stream (END_STREAM after a
// body delimited by the close, RST_STREAM otherwise).
func (s *Stream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	done, reset := s.respDone, s.reset
	s.mu.Unlock()
	wake(s.rdWake)
	wake(s.wrWake)
	if !done && !reset {
		s.respMu.Lock() // a Write in progress sees closed and returns
		closeDelimited := s.resp.state == rsClose
		s.respMu.Unlock()
		if closeDelimited && s.data(nil, true) == nil {
			return nil
		}
		s.c.resetStream(s, http2.ErrCodeInternal)
	}
	return nil
}
