package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"

	"tandem/internal/config"
	"tandem/internal/config/keepalived"
	"tandem/internal/daemon"
)

// loadVRRPChecked loads keepalived.conf and, when a proxy runs beside it, cross-checks
// the two: errors refuse the load, warnings are logged.
func loadVRRPChecked(load func() (*config.VRRP, error), proxy *config.Config, log *slog.Logger) (*config.VRRP, error) {
	v, err := load()
	if err != nil {
		return nil, err
	}
	for _, w := range v.Warnings {
		log.Warn(w.Error())
	}
	if proxy == nil {
		return v, nil
	}
	errs, warns := keepalived.CrossCheck(proxy, v)
	for _, w := range warns {
		log.Warn(w.Error())
	}
	return v, errs.Err()
}

// trackerCheck evaluates in-process trackers (vrrp_script "tandem:…") against the
// running proxy; nil when there is no proxy.
func trackerCheck(d *daemon.Daemon) func(context.Context, config.InProcessCheck) error {
	if d == nil {
		return nil
	}
	return func(_ context.Context, c config.InProcessCheck) error {
		switch c.Kind {
		case "frontend":
			ok, err := d.FrontendBound(c.Name)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("frontend %q is not listening on every bind address", c.Name)
			}
			return nil
		case "backend":
			up, total, err := d.BackendUp(c.Name)
			if err != nil {
				return err
			}
			need := c.MinUp
			if c.Percent {
				need = (total*c.MinUp + 99) / 100
			}
			need = max(need, 1)
			if up < need {
				return fmt.Errorf("backend %q has %d of %d servers up, needs %d", c.Name, up, total, need)
			}
			return nil
		}
		return fmt.Errorf("unknown in-process tracker kind %q", c.Kind)
	}
}

// sessionsOn reports the connections the proxy accepted on given addresses, for the
// failover timeline's "first connection served"; nil when there is no proxy.
func sessionsOn(d *daemon.Daemon) func([]netip.Addr) (uint64, bool) {
	if d == nil {
		return nil
	}
	return d.SessionsOn
}
