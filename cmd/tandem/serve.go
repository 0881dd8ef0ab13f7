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
	"tandem/internal/privsep"
)

// defaultGrace bounds a SIGTERM stop when global hard-stop-after is not set.
const defaultGrace = 5 * time.Second

// serve runs the daemon in the foreground until a stop signal.
// loadFrom, when not nil, loads through given sources: with global chroot/user/group the
// daemon drops its privileges and reloads through a privileged helper.
func serve(load func() (*config.Config, error), loadFrom privsep.LoadFunc, pidfile string, log *slog.Logger) int {
	current := load
	d := daemon.New(daemon.Options{Log: log, Load: func() (*config.Config, error) { return current() }})
	// Signals first, so none is lost while starting.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGHUP, syscall.SIGUSR2)
	if err := d.Start(); err != nil {
		logErrors(log, "cannot start", err)
		return 1
	}
	cfg := d.Config()
	for _, w := range cfg.Warnings {
		log.Warn(w.Error())
	}
	if pidfile == "" {
		pidfile = cfg.Global.PidFile
	}
	if pidfile != "" {
		if err := os.WriteFile(pidfile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			log.Error("cannot write pid file", "path", pidfile, "err", err)
			d.Stop(0)
			return 1
		}
		defer os.Remove(pidfile)
	}
	if g := cfg.Global; loadFrom != nil && (g.Chroot != "" || g.User != "" || g.Group != "") {
		helper, err := confine(d, g, pidfile, log)
		if err != nil {
			log.Error("cannot drop privileges", "err", err)
			d.Stop(0)
			return 1
		}
		current = func() (*config.Config, error) {
			b, err := helper.Load()
			if err != nil {
				return nil, err
			}
			return loadFrom(b.Replay())
		}
	}
	log.Info("tandem started", "pid", os.Getpid(), "frontends", len(cfg.Frontends), "backends", len(cfg.Backends))
	for sig := range sigs {
		switch sig {
		case syscall.SIGHUP, syscall.SIGUSR2:
			if err := d.Reload(); err != nil {
				logErrors(log, "reload refused, the running configuration keeps serving", err)
				continue
			}
			log.Info("configuration reloaded", "signal", sig.String())
		case syscall.SIGUSR1:
			// Soft stop, as HAProxy: stop listening, serve existing connections to their
			// end, bounded only by hard-stop-after.
			log.Info("soft stop: listeners closed, waiting for connections to finish", "hard_stop_after", d.Config().Global.HardStopAfter)
			d.Stop(d.Config().Global.HardStopAfter)
			log.Info("stopped")
			return 0
		default:
			grace := d.Config().Global.HardStopAfter
			if grace == 0 {
				grace = defaultGrace
			}
			log.Info("stopping: listeners closed, letting in-flight requests finish", "signal", sig.String(), "grace", grace)
			d.Stop(grace)
			log.Info("stopped")
			return 0
		}
	}
	return 0
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
