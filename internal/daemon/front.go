package daemon

import (
	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/h2"
	"tandem/internal/httpproxy"
	"tandem/internal/tcpproxy"
)

// poolOf returns the pool of the frontend's default_backend: where traffic goes when no
// use_backend rule applies (nil: none, e.g. a stats-only listen section). The data
// paths evaluate the use_backend rules themselves (with Backends).
func poolOf(f *config.Frontend, pools map[string]*backend.Pool) *backend.Pool {
	if b := f.DefaultBackend; b != nil {
		return pools[b.Name]
	}
	return nil
}

func (d *Daemon) newFront(cfg *config.Config, f *config.Frontend, pools map[string]*backend.Pool) *front {
	log := d.log.With("frontend", f.Name)
	fr := &front{stats: d.obs.counters.Frontend(f.Name)}
	fr.cfg.Store(f)
	fr.setMaxConn(maxConnOf(f))
	switch f.Mode {
	case config.ModeTCP:
		route := func(f *config.Frontend, pools map[string]*backend.Pool) *tcpproxy.Route {
			return &tcpproxy.Route{Frontend: f, Pool: tcpPoolOf(f, pools), Backends: pools, Stats: fr.stats, Log: d.loggerOf(f), Tables: d.tables.byNameNow()}
		}
		h := tcpproxy.NewHandler(route(f, pools), log)
		h.Reactor = d.reactor
		fr.h = h
		fr.swap = func(_ *config.Config, f *config.Frontend, pools map[string]*backend.Pool) { h.Swap(route(f, pools)) }
	default:
		route := func(cfg *config.Config, f *config.Frontend, pools map[string]*backend.Pool) *httpproxy.Route {
			return &httpproxy.Route{Frontend: f, Backends: pools, Default: poolOf(f, pools), Global: &cfg.Global,
				Stats: fr.stats, Service: d.obs.service(f), Log: d.loggerOf(f),
				BackendServices: d.obs.backendServices(cfg, f),
				Tables:          d.tables.byNameNow()}
		}
		h := httpproxy.NewHandler(route(cfg, f, pools), log)
		h.Idle = d.idle
		fr.h = h2Front{Handler: h, sv: h2.NewServer()} // h2.go
		o := h2Options(cfg, f)
		fr.h2o.Store(&o)
		fr.swap = func(cfg *config.Config, f *config.Frontend, pools map[string]*backend.Pool) {
			h.Swap(route(cfg, f, pools))
			o := h2Options(cfg, f)
			fr.h2o.Store(&o)
		}
	}
	return fr
}

// tcpPoolOf is a TCP frontend's pool when no rule decides: the first use_backend when
// it is unconditional (the rules after it never apply), else default_backend.
func tcpPoolOf(f *config.Frontend, pools map[string]*backend.Pool) *backend.Pool {
	if len(f.UseBackends) > 0 {
		if ub := f.UseBackends[0]; ub.Cond == nil && ub.Name == nil && ub.Backend != nil {
			return pools[ub.Backend.Name]
		}
	}
	return poolOf(f, pools)
}

// setMaxConn gives the frontend a new limit of n connections (the ones open keep the
// slots they hold in the old one).
func (fr *front) setMaxConn(n int) {
	sem := make(chan struct{}, n)
	fr.sem.Store(&sem)
}
