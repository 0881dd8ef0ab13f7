package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tandem/internal/config"
)

// DefaultQueueLen is how many lines a target holds before it drops.
const DefaultQueueLen = 4096

// DefaultMaxLen is a line's default maximum length (HAProxy's `len` default).
const DefaultMaxLen = 1024

// Options tune a System. The zero value is usable.
type Options struct {
	Tag          string           // syslog tag; default global log-tag, else the program's name
	SendHostname string           // host name in rfc3164/rfc5424 headers; default per log-send-hostname
	QueueLen     int              // per target; default DefaultQueueLen
	Clock        func() time.Time // default time.Now
	Log          *slog.Logger     // where sender errors go (once per target and kind)
	Stdout       io.Writer        // default os.Stdout
	Stderr       io.Writer        // default os.Stderr
}

// System owns the log targets of one configuration and their sender goroutines.
type System struct {
	opts    Options
	hdr     header
	env     Env
	global  []*Target
	targets map[string]*Target
	ctx     context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup
	lines   sync.Pool
}

// Target is one destination with its own bounded queue and sender goroutine.
type Target struct {
	Address  string
	framing  Framing
	facility int
	maxLevel int
	minLevel int
	maxLen   int
	network  string // udp, udp4, udp6, unixgram, "" (writer)
	raddr    string
	w        io.Writer
	conn     net.Conn
	lastDial time.Time
	q        chan *line
	sys      *System
	warned   atomic.Bool

	sent, drops, errs atomic.Uint64
}

type line struct{ b []byte }

// Sent returns how many lines the target wrote.
func (t *Target) Sent() uint64 { return t.sent.Load() }

// Drops returns how many lines were lost: queue full, or a write that failed.
func (t *Target) Drops() uint64 { return t.drops.Load() }

