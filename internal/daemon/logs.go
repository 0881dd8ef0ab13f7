package daemon

import (
	"tandem/internal/config"
	"tandem/internal/logging"
)

// logSet holds the logging system of the running configuration and the loggers of its
// frontends.
type logSet struct {
	sys     *logging.System
	loggers map[string]*logging.Logger // by frontend name
}

// applyLogs builds the log targets of cfg and the frontends' traffic loggers, before
// the frontends are swapped in; the previous system closes once the swap is done
// (closeOldLogs). Problems are logged, never fatal: a frontend whose targets cannot be
// built serves without a traffic log.
func (d *Daemon) applyLogs(cfg *config.Config) (old *logging.System) {
	sys, err := logging.New(&cfg.Global, logging.Options{Log: d.log})
	if err != nil {
		d.log.Warn("global log targets not usable, logging to them is off", "err", err)
		sys, _ = logging.New(nil, logging.Options{Log: d.log})
	}
	ls := &logSet{sys: sys, loggers: map[string]*logging.Logger{}}
	for _, f := range cfg.Frontends {
		l, err := sys.Logger(f)
		if err != nil {
			d.log.Warn("frontend traffic log is off", "frontend", f.Name, "err", err)
			continue
		}
		if l != nil {
			ls.loggers[f.Name] = l
		}
	}
	if d.logs != nil {
		old = d.logs.sys
	}
	d.logs = ls
	if d.events != nil {
		d.events.SetSystem(sys)
	}
	return old
}

// loggerOf returns the traffic logger of frontend f (nil: off).
func (d *Daemon) loggerOf(f *config.Frontend) *logging.Logger {
	if d.logs == nil {
		return nil
	}
	return d.logs.loggers[f.Name]
}

// closeLogs stops the senders of the running logging system after they wrote what is
// queued.
func (d *Daemon) closeLogs() {
	d.mu.Lock()
	ls := d.logs
	d.logs = nil
	d.mu.Unlock()
	if d.events != nil {
		d.events.SetSystem(nil)
	}
	if ls != nil {
		ls.sys.Close()
	}
}

// LogStats returns the lines sent and dropped per log target of the running
// configuration (counters restart with each reload).
func (d *Daemon) LogStats() []logging.TargetStats {
	d.mu.Lock()
	ls := d.logs
	d.mu.Unlock()
	if ls == nil {
		return nil
	}
	return ls.sys.Stats()
}
