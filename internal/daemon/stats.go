package daemon

import (
	"errors"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/httpproxy"
	"tandem/internal/metrics"
	"tandem/internal/proxystats"
	"tandem/internal/runtimeapi"
	"tandem/internal/stats"
)

// observe is the daemon's side of observability (issue 5): frontend counters that
// survive reloads, the stats page and metrics served by frontends, and the runtime API
// sockets.
type observe struct {
	counters *proxystats.Registry
	vrrp     atomic.Pointer[func() []stats.VRRPInstance]
	vrrpSw   atomic.Pointer[func(string) error]
	cfg      atomic.Pointer[config.Config]
	pools    atomic.Pointer[map[string]*backend.Pool]
	src      *stats.Source
	metrics  http.Handler
	api      *runtimeapi.Server
	listen   func(config.StatsSocket) (net.Listener, error) // opens a stats socket

	mu        sync.Mutex
	sockets   map[string]*apiSocket // by address
	published bool
	startErr  error // a socket the first configuration could not open: tandem does not start
}

type apiSocket struct {
	sock config.StatsSocket
	ln   net.Listener
}

func newObserve(version string, listen func(config.StatsSocket) (net.Listener, error)) *observe {
	if listen == nil {
		listen = runtimeapi.Listen
	}
	o := &observe{counters: proxystats.NewRegistry(), sockets: map[string]*apiSocket{}, listen: listen}
	host, _ := os.Hostname()
	o.src = &stats.Source{
		Config: func() *config.Config { return o.cfg.Load() },
		Pools: func() map[string]*backend.Pool {
			if p := o.pools.Load(); p != nil {
				return *p
			}
			return nil
		},
		Frontends: o.counters,
		VRRP: func() ([]stats.VRRPInstance, bool) {
			if f := o.vrrp.Load(); f != nil {
				return (*f)(), true
			}
			return nil, false
		},
		Process: stats.Process{Pid: os.Getpid(), Version: version, Start: time.Now(), Node: host,
			Nbthread: runtime.GOMAXPROCS(0)},
	}
	o.src.VRRPSwitchover = func(name string) error {
		if f := o.vrrpSw.Load(); f != nil {
			return (*f)(name)
		}
		return errors.New("VRRP is not running (start tandem with -k keepalived.conf)")
	}
	o.src.Check = o.checkInfo
	o.src.SetHealth = o.setHealth
	o.metrics = metrics.Handler(o.src)
	return o
}

// server finds the live server backend/server in the running configuration.
func (o *observe) server(bk, sv string) *backend.Server {
	if p := o.pools.Load(); p != nil {
		if pool := (*p)[bk]; pool != nil {
			for _, s := range pool.Servers {
				if s.Cfg.Name == sv {
					return s
				}
			}
		}
	}
	return nil
}

// checkInfo is what the pages show of a server's health checks (internal/check writes
// it into the server's state).
func (o *observe) checkInfo(s *backend.Server) (stats.CheckInfo, bool) {
	c := s.CheckInfo()
	if !c.Enabled || !s.HealthChecksOn() {
		return stats.CheckInfo{}, false
	}
	return stats.CheckInfo{
		Enabled: true, Status: c.Status, Code: c.Code, Duration: c.Duration, Desc: c.Desc, Info: c.Info,
		Fails: c.Failures, Downs: c.Downs, LastChange: c.LastChange, Downtime: c.Downtime(time.Now()),
		Health: c.Health, Rise: c.Rise, Fall: c.Fall,
	}, true
}

// errNoSuchServer is HAProxy's runtime API text, capital and all.
//
//lint:ignore ST1005 the runtime API answers in HAProxy's exact words
var errNoSuchServer = errors.New("No such server")

// setHealth is the runtime API's enable/disable health.
func (o *observe) setHealth(bk, sv string, on bool) error {
	s := o.server(bk, sv)
	if s == nil {
		return errNoSuchServer
	}
	s.SetHealthChecks(on)
	return nil
}

// service returns what frontend f answers itself (stats page, metrics), or nil.
func (o *observe) service(f *config.Frontend) httpproxy.Service {
	if f.Stats == nil && f.MetricsPath == "" && !f.MetricsRule {
		return nil
	}
	return stats.NewService(o.src, f, o.metrics, o.counters.Frontend(f.Name))
}

