package daemon

import (
	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/httpproxy"
	"tandem/internal/tcpproxy"
)

// targetOf returns the backend a frontend sends its traffic to: the first unconditional
// use_backend, else default_backend (nil: none, e.g. a stats-only listen section).
func targetOf(f *config.Frontend) *config.Backend {
	if len(f.UseBackends) > 0 {
		return f.UseBackends[0].Backend
	}
	return f.DefaultBackend
}

func poolOf(f *config.Frontend, pools map[string]*backend.Pool) *backend.Pool {
	if b := targetOf(f); b != nil {
		return pools[b.Name]
	}
	return nil
}

func (d *Daemon) newFront(cfg *config.Config, f *config.Frontend, pools map[string]*backend.Pool) *front {
	log := d.log.With("frontend", f.Name)
	fr := &front{cfg: f, sem: make(chan struct{}, maxConnOf(f))}
	switch f.Mode {
	case config.ModeTCP:
		h := tcpproxy.NewHandler(&tcpproxy.Route{Frontend: f, Pool: poolOf(f, pools), Stats: d.obs.counters.Frontend(f.Name), Log: d.loggerOf(f)}, log)
		h.Reactor = d.reactor
		fr.h = h
		fr.swap = func(_ *config.Config, f *config.Frontend, pools map[string]*backend.Pool) {
			h.Swap(&tcpproxy.Route{Frontend: f, Pool: poolOf(f, pools), Stats: d.obs.counters.Frontend(f.Name), Log: d.loggerOf(f)})
		}
	default:
		route := func(cfg *config.Config, f *config.Frontend, pools map[string]*backend.Pool) *httpproxy.Route {
			return &httpproxy.Route{Frontend: f, Backends: pools, Default: poolOf(f, pools), Global: &cfg.Global,
				Stats: d.obs.counters.Frontend(f.Name), Service: d.obs.service(f), Log: d.loggerOf(f),
				BackendServices: d.obs.backendServices(cfg, f)}
		}
		h := httpproxy.NewHandler(route(cfg, f, pools), log)
		h.Idle = d.idle
		fr.h = h
		fr.swap = func(cfg *config.Config, f *config.Frontend, pools map[string]*backend.Pool) {
			h.Swap(route(cfg, f, pools))
		}
	}
	return fr
}
