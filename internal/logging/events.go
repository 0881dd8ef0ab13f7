package logging

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Events is a slog.Handler that writes tandem's own events (server state changes,
// reloads, VRRP transitions) to the global log targets of the current System, as
// HAProxy does with its alerts and notices. The daemon tees its logger into it and
// calls SetSystem after each (re)load.
type Events struct {
	cur   *atomic.Pointer[System]
	min   slog.Level
	attrs string // preformatted " k=v" pairs of WithAttrs
	group string
}

// NewEvents returns a handler that passes records at min or above.
func NewEvents(min slog.Level) *Events {
	return &Events{cur: new(atomic.Pointer[System]), min: min}
}

// SetSystem makes later events go to s's global targets (nil: nowhere).
func (e *Events) SetSystem(s *System) { e.cur.Store(s) }

// Enabled implements slog.Handler.
func (e *Events) Enabled(_ context.Context, l slog.Level) bool {
	return l >= e.min && e.cur.Load() != nil
}

// SyslogLevel maps a slog level to a syslog severity.
func SyslogLevel(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return LevelErr
	case l >= slog.LevelWarn:
		return LevelWarning
	case l >= slog.LevelInfo:
		return LevelNotice // HAProxy reports its own state changes as notices
	}
	return LevelDebug
}

// Handle implements slog.Handler: "message k=v k=v".
func (e *Events) Handle(_ context.Context, r slog.Record) error {
	s := e.cur.Load()
	if s == nil {
		return nil
	}
	var b strings.Builder
	b.WriteString(r.Message)
	b.WriteString(e.attrs)
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(&b, e.group, a)
		return true
	})
	s.Send(SyslogLevel(r.Level), []byte(b.String()))
	return nil
}

// WithAttrs implements slog.Handler.
func (e *Events) WithAttrs(as []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(e.attrs)
	for _, a := range as {
		writeAttr(&b, e.group, a)
	}
	n := *e
	n.attrs = b.String()
	return &n
}

// WithGroup implements slog.Handler.
func (e *Events) WithGroup(name string) slog.Handler {
	n := *e
	if n.group != "" {
		n.group += "."
	}
	n.group += name
	return &n
}

func writeAttr(b *strings.Builder, group string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		g := a.Key
		if group != "" {
			g = group + "." + a.Key
		}
		for _, x := range a.Value.Group() {
			writeAttr(b, g, x)
		}
		return
	}
	b.WriteByte(' ')
	if group != "" {
		b.WriteString(group)
		b.WriteByte('.')
	}
	b.WriteString(a.Key)
	b.WriteByte('=')
	var v string
	if a.Value.Kind() == slog.KindTime {
		v = a.Value.Time().Format(time.RFC3339)
	} else {
		v = a.Value.String()
	}
	if v == "" || strings.ContainsAny(v, " \"=\t\n") {
		v = strconv.Quote(v)
	}
	b.WriteString(v)
}

// Tee is a slog.Handler that passes each record to both handlers.
type Tee struct{ A, B slog.Handler }

// Enabled implements slog.Handler.
func (t Tee) Enabled(ctx context.Context, l slog.Level) bool {
	return t.A.Enabled(ctx, l) || t.B.Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (t Tee) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if t.A.Enabled(ctx, r.Level) {
		err = t.A.Handle(ctx, r.Clone())
	}
	if t.B.Enabled(ctx, r.Level) {
		if e := t.B.Handle(ctx, r); err == nil {
			err = e
		}
	}
	return err
}

// WithAttrs implements slog.Handler.
func (t Tee) WithAttrs(as []slog.Attr) slog.Handler {
	return Tee{t.A.WithAttrs(as), t.B.WithAttrs(as)}
}

// WithGroup implements slog.Handler.
func (t Tee) WithGroup(name string) slog.Handler {
	return Tee{t.A.WithGroup(name), t.B.WithGroup(name)}
}