// backendServices returns the stats pages of the backends with stats lines, as frontend
// f serves them (its counters, its timeouts); nil when there is none.
func (o *observe) backendServices(cfg *config.Config, f *config.Frontend) map[string]httpproxy.Service {
	var m map[string]httpproxy.Service
	for _, b := range cfg.Backends {
		if b.Stats == nil {
			continue
		}
		if m == nil {
			m = map[string]httpproxy.Service{}
		}
		fe := &config.Frontend{Name: f.Name, Mode: config.ModeHTTP, Timeouts: f.Timeouts, Stats: b.Stats}
		m[b.Name] = stats.NewService(o.src, fe, nil, o.counters.Frontend(f.Name))
	}
	return m
}

// publish makes cfg and pools what the pages and the runtime API read, and opens or
// closes runtime API sockets to follow the `stats socket` lines. d.mu is held.
func (d *Daemon) publish(cfg *config.Config, pools map[string]*backend.Pool) {
	o := d.obs
	o.cfg.Store(cfg)
	o.pools.Store(&pools)
	o.src.Process.MaxConn = d.maxConn
	o.src.Process.MaxSock = 2*d.maxConn + reservedFDs
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.api == nil {
		o.api = runtimeapi.New(o.src, cfg.Global.StatsTimeout, d.log.With("component", "runtime-api"))
	}
	want := map[string]bool{}
	for _, s := range cfg.Global.StatsSockets {
		want[s.Address] = true
		if old := o.sockets[s.Address]; old != nil && old.sock.Mode == s.Mode && old.sock.Level == s.Level {
			continue
		} else if old != nil {
			old.ln.Close()
			delete(o.sockets, s.Address)
		}
		level, err := runtimeapi.ParseLevel(s.Level)
		if err == nil {
			var ln net.Listener
			if ln, err = o.listen(s); err == nil {
				o.sockets[s.Address] = &apiSocket{sock: s, ln: ln}
				go func() {
					if err := o.api.Serve(ln, level); err != nil {
						d.log.Error("stats socket stopped", "address", s.Address, "err", err)
					}
				}()
				continue
			}
		}
		if !o.published && o.startErr == nil {
			o.startErr = config.Errorf(s.Pos, "%v", err)
		}
		d.log.Error("cannot open the stats socket", "address", s.Address, "err", err)
	}
	o.published = true
	for addr, s := range o.sockets {
		if !want[addr] {
			s.ln.Close()
			delete(o.sockets, addr)
		}
	}
}

// startError reports a stats socket the first configuration could not open.
func (d *Daemon) startError() error {
	d.obs.mu.Lock()
	defer d.obs.mu.Unlock()
	return d.obs.startErr
}

// closeObserve closes the runtime API.
func (d *Daemon) closeObserve() {
	o := d.obs
	o.mu.Lock()
	api := o.api
	o.sockets = map[string]*apiSocket{}
	o.mu.Unlock()
	if api != nil {
		api.Close()
	}
}

// ServeAPI serves the runtime API at admin level on ln until ln or the daemon closes
// (the master CLI's `@N command` forwarding reaches a worker this way). Start has run.
func (d *Daemon) ServeAPI(ln net.Listener) error {
	d.obs.mu.Lock()
	api := d.obs.api
	d.obs.mu.Unlock()
	if api == nil {
		ln.Close()
		return errors.New("the daemon has not started")
	}
	return api.Serve(ln, runtimeapi.LevelAdmin)
}

// StatsSource returns the live state behind the stats page, the metrics and the
// runtime API.
func (d *Daemon) StatsSource() *stats.Source { return d.obs.src }

// SetVRRPSwitchover makes `vrrp switchover` hand VIPs over with f; nil: not available.
func (d *Daemon) SetVRRPSwitchover(f func(instance string) error) {
	if f == nil {
		d.obs.vrrpSw.Store(nil)
		return
	}
	d.obs.vrrpSw.Store(&f)
}

// SetVRRPStatus makes the stats page, `show vrrp` and the metrics show VRRP instances
// (tandem -k); nil hides VRRP.
func (d *Daemon) SetVRRPStatus(f func() []stats.VRRPInstance) {
	if f == nil {
		d.obs.vrrp.Store(nil)
		return
	}
	d.obs.vrrp.Store(&f)
}
