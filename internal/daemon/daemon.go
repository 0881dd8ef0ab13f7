// Package daemon runs a configuration: it builds backend pools and frontend handlers from a
// *config.Config, binds the listeners, swaps a new configuration in on reload without
// dropping a listening socket, and stops gracefully.
package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/h2"
	"tandem/internal/idlewait"
	"tandem/internal/listener"
	"tandem/internal/logging"
	"tandem/internal/proxystats"
	"tandem/internal/reactor"
	"tandem/internal/tlsconf"
)

// handler serves the connections of one frontend. httpproxy and tcpproxy provide them.
type handler interface {
	ServeConn(net.Conn)
	Drain()
	Close()
	Active() int
}

// asyncHandler serves a connection without holding a goroutine for it when idle, and
// calls done once the connection is closed (httpproxy).
type asyncHandler interface {
	Serve(c net.Conn, done func())
}

// front is a running frontend: its handler and how to swap a new route into it.
type front struct {
	// cfg is the frontend's section, swapped in by a reload while connections read it
	cfg  atomic.Pointer[config.Frontend]
	h    handler
	swap func(cfg *config.Config, f *config.Frontend, pools map[string]*backend.Pool)
	sem  atomic.Pointer[chan struct{}] // frontend maxconn; a reload may swap it
	h2o  atomic.Pointer[h2.Options]    // HTTP/2 settings (mode http), h2.go
	// the frontend's counters (a name's are the same across reloads), for the
	// connections served outside its handler (h2.go)
	stats *proxystats.Frontend
}

// errNoRawAccept: the listener gives no raw socket to accept on.
var errNoRawAccept = errors.New("listener has no raw socket")

// acceptor accepts on one listener and hands connections to its current front.
type acceptor struct {
	key    listener.Key
	ln     net.Listener
	target atomic.Pointer[front]
	done   chan struct{}

	// Raw accepts (accept_linux.go) wait on a duplicate of the listening socket.
	rawMu      sync.Mutex
	raw        *os.File
	rawRC      syscall.RawConn
	rawStopped bool

	tls    atomic.Pointer[tlsconf.Live]   // the bind's certificates (nil: plain), tls.go
	tlsLog atomic.Pointer[logging.Logger] // its frontend's traffic log, for failed handshakes
	h2     atomic.Bool                    // bind … proto h2: every connection speaks HTTP/2
	proxy  atomic.Bool                    // accept-proxy: a PROXY header comes first, proxy.go
}

// Options configure a Daemon.
type Options struct {
	Log *slog.Logger
	// Load reads and validates the configuration files; the daemon calls it at start and
	// on every reload.
	Load func() (*config.Config, error)
	// Version is shown by the stats page, the runtime API and the metrics.
	Version string
	// Events, when set, receives the log targets of each configuration applied, so that
	// tandem's own events reach them (a logging.Tee of Log's handler and Events).
	Events *logging.Events
	// ListenStats, when set, opens the socket of a `stats socket` line instead of
	// runtimeapi.Listen (a master-worker worker takes the one its master holds).
	ListenStats func(config.StatsSocket) (net.Listener, error)
}

// Daemon runs one configuration at a time.
type Daemon struct {
	log    *slog.Logger
	load   func() (*config.Config, error)
	lns    *listener.Set
	states *backend.States

	mu        sync.Mutex // serialises Start, Reload and Stop
	cfg       *config.Config
	pools     map[string]*backend.Pool
	fronts    map[string]*front
	acceptors map[listener.Key]*acceptor
	retired   []*front // replaced or removed frontends still draining
	global    chan struct{}
	idle      *idlewait.Waiter // parks idle keep-alive connections; nil where unsupported
	reactor   *reactor.Group   // serves established TCP sessions; nil where unsupported
	stopped   bool
	conns     sync.WaitGroup
	maxConn   int
	obs       *observe                  // stats page, metrics, runtime API (stats.go)
	checks    map[string]*runningCheck  // health check runners by "backend/server" (checks.go)
	handlers  atomic.Pointer[[]handler] // every serving or draining handler, for runners (checks.go)
	logs      *logSet                   // log targets and traffic loggers of cfg
	events    *logging.Events           // see Options.Events
	tables    *tableSet                 // live stick tables (tables.go)
}

