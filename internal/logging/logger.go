package logging

import (
	"fmt"
	"strings"
	"sync/atomic"

	"tandem/internal/config"
)

// Logger writes one frontend's traffic lines.
type Logger struct {
	sys         *System
	targets     []*Target
	format      *Format
	dontLogNull bool
	connectOnly bool
	onlyErrors  bool // option dontlog-normal
	sepErrors   bool // option log-separate-errors
	count       atomic.Uint64
	// Captures are the frontend's `capture request header` lines, in order.
	Captures []Capture
	// ResCaptures are its `capture response header` lines.
	ResCaptures []Capture
}

// Capture is one `capture request header NAME len N`.
type Capture struct {
	Name string
	Len  int
}

// Logger returns the traffic logger of fe, or nil when fe has no log target (after
// `log global` is expanded). Without option httplog, option tcplog or log-format, the
// logger writes HAProxy's default line once per connection, when it is accepted
// (ConnectOnly).
func (s *System) Logger(fe *config.Frontend) (*Logger, error) {
	if s == nil || fe == nil {
		return nil, nil
	}
	text := fe.LogFormat
	connectOnly := false
	switch {
	case text != "":
	case fe.HTTPLog:
		text = HTTPLogFormat
	case fe.TCPLog:
		text = TCPLogFormat
	default:
		connectOnly = true
		text = ConnectLogFormat + strings.ToUpper(fe.Mode.String()) + ")"
	}
	l := &Logger{sys: s, dontLogNull: fe.DontLogNull, connectOnly: connectOnly,
		onlyErrors: fe.DontLogNormal, sepErrors: fe.LogSeparateErrors}
	for _, lt := range fe.Logs {
		if lt.Global {
			for _, t := range s.global {
				if !containsTarget(l.targets, t) {
					l.targets = append(l.targets, t)
				}
			}
			continue
		}
		t, err := s.target(lt)
		if err != nil {
			return nil, fmt.Errorf("frontend %q: %w", fe.Name, err)
		}
		if !containsTarget(l.targets, t) {
			l.targets = append(l.targets, t)
		}
	}
	if len(l.targets) == 0 {
		return nil, nil
	}
	f, err := Compile(text)
	if err != nil {
		return nil, fmt.Errorf("frontend %q: %w", fe.Name, err)
	}
	l.format = f
	l.Captures = captures(fe.Captures)
	l.ResCaptures = captures(fe.ResCaptures)
	return l, nil
}

// ConnectLogFormat starts HAProxy's default line, logged as a connection is accepted
// (configuration.txt §8.2.1); the mode and ")" end it.
const ConnectLogFormat = "Connect from %ci:%cp to %fi:%fp (%f/"

// ConnectOnly reports that l logs connections as they are accepted, not requests.
func (l *Logger) ConnectOnly() bool { return l != nil && l.connectOnly }

// DontLogNull reports option dontlognull: connections that sent nothing are not logged.
func (l *Logger) DontLogNull() bool { return l != nil && l.dontLogNull }

// LevelSilent in Record.Level drops the line (set-log-level silent).
const LevelSilent = -1

// Log formats r and queues it to every target at level info (err for an error line
// with option log-separate-errors). It never blocks and, once the pools are warm, does
// not allocate.
func (l *Logger) Log(r *Record) {
	if l == nil {
		return
	}
	level := LevelInfo
	if r.Level == LevelSilent {
		return
	}
	if l.onlyErrors || l.sepErrors {
		isErr := !l.connectOnly && r.IsError()
		if l.onlyErrors && !isErr {
			return
		}
		if l.sepErrors && isErr {
			level = LevelErr
		}
	}
	if r.Level > 0 {
		level = int(r.Level) - 1 // set-log-level wins over the error level
	}
	s := l.sys
	env := s.env
	env.LogCount = l.count.Add(1) - 1
	msg := s.getLine()
	msg.b = l.format.Append(msg.b, r, &env)
	now := s.opts.Clock()
	for _, t := range l.targets {
		t.send(level, now, msg.b)
	}
	s.putLine(msg)
}

// Format returns the compiled log format.
func (l *Logger) Format() *Format { return l.format }

func captures(hc []config.HeaderCapture) []Capture {
	var out []Capture
	for _, c := range hc {
		out = append(out, Capture{Name: c.Name, Len: c.Len})
	}
	return out
}
