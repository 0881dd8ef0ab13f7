package main

import (
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"tandem/internal/daemon"
	"tandem/internal/logging"
	"tandem/internal/master"
	"tandem/internal/privsep"
	"tandem/internal/sdnotify"
)

// serveMaster is -W / -Ws: this process holds the sockets and supervises workers
// (internal/master); it returns the master's exit code.
func serveMaster(o runOpts, c cmdLine, args []string) int {
	log := o.log.With("process", "master")
	notify := sdnotify.FromEnv() // unset for the workers either way
	if !c.systemd {
		notify = nil
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGHUP, syscall.SIGUSR2)
	var clis []net.Listener
	for _, spec := range c.masterCLI {
		ln, err := master.ListenCLI(spec)
		if err != nil {
			log.Error("cannot open the master CLI", "err", err)
			return 1
		}
		clis = append(clis, ln)
	}
	defer func() {
		for _, ln := range clis {
			ln.Close()
		}
	}()
	m := master.New(master.Options{Log: log, Exe: exePath, Args: args, Load: o.load, Notify: notify, Version: version})
	if err := m.Start(); err != nil {
		logErrors(log, "cannot start", err)
		return 1
	}
	if o.pidfile == "" {
		o.pidfile = m.Config().Global.PidFile
	}
	if o.pidfile != "" {
		if err := os.WriteFile(o.pidfile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			log.Error("cannot write pid file", "path", o.pidfile, "err", err)
		} else {
			defer os.Remove(o.pidfile)
		}
	}
	for _, ln := range clis {
		go m.ServeCLI(ln)
	}
	var msigs <-chan os.Signal = sigs
	if o.loadVRRP != nil {
		// VRRP runs in the master, which keeps its privileges: a worker that dies or
		// is replaced never moves the VIPs. In-process trackers need a proxy in the
		// same process, so they are refused here (ha: "needs the proxy").
		vrrpDone := make(chan error, 1)
		v := &vrrpNode{loadVRRP: o.loadVRRP, proxy: m.Config, log: log.With("component", "vrrp"),
			exited: func(err error) { vrrpDone <- err }}
		if err := v.Start(); err != nil {
			logErrors(log, "cannot start VRRP", err)
			m.Stop()
			return 1
		}
		msigs = vrrpSignals(sigs, v, vrrpDone, log)
	}
	stopOldProcesses(o, log)
	notify.Ready()
	daemonReady()
	log.Info("master started", "pid", os.Getpid(), "binary", exePath)
	return m.Run(msigs)
}

// vrrpSignals passes the master's signals on to m.Run, reloading VRRP beside the
// workers and stopping it first on a stop (masters send priority 0 and drop the VIPs
// before the workers drain). VRRP that ends by itself stops the master.
func vrrpSignals(sigs <-chan os.Signal, v *vrrpNode, vrrpDone <-chan error, log *slog.Logger) <-chan os.Signal {
	out := make(chan os.Signal, 4)
	go func() {
		for {
			select {
			case err := <-vrrpDone:
				logErrors(log, "VRRP stopped: stopping", err)
				out <- syscall.SIGTERM
				return
			case sig := <-sigs:
				switch sig {
				case syscall.SIGHUP, syscall.SIGUSR2:
					if err := v.Reload(); err != nil {
						logErrors(log, "VRRP reload refused, the running VRRP configuration stays", err)
					}
				default:
					v.Stop()
				}
				out <- sig
			}
		}
	}()
	return out
}

// serveWorker is a worker started by a master: it serves on the sockets the master
// passed and stops when told to or when the master goes away.
func serveWorker(o runOpts) int {
	log := o.log
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGHUP, syscall.SIGUSR2)
	w, err := master.OpenWorker()
	if err != nil {
		log.Error("cannot take the master's sockets", "err", err)
		return 1
	}
	events := logging.NewEvents(slog.LevelInfo)
	log = slog.New(logging.Tee{A: log.Handler(), B: events}).With("process", "worker")
	d := daemon.New(daemon.Options{Log: log, Load: o.load, Version: version, Events: events, ListenStats: w.ListenStats})
	d.SetOpener(w.Listen)
	if err := d.Start(); err != nil {
		logErrors(log, "cannot start", err)
		return 1
	}
	w.CloseUnused()
	cfg := d.Config()
	for _, warn := range cfg.Warnings {
		log.Warn(warn.Error())
	}
	if g := cfg.Global; g.Chroot != "" || g.User != "" || g.Group != "" {
		// The sockets are open: nothing this worker does later needs root.
		if err := privsep.Drop(g.Chroot, g.User, g.Group); err != nil {
			log.Error("cannot drop privileges", "err", err)
			d.Stop(0)
			return 1
		}
	}
	go d.ServeAPI(w.Commands())
	if err := w.Ready(); err != nil {
		log.Error("cannot tell the master this worker serves", "err", err)
	}
	log.Info("worker started", "pid", os.Getpid(), "frontends", len(cfg.Frontends), "backends", len(cfg.Backends))
	grace := func(soft bool) time.Duration {
		if g := d.Config().Global.HardStopAfter; g > 0 || soft {
			return g
		}
		return defaultGrace
	}
	for {
		select {
		case <-w.MasterGone():
			log.Warn("the master is gone: stopping")
			d.Stop(grace(false))
			return 0
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP, syscall.SIGUSR2:
				log.Info("a worker does not reload itself: signal the master", "signal", sig.String())
			case syscall.SIGUSR1:
				log.Info("soft stop: listeners closed, finishing connections", "hard_stop_after", grace(true))
				return softStop(d, grace(true), sigs, log)
			default:
				d.Stop(grace(false))
				return 0
			}
		}
	}
}

// stopOldProcesses is -sf (soft stop: SIGUSR1) and -st (SIGTERM) once this process serves.
func stopOldProcesses(o runOpts, log *slog.Logger) {
	for _, p := range o.softStop {
		if err := syscall.Kill(p, syscall.SIGUSR1); err != nil {
			log.Warn("-sf: cannot signal the old process", "pid", p, "err", err)
		}
	}
	for _, p := range o.hardStop {
		if err := syscall.Kill(p, syscall.SIGTERM); err != nil {
			log.Warn("-st: cannot signal the old process", "pid", p, "err", err)
		}
	}
}

// softStop finishes the connections (bounded only by hard-stop-after, as HAProxy); a
// SIGTERM or SIGINT meanwhile (the master stopping) turns it into a stop bounded by the
// default grace.
func softStop(d *daemon.Daemon, grace time.Duration, sigs <-chan os.Signal, log *slog.Logger) int {
	done := make(chan struct{})
	go func() { d.Stop(grace); close(done) }()
	for {
		select {
		case <-done:
			return 0
		case sig := <-sigs:
			if sig != syscall.SIGTERM && sig != syscall.SIGINT {
				continue
			}
			log.Info("stop during a soft stop: connections get the default grace", "signal", sig.String(), "grace", defaultGrace)
			select {
			case <-done:
			case <-time.After(defaultGrace):
				log.Warn("grace period over, exiting with connections open", "grace", defaultGrace)
			}
			return 0
		}
	}
}