// New returns a daemon that has not started.
func New(opt Options) *Daemon {
	d := &Daemon{
		log:       opt.Log,
		load:      opt.Load,
		lns:       listener.NewSet(),
		states:    backend.NewStates(),
		fronts:    map[string]*front{},
		acceptors: map[listener.Key]*acceptor{},
		obs:       newObserve(opt.Version, opt.ListenStats),
		events:    opt.Events,
		tables:    newTableSet(),
	}
	d.obs.src.Tables = d.tables.tables
	if w, err := idlewait.New(0); err == nil {
		d.idle = w
	}
	d.lns.Freebind = func(k listener.Key) {
		d.log.Warn("address is not local yet; bound it with IP_FREEBIND so it serves once it arrives (a VRRP VIP?)", "bind", k.Addr.String())
	}
	return d
}

// Start loads the configuration and starts serving it.
func (d *Daemon) Start() error {
	cfg, err := d.load()
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.maxConn = applyGlobal(&cfg.Global, d.log)
	d.global = make(chan struct{}, d.maxConn)
	// One loop per CPU that nbthread (just applied) lets Go use.
	if g, err := reactor.NewGroup(0, d.log); err == nil {
		d.reactor = g
	} else if !errors.Is(err, reactor.ErrUnsupported) {
		d.log.Warn("TCP sessions run on goroutines: no event loop", "err", err)
	}
	if err := d.apply(cfg); err != nil {
		return err
	}
	return d.startError() // a stats socket that cannot be opened stops the start, as HAProxy

}

// SetOpener makes the daemon open new listening sockets with open from now on (a process
// that dropped its privileges asks its privileged helper).
func (d *Daemon) SetOpener(open func(listener.Key) (net.Listener, bool, error)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lns.Open = open
}

