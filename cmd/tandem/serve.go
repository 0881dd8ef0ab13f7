package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"tandem/internal/config"
	"tandem/internal/daemon"
	"tandem/internal/logging"
	"tandem/internal/privsep"
)

// defaultGrace bounds a SIGTERM stop when global hard-stop-after is not set.
const defaultGrace = 5 * time.Second

// runOpts is what serve runs: the proxy (load), VRRP (loadVRRP), or both.
type runOpts struct {
	load     func() (*config.Config, error) // nil: no proxy
	loadFrom privsep.LoadFunc               // not nil: privileges may be dropped (chroot/user/group)
	loadVRRP func() (*config.VRRP, error)   // nil: no VRRP
	pidfile  string
	log      *slog.Logger
	softStop []int // -sf: process ids told to finish (SIGUSR1) once this one serves
	hardStop []int // -st: process ids told to stop (SIGTERM) once this one serves
}

// serve runs in the foreground until a stop signal.
func serve(o runOpts) int {
	log := o.log
	// Signals first, so none is lost while starting.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGHUP, syscall.SIGUSR2)

	var d *daemon.Daemon
	var cfg *config.Config
	current := o.load
	if o.load != nil {
		events := logging.NewEvents(slog.LevelInfo) // tandem's own events also go to the log targets
		log = slog.New(logging.Tee{A: log.Handler(), B: events})
		d = daemon.New(daemon.Options{Log: log, Load: func() (*config.Config, error) { return current() }, Version: version, Events: events})
		if err := d.Start(); err != nil {
			logErrors(log, "cannot start", err)
			return 1
		}
		cfg = d.Config()
		for _, w := range cfg.Warnings {
			log.Warn(w.Error())
		}
		if o.pidfile == "" {
			o.pidfile = cfg.Global.PidFile
		}
	}
	// The pid file goes outside any chroot, so before privileges are dropped.
	if o.pidfile != "" {
		if err := os.WriteFile(o.pidfile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			log.Error("cannot write pid file", "path", o.pidfile, "err", err)
			if d != nil {
				d.Stop(0)
			}
			return 1
		}
		defer os.Remove(o.pidfile)
	}
	// With global chroot/user/group, a privileged helper keeps root (and runs VRRP, -k).
	var helper *confined
	if d != nil {
		if g := cfg.Global; o.loadFrom != nil && (g.Chroot != "" || g.User != "" || g.Group != "") {
			h, err := confine(d, g, o.pidfile, o.loadVRRP != nil, log)
			if err != nil {
				log.Error("cannot drop privileges", "err", err)
				d.Stop(0)
				return 1
			}
			helper = h
			current = func() (*config.Config, error) {
				b, err := h.client.Load()
				if err != nil {
					return nil, err
				}
				return o.loadFrom(b.Replay())
			}
		}
	}
	stopProxy := func(grace time.Duration) {
		if d != nil {
			d.Stop(grace)
		}
	}

	var reloadVRRP func() error // nil: no VRRP
	var vrrpAttrs []any         // for the start line
	vrrpDone := make(chan error, 1)
	var helperGone chan error // nil unless VRRP runs in the helper
	stopVRRP := func() {}
	if o.loadVRRP != nil && helper != nil {
		helperGone = make(chan error, 1)
		var err error
		reloadVRRP, stopVRRP, err = startVRRPInHelper(d, helper, vrrpDone, helperGone, log)
		if err != nil {
			logErrors(log, "cannot start VRRP", err)
			stopProxy(0)
			return 1
		}
		vrrpAttrs = []any{"vrrp_helper_pid", helper.proc.Pid}
	} else if o.loadVRRP != nil {
		v := &vrrpNode{loadVRRP: o.loadVRRP, check: trackerCheck(d), served: sessionsOn(d), log: log.With("component", "vrrp"),
			proxy: func() *config.Config {
				if d != nil {
					return d.Config()
				}
				return nil
			},
			exited: func(err error) { vrrpDone <- err },
		}
		if err := v.Start(); err != nil {
			logErrors(log, "cannot start VRRP", err)
			stopProxy(0)
			return 1
		}
		if d != nil {
			d.SetVRRPStatus(v.Status)
			d.SetVRRPSwitchover(v.Switchover)
		}
		vrrpAttrs = []any{"vrrp_instances", len(v.Status())}
		reloadVRRP, stopVRRP = v.Reload, v.Stop
	}

	attrs := []any{"pid", os.Getpid()}
	if cfg != nil {
		attrs = append(attrs, "frontends", len(cfg.Frontends), "backends", len(cfg.Backends))
	}
	attrs = append(attrs, vrrpAttrs...)
	log.Info("tandem started", attrs...)
	stopOldProcesses(o, log)
	daemonReady()

	// terminate is the graceful stop (SIGTERM, SIGINT): the VIPs go first
	// (priority-0 advert: the backup takes over at once), then connections drain.
	terminate := func(why string) int {
		stopVRRP()
		grace := defaultGrace
		if d != nil && d.Config().Global.HardStopAfter > 0 {
			grace = d.Config().Global.HardStopAfter
		}
		log.Info("stopping: listeners closed, letting in-flight requests finish", "signal", why, "grace", grace)
		stopProxy(grace)
		log.Info("stopped")
		return 0
	}
	vrrpEnded := func(err error) int {
		if errors.Is(err, privsep.ErrHelperStopped) {
			log.Info("the privileged helper was stopped by a signal and released the VIPs: stopping too")
			stopVRRP = func() {} // done, and the helper is on its way out
			return terminate("privileged helper stopped")
		}
		// Run returns early only when an instance cannot start (no CAP_NET_RAW, no
		// such interface, ...).
		logErrors(log, "VRRP stopped", err)
		stopProxy(defaultGrace)
		return 1
	}
	for {
		select {
		case err := <-vrrpDone:
			return vrrpEnded(err)
		case err := <-helperGone:
			select {
			case verr := <-vrrpDone: // it said why before it exited
				return vrrpEnded(verr)
			default:
			}
			// Serving on with a VIP that nobody manages would be worse than stopping:
			// the VIP (if this node held it) stays on the interface, as after a crash.
			log.Error("the privileged helper running VRRP exited: nothing manages the VIPs any more; stopping", "err", err)
			stopProxy(defaultGrace)
			return 1
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP, syscall.SIGUSR2:
				reload(d, reloadVRRP, log, sig)
			case syscall.SIGUSR1:
				// Soft stop, as HAProxy: stop listening, serve existing connections to
				// their end, bounded only by hard-stop-after.
				stopVRRP()
				var grace time.Duration
				if d != nil {
					grace = d.Config().Global.HardStopAfter
				}
				log.Info("soft stop: listeners closed, waiting for connections to finish", "hard_stop_after", grace)
				stopProxy(grace)
				log.Info("stopped")
				return 0
			default:
				return terminate(sig.String())
			}
		}
	}
}

// reload re-reads both files; each part that fails keeps its running configuration.
func reload(d *daemon.Daemon, reloadVRRP func() error, log *slog.Logger, sig os.Signal) {
	if d != nil {
		if err := d.Reload(); err != nil {
			logErrors(log, "reload refused, the running configuration keeps serving", err)
		} else {
			log.Info("configuration reloaded", "signal", sig.String())
		}
	}
	if reloadVRRP == nil {
		return
	}
	if err := reloadVRRP(); err != nil {
		logErrors(log, "VRRP reload refused, the running VRRP configuration stays", err)
		return
	}
	log.Info("VRRP configuration reloaded", "signal", sig.String())
}

// logErrors logs each configuration problem on its own line, file:line first.
func logErrors(log *slog.Logger, what string, err error) {
	var list config.ErrorList
	if errors.As(err, &list) {
		log.Error(fmt.Sprintf("%s: %d configuration problem(s), each follows", what, len(list)))
		for _, e := range list {
			log.Error(e.Error())
		}
		return
	}
	log.Error(what, "err", err)
}