// New builds the targets of g's `log` lines; proxies' own lines join in Logger. The
// senders run until Close.
func New(g *config.Global, opts Options) (*System, error) {
	if opts.QueueLen <= 0 {
		opts.QueueLen = DefaultQueueLen
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	host, _ := os.Hostname()
	if g != nil {
		if opts.Tag == "" {
			opts.Tag = g.LogTag
		}
		if opts.SendHostname == "" && g.LogSendHostname {
			opts.SendHostname = g.LogHostname
			if opts.SendHostname == "" {
				opts.SendHostname = host
			}
		}
	}
	if opts.Tag == "" {
		opts.Tag = filepath.Base(os.Args[0])
	}
	s := &System{opts: opts, targets: map[string]*Target{},
		hdr: header{tag: opts.Tag, hostname: opts.SendHostname, pid: os.Getpid()},
		env: Env{Hostname: host, PID: os.Getpid()}}
	s.lines.New = func() any { return &line{b: make([]byte, 0, 2*DefaultMaxLen)} }
	s.ctx, s.stop = context.WithCancel(context.Background())
	if g != nil {
		for _, lt := range g.Logs {
			t, err := s.target(lt)
			if err != nil {
				s.Close()
				return nil, err
			}
			s.global = append(s.global, t)
		}
	}
	return s, nil
}

func targetKey(lt config.LogTarget) string {
	return strings.Join([]string{lt.Address, strconv.Itoa(lt.Len), lt.Format, lt.Facility, lt.Level, lt.MinLevel}, "\x00")
}

// target returns the (shared) target of lt, starting its sender.
func (s *System) target(lt config.LogTarget) (*Target, error) {
	key := targetKey(lt)
	if t := s.targets[key]; t != nil {
		return t, nil
	}
	t := &Target{Address: lt.Address, maxLevel: LevelDebug, minLevel: LevelEmerg, maxLen: lt.Len, sys: s,
		q: make(chan *line, s.opts.QueueLen)}
	if t.maxLen <= 0 {
		t.maxLen = DefaultMaxLen
	}
	var err error
	if t.framing, err = ParseFraming(lt.Format); err != nil {
		return nil, fmt.Errorf("log %s: %w", lt.Address, err)
	}
	if t.facility, err = FacilityCode(lt.Facility); err != nil {
		return nil, fmt.Errorf("log %s: %w", lt.Address, err)
	}
	if lt.Level != "" {
		if t.maxLevel, err = LevelCode(lt.Level); err != nil {
			return nil, fmt.Errorf("log %s: %w", lt.Address, err)
		}
	}
	if lt.MinLevel != "" {
		if t.minLevel, err = LevelCode(lt.MinLevel); err != nil {
			return nil, fmt.Errorf("log %s: %w", lt.Address, err)
		}
	}
	if err := t.resolve(s); err != nil {
		return nil, fmt.Errorf("log %s: %w", lt.Address, err)
	}
	s.targets[key] = t
	s.wg.Add(1)
	go t.run(s.ctx, &s.wg)
	return t, nil
}

// resolve maps the address to a network and a remote address.
func (t *Target) resolve(s *System) error {
	a := t.Address
	switch {
	case a == "stdout" || a == "fd@1":
		t.w = s.opts.Stdout
		return nil
	case a == "stderr" || a == "fd@2":
		t.w = s.opts.Stderr
		return nil
	case strings.HasPrefix(a, "fd@"):
		return fmt.Errorf("only fd@1 and fd@2 are supported")
	case strings.HasPrefix(a, "/"):
		t.network, t.raddr = "unixgram", a
		return nil
	case strings.HasPrefix(a, "unix@"):
		t.network, t.raddr = "unixgram", a[len("unix@"):]
		return nil
	case strings.HasPrefix(a, "tcp"):
		return fmt.Errorf("tcp log targets are not supported by tandem (use udp or a unix socket)")
	}
	t.network = "udp"
	for pfx, nw := range map[string]string{"udp@": "udp", "udp4@": "udp4", "ipv4@": "udp4", "udp6@": "udp6", "ipv6@": "udp6"} {
		if strings.HasPrefix(a, pfx) {
			t.network, a = nw, a[len(pfx):]
			break
		}
	}
	if _, _, err := net.SplitHostPort(a); err != nil {
		a = net.JoinHostPort(strings.Trim(a, "[]"), "514")
	}
	t.raddr = a
	return nil
}

// run is the target's sender: it owns the socket.
func (t *Target) run(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	defer func() {
		if t.conn != nil {
			t.conn.Close()
		}
	}()
	for {
		select {
		case ln := <-t.q:
			t.write(ln.b)
			t.sys.putLine(ln)
		case <-ctx.Done():
			// What is queued already goes out, for at most drainFor.
			end := time.Now().Add(drainFor)
			for time.Now().Before(end) {
				select {
				case ln := <-t.q:
					t.write(ln.b)
					t.sys.putLine(ln)
				default:
					return
				}
			}
			return
		}
	}
}

const (
	redialEvery = time.Second
	drainFor    = 500 * time.Millisecond
)

func (t *Target) write(b []byte) {
	if t.w != nil {
		if _, err := t.w.Write(b); err != nil {
			t.fail(err)
			return
		}
		t.sent.Add(1)
		return
	}
	if t.conn == nil {
		now := time.Now()
		if !t.lastDial.IsZero() && now.Sub(t.lastDial) < redialEvery {
			t.drops.Add(1)
			return
		}
		t.lastDial = now
		c, err := net.DialTimeout(t.network, t.raddr, time.Second)
		if err != nil {
			t.fail(err)
			return
		}
		t.conn = c
	}
	t.conn.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := t.conn.Write(b); err != nil {
		t.fail(err)
		if t.network == "unixgram" { // the reader may have restarted: reconnect later
			t.conn.Close()
			t.conn = nil
		}
		return
	}
	t.sent.Add(1)
}

func (t *Target) fail(err error) {
	t.drops.Add(1)
	t.errs.Add(1)
	if t.warned.CompareAndSwap(false, true) {
		t.sys.opts.Log.Warn("log target unreachable: lines are dropped", "target", t.Address, "err", err)
	}
}

func (s *System) getLine() *line {
	ln := s.lines.Get().(*line)
	ln.b = ln.b[:0]
	return ln
}

func (s *System) putLine(ln *line) {
	if cap(ln.b) > 64<<10 {
		return
	}
	s.lines.Put(ln)
}

// send frames msg for t and queues it without blocking.
func (t *Target) send(level int, now time.Time, msg []byte) {
	if level > t.maxLevel {
		return
	}
	if level < t.minLevel {
		level = t.minLevel
	}
	s := t.sys
	ln := s.getLine()
	ln.b = appendFramed(ln.b, t.framing, &s.hdr, t.facility, level, now, msg, t.maxLen)
	select {
	case t.q <- ln:
	default:
		t.drops.Add(1)
		s.putLine(ln)
	}
}

// Close stops the senders after they wrote what was queued.
func (s *System) Close() {
	s.stop()
	s.wg.Wait()
}

// Targets returns every target of the system (global ones first).
func (s *System) Targets() []*Target {
	out := append([]*Target(nil), s.global...)
	for _, t := range s.targets {
		if !containsTarget(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func containsTarget(ts []*Target, t *Target) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// Send writes a free-form message at level to the global targets.
func (s *System) Send(level int, msg []byte) {
	now := s.opts.Clock()
	for _, t := range s.global {
		t.send(level, now, msg)
	}
}

// TargetStats are one target's counters.
type TargetStats struct {
	Address       string
	Sent, Dropped uint64
}

// Stats returns the counters of every target (for the runtime API and metrics).
func (s *System) Stats() []TargetStats {
	var out []TargetStats
	for _, t := range s.Targets() {
		out = append(out, TargetStats{Address: t.Address, Sent: t.Sent(), Dropped: t.Drops()})
	}
	return out
}
