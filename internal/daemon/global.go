package daemon

import (
	"log/slog"
	"runtime"

	"tandem/internal/config"
)

// reservedFDs are descriptors kept aside from connections: listeners, logs, checks, files.
const reservedFDs = 100

// applyGlobal applies the process-wide settings of global and returns the effective
// global maxconn. A maxconn the descriptor limit cannot carry is lowered to what it can
// (each connection costs a client and a server descriptor), with a warning, instead of
// refusing to start.
func applyGlobal(g *config.Global, log *slog.Logger) int {
	if g.NbThread > 0 {
		runtime.GOMAXPROCS(g.NbThread)
	}
	if g.Daemon {
		log.Info("global \"daemon\" is accepted, but tandem stays in the foreground (run it under systemd or similar)")
	}
	want := g.MaxConn
	limit, err := raiseFDLimit(uint64(2*max(want, 0) + reservedFDs))
	if err != nil {
		log.Warn("cannot read or raise the file-descriptor limit", "err", err)
		if want > 0 {
			return want
		}
		return config.DefaultMaxConn
	}
	fit := int((limit - reservedFDs) / 2)
	if fit < 1 {
		fit = 1
	}
	switch {
	case want == 0:
		return fit
	case want > fit:
		log.Warn("global maxconn is above what the file-descriptor limit allows; lowered to fit (raise the hard limit, e.g. LimitNOFILE= in the systemd unit, to get the full value)",
			"maxconn", want, "effective_maxconn", fit, "fd_limit", limit)
		return fit
	}
	return want
}