// Config returns the configuration being served.
func (d *Daemon) Config() *config.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// Reload reads the files again and swaps the new configuration in. When the new one does
// not load or a new address cannot be bound, nothing changes and the error says why.
func (d *Daemon) Reload() error {
	cfg, err := d.load()
	if err != nil {
		return fmt.Errorf("reload refused, still serving the previous configuration: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return errors.New("reload refused: stopping")
	}
	if err := d.apply(cfg); err != nil {
		return fmt.Errorf("reload refused, still serving the previous configuration: %w", err)
	}
	return nil
}

// apply makes cfg the running configuration. d.mu is held.
func (d *Daemon) apply(cfg *config.Config) error {
	// 1. Every socket the new configuration needs, before anything changes.
	keys := map[listener.Key]*config.Frontend{}
	tlsOf := map[listener.Key]*tlsconf.Bind{}
	h2Of := map[listener.Key]bool{}
	proxyOf := map[listener.Key]bool{}
	for _, f := range cfg.Frontends {
		for _, b := range f.Binds {
			k := listener.KeyOf(b)
			tlsOf[k], proxyOf[k] = b.TLS, b.AcceptProxy
			h2Of[k] = b.Proto == "h2"
			if other, dup := keys[k]; dup && other != f {
				return config.Errorf(b.Pos, "frontend %q: address %s is already bound by frontend %q", f.Name, b.Text, other.Name)
			}
			keys[k] = f
			if _, _, err := d.lns.Get(k); err != nil {
				// Close only what this attempt opened: the running sockets stay.
				running := map[listener.Key]bool{}
				for k := range d.acceptors {
					running[k] = true
				}
				d.lns.Retain(running)
				return config.Errorf(b.Pos, "frontend %q: %v", f.Name, err)
			}
		}
	}

	// 2. Pools: live server state carries over through d.states.
	pools := make(map[string]*backend.Pool, len(cfg.Backends))
	for _, b := range cfg.Backends {
		pools[b.Name] = backend.New(b, d.states)
	}

	// Stick tables: unchanged ones keep their entries.
	d.tables.apply(cfg)

	oldLogs := d.applyLogs(cfg)
	if oldLogs != nil {
		defer oldLogs.Close()
	}

	// 3. Frontends: an unchanged name and mode keeps its handler (and its connections).
	fronts := make(map[string]*front, len(cfg.Frontends))
	for _, f := range cfg.Frontends {
		if old := d.fronts[f.Name]; old != nil && old.cfg.Load().Mode == f.Mode {
			old.swap(cfg, f, pools)
			old.cfg.Store(f)
			if cap(*old.sem.Load()) != maxConnOf(f) {
				old.setMaxConn(maxConnOf(f))
			}
			fronts[f.Name] = old
			continue
		}
		fronts[f.Name] = d.newFront(cfg, f, pools)
	}
	for name, old := range d.fronts {
		if fronts[name] != old {
			old.h.Drain()
			d.retired = append(d.retired, old)
		}
	}

	// 4. Acceptors follow the new frontends; sockets no longer wanted close.
	keep := map[listener.Key]bool{}
	for k, f := range keys {
		keep[k] = true
		fr := fronts[f.Name]
		if a := d.acceptors[k]; a != nil {
			a.setTLS(tlsOf[k], d.loggerOf(f))
			a.proxy.Store(proxyOf[k])
			a.h2.Store(h2Of[k])
			a.target.Store(fr)
			continue
		}
		ln, _, _ := d.lns.Get(k)
		a := &acceptor{key: k, ln: ln, done: make(chan struct{})}
		a.setTLS(tlsOf[k], d.loggerOf(f))
		a.proxy.Store(proxyOf[k])
		a.h2.Store(h2Of[k])
		a.target.Store(fr)
		d.acceptors[k] = a
		go d.accept(a)
	}
	for _, k := range d.lns.Retain(keep) {
		if a := d.acceptors[k]; a != nil {
			a.stopRaw()
			<-a.done
			delete(d.acceptors, k)
		}
		d.log.Info("stopped listening", "bind", k.Addr.String())
	}
	d.applyChecks(cfg, pools, fronts)
	d.resetCerts() // tls.go
	d.cfg, d.pools, d.fronts = cfg, pools, fronts
	d.publish(cfg, pools)
	return nil
}

// acceptorOf returns the running acceptor of bind b, or nil. d.mu is held.
func (d *Daemon) acceptorOf(b config.Bind) *acceptor {
	return d.acceptors[listener.KeyOf(b)]
}

func maxConnOf(f *config.Frontend) int {
	if f.MaxConn > 0 {
		return f.MaxConn
	}
	return config.DefaultMaxConn
}

// accept runs until its listener closes.
func (d *Daemon) accept(a *acceptor) {
	defer close(a.done)
	defer a.stopRaw() // the duplicate must not keep a closed listener's port open
	var delay time.Duration
	for {
		fr := a.target.Load()
		sem := *fr.sem.Load() // a connection releases the slot it took, whatever a reload does
		sem <- struct{}{}
		d.global <- struct{}{}
		var c net.Conn
		fd, peer, err := -1, netip.AddrPort{}, error(nil)
		live, proxied := a.tls.Load(), a.proxy.Load()
		if _, raw := takesFD(fr.h); raw && live == nil && !proxied && !a.h2.Load() {
			fd, peer, err = a.acceptFD()
		}
		if fd < 0 && (err == nil || err == errNoRawAccept) {
			c, err = a.ln.Accept()
		}
		if err != nil {
			<-d.global
			<-sem
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors or similar: back off instead of spinning.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			d.log.Error("accept failed", "bind", a.key.Addr.String(), "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		fr = a.target.Load() // a reload may have happened while we waited
		d.conns.Add(1)
		release := func() { <-d.global; <-sem; d.conns.Done() }
		if proxied && fd < 0 {
			go d.serveProxied(a, fr, c, live, release)
			continue
		}
		if live != nil && fd < 0 {
			go d.serveTLS(a, fr, c, live, release)
			continue
		}
		if fd >= 0 {
			if fs, raw := takesFD(fr.h); raw {
				fs.ServeFD(fd, peer, release)
				continue
			}
			if c, err = fdConn(fd); err != nil {
				d.log.Error("accept failed", "bind", a.key.Addr.String(), "err", err)
				release()
				continue
			}
		}
		if a.h2.Load() && fr.cfg.Load().Mode == config.ModeHTTP {
			go d.serveH2(fr, c, "http", release) // h2c with prior knowledge
			continue
		}
		if ah, ok := fr.h.(asyncHandler); ok {
			ah.Serve(c, release)
			continue
		}
		go func() {
			defer release()
			fr.h.ServeConn(c)
		}()
	}
}

// Stop closes the listeners, lets connections finish until grace has passed (0: wait
// without bound), then closes what is left.
func (d *Daemon) Stop(grace time.Duration) {
	d.mu.Lock()
	d.stopped = true
	d.stopChecks()
	d.tables.close()
	d.closeObserve()
	d.lns.CloseAll()
	for _, a := range d.acceptors {
		a.stopRaw()
		<-a.done
	}
	all := append([]*front(nil), d.retired...)
	for _, f := range d.fronts {
		all = append(all, f)
	}
	d.mu.Unlock()
	for _, f := range all {
		f.h.Drain()
	}
	done := make(chan struct{})
	go func() { d.conns.Wait(); close(done) }()
	var timeout <-chan time.Time
	if grace > 0 {
		t := time.NewTimer(grace)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-done:
	case <-timeout:
		n := 0
		for _, f := range all {
			n += f.h.Active()
			f.h.Close()
		}
		d.log.Warn("grace period over, closed remaining connections", "connections", n, "grace", grace)
		<-done
	}
	if d.reactor != nil {
		d.reactor.Close()
	}
	d.closeLogs()
	if d.idle != nil {
		d.idle.Close()
	}
}
