package daemon

import (
	"context"
	"time"

	"tandem/internal/backend"
	"tandem/internal/check"
	"tandem/internal/config"
)

// runningCheck is one server's check runner and how to stop it.
type runningCheck struct {
	r      *check.Runner
	fp     string // check.Fingerprint of the configuration it runs
	cancel context.CancelFunc
	done   chan struct{}
}

func (rc *runningCheck) stop() {
	rc.cancel()
	<-rc.done
}

// applyChecks makes the running health checks follow cfg. A server whose backend and
// server names and check settings are unchanged keeps its runner, and with it the health
// it learnt; a changed one gets a new runner that starts from the server's current state;
// a server no longer checked is set UP again. d.mu is held.
func (d *Daemon) applyChecks(cfg *config.Config, pools map[string]*backend.Pool, fronts map[string]*front) {
	hs := make([]handler, 0, len(fronts)+len(d.retired))
	for _, f := range fronts {
		hs = append(hs, f.h)
	}
	for _, f := range d.retired {
		hs = append(hs, f.h)
	}
	d.handlers.Store(&hs)
	next := map[string]*runningCheck{}
	type pending struct {
		key  string
		be   *config.Backend
		srv  *config.Server
		pool *backend.Pool
		fp   string
		prev *check.Runner
	}
	var fresh []pending
	wanted := map[string]bool{}
	for _, be := range cfg.Backends {
		for _, s := range be.Servers {
			if !check.Wanted(s) {
				continue
			}
			key := be.Name + "/" + s.Name
			wanted[key] = true
			fp := check.Fingerprint(be, s)
			if old := d.checks[key]; old != nil && old.fp == fp {
				old.r.SetPool(pools[be.Name])
				next[key] = old
				continue
			}
			var prev *check.Runner
			if old := d.checks[key]; old != nil {
				prev = old.r // stopped below before the new one starts
			}
			fresh = append(fresh, pending{key, be, s, pools[be.Name], fp, prev})
		}
	}
	// Stop what is replaced or gone before starting the new runners of the same servers.
	for key, old := range d.checks {
		if next[key] == old {
			continue
		}
		old.stop()
		if !wanted[key] && stillServed(cfg, key) { // served without checks from now on
			old.r.Release()
		}
	}
	for i, p := range fresh {
		// Spread first checks over the interval, as HAProxy does at start.
		first := time.Duration(int64(p.srv.Check.Inter) * int64(i) / int64(len(fresh)))
		r, err := check.NewRunner(check.Options{Backend: p.be, Server: p.srv, State: d.states.Get(p.be.Name, p.srv.Name),
			Log: d.log, Spread: cfg.Global.SpreadChecks, First: first, Prev: p.prev,
			ShutdownSessions: d.shutdownSessions(p.srv.Addr.String())})
		if err != nil {
			d.log.Error("health check not started", "backend", p.be.Name, "server", p.srv.Name, "err", err)
			continue
		}
		r.SetPool(p.pool)
		ctx, cancel := context.WithCancel(context.Background())
		rc := &runningCheck{r: r, fp: p.fp, cancel: cancel, done: make(chan struct{})}
		go func() {
			defer close(rc.done)
			defer func() {
				if v := recover(); v != nil {
					d.log.Error("health check panic", "backend", p.be.Name, "server", p.srv.Name, "panic", v)
				}
			}()
			r.Run(ctx)
		}()
		next[p.key] = rc
	}
	d.checks = next
}

// stillServed reports whether "backend/server" key is in cfg (without checks).
func stillServed(cfg *config.Config, key string) bool {
	for _, be := range cfg.Backends {
		for _, s := range be.Servers {
			if be.Name+"/"+s.Name == key {
				return true
			}
		}
	}
	return false
}

// stopChecks stops every runner. d.mu is held.
func (d *Daemon) stopChecks() {
	for _, rc := range d.checks {
		rc.cancel()
	}
	for _, rc := range d.checks {
		<-rc.done
	}
	d.checks = nil
}

// shutdownSessions returns the on-marked-down shutdown-sessions action for the server at
// addr: close its sessions in every handler. It runs on a runner's goroutine, so it reads
// the handlers from an atomic snapshot, never under d.mu (a reload holding d.mu waits
// for runners to stop).
func (d *Daemon) shutdownSessions(addr string) func() int {
	return func() int {
		n := 0
		if hs := d.handlers.Load(); hs != nil {
			for _, h := range *hs {
				if s, ok := h.(interface{ ShutdownServer(string) int }); ok {
					n += s.ShutdownServer(addr)
				}
			}
		}
		return n
	}
}
