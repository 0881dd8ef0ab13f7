// Package runtimeapi is HAProxy's runtime API (the "stats socket") for tandem: one
// command per line, several separated by ';', HAProxy's prompt mode, access levels
// user, operator and admin, and the commands operators script with socat: show info,
// show stat, show servers state, show backend, enable/disable server, set server,
// get/set weight, enable/disable health, show/set/clear table, show/get/add/del/clear
// acl and map, set map, plus show vrrp. Outputs
// and error texts follow HAProxy 2.6.
package runtimeapi

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"tandem/internal/config"
	"tandem/internal/stats"
)

// Level is a socket's access level.
type Level int

// Levels, lowest first.
const (
	LevelUser Level = iota
	LevelOperator
	LevelAdmin
)

func (l Level) String() string { return [...]string{"user", "operator", "admin"}[l] }

// ParseLevel reads a `level` argument; "" is operator, HAProxy's default.
func ParseLevel(s string) (Level, error) {
	switch s {
	case "user":
		return LevelUser, nil
	case "", "operator":
		return LevelOperator, nil
	case "admin":
		return LevelAdmin, nil
	}
	return 0, fmt.Errorf("unknown level %q", s)
}

// DefaultTimeout closes an idle interactive session, as HAProxy's `stats timeout`.
const DefaultTimeout = 10 * time.Second

// Server answers runtime API sessions over the live state of src.
type Server struct {
	src     *stats.Source
	log     *slog.Logger
	timeout time.Duration

	mu     sync.Mutex
	lns    []net.Listener
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
	closed bool
}

// New returns a server over src. timeout (0: DefaultTimeout) closes idle sessions.
func New(src *stats.Source, timeout time.Duration, log *slog.Logger) *Server {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{src: src, log: log, timeout: timeout, conns: map[net.Conn]struct{}{}}
}

// Listen opens the socket of one `stats socket` line: a unix path (a stale socket file
// is replaced; mode applied) or ipv4@ADDR:PORT.
func Listen(sock config.StatsSocket) (net.Listener, error) {
	if addr, ok := strings.CutPrefix(sock.Address, "ipv4@"); ok {
		ln, err := net.Listen("tcp4", addr)
		if err != nil {
			return nil, fmt.Errorf("stats socket %s: %w", sock.Address, err)
		}
		return ln, nil
	}
	path := strings.TrimPrefix(sock.Address, "unix@")
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("stats socket %s: another process is listening on it", path)
		}
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("stats socket %s: %w", path, err)
	}
	if ul, ok := ln.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(true)
	}
	if sock.Mode != 0 {
		if err := os.Chmod(path, os.FileMode(sock.Mode)); err != nil {
			ln.Close()
			return nil, fmt.Errorf("stats socket %s: mode: %w", path, err)
		}
	}
	return ln, nil
}

// Serve accepts sessions on ln at level until ln closes or Close is called.
func (s *Server) Serve(ln net.Listener, level Level) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("runtime api accept: %w", err)
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer func() {
				if v := recover(); v != nil {
					s.log.Error("runtime api session panic", "panic", v)
				}
				c.Close()
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
			s.session(c, level)
		}()
	}
}

// Close stops every listener and session and waits for them.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	for _, ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// maxLine bounds one command line.
const maxLine = 64 << 10

// session runs one client: a single line, or lines until quit in prompt mode.
func (s *Server) session(c net.Conn, level Level) {
	r := bufio.NewReaderSize(c, 4096)
	sess := &session{level: level, src: s.src}
	for {
		c.SetReadDeadline(time.Now().Add(s.timeout))
		line, err := readLine(r)
		if err != nil && line == "" {
			return
		}
		sess.payload, sess.hasPayload = nil, false
		if cut, ok := cutPayload(line); ok && err == nil {
			line, sess.payload, sess.hasPayload = cut, readPayload(r), true
		}
		var out bytes.Buffer
		for _, cmd := range splitCommands(line) {
			if sess.run(&out, cmd) {
				sess.quit = true
				break
			}
			out.WriteByte('\n')
		}
		if sess.prompt && !sess.quit {
			out.WriteString("> ")
		}
		c.SetWriteDeadline(time.Now().Add(s.timeout))
		if _, werr := c.Write(out.Bytes()); werr != nil {
			return
		}
		if !sess.prompt || sess.quit || err != nil {
			return
		}
	}
}

func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		b = append(b, chunk...)
		if len(b) > maxLine {
			return "", errors.New("line too long")
		}
		if err != nil {
			if len(b) > 0 && errors.Is(err, io.EOF) {
				return string(b), err
			}
			return "", err
		}
		if !isPrefix {
			return string(b), nil
		}
	}
}

// splitCommands splits a line at ';' (a backslash escapes it) and trims each command.
func splitCommands(line string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch ch := line[i]; {
		case ch == '\\' && i+1 < len(line) && line[i+1] == ';':
			cur.WriteByte(';')
			i++
		case ch == ';':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(ch)
		}
	}
	out = append(out, cur.String())
	return out
}

// Do runs one command line at level and returns what a session would write (tests,
// tandem ctl in process).
func Do(src *stats.Source, level Level, line string) string {
	sess := &session{level: level, src: src}
	if first, rest, ok := strings.Cut(line, "\n"); ok {
		if cut, isPayload := cutPayload(first); isPayload {
			line, sess.payload, sess.hasPayload = cut, []byte(rest), true
		}
	}
	var out bytes.Buffer
	for _, cmd := range splitCommands(line) {
		if sess.run(&out, cmd) {
			break
		}
		out.WriteByte('\n')
	}
	return out.String()
}
