package master

import (
	"os"
	"syscall"
	"time"
)

// restartDelay spaces out attempts to replace a current worker whose replacement failed
// to start.
const restartDelay = time.Second

// Run supervises the workers until a stop signal and returns the master's exit code.
// SIGHUP and SIGUSR2 reload; SIGTERM and SIGINT stop the workers (they finish their
// connections within their grace) and exit 0; SIGUSR1 asks them for a soft stop and waits.
// A current worker that dies is replaced at once.
func (m *Master) Run(sigs <-chan os.Signal) int {
	retry := make(chan struct{}, 1)
	for {
		select {
		case w := <-m.exits:
			m.exited(w, retry)
		case <-retry:
			m.restart(retry)
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP, syscall.SIGUSR2:
				m.log.Info("reloading", "signal", sig.String())
				if err := m.Reload(); err != nil {
					logError(m.log, err)
				}
			case syscall.SIGUSR1:
				return m.stop(syscall.SIGUSR1, 0)
			default:
				return m.stop(syscall.SIGTERM, m.grace()+m.opt.StopTimeout)
			}
		}
	}
}

func (m *Master) grace() time.Duration {
	if c := m.Config(); c != nil && c.Global.HardStopAfter > 0 {
		return c.Global.HardStopAfter
	}
	return 5 * time.Second
}

// exited forgets w and replaces it when it was the current worker.
func (m *Master) exited(w *worker, retry chan struct{}) {
	m.mu.Lock()
	known := false
	for i, o := range m.workers {
		if o == w {
			m.workers = append(m.workers[:i:i], m.workers[i+1:]...)
			known = true
			break
		}
	}
	current := w.current && !m.stopping
	m.mu.Unlock()
	if !known {
		return // a new worker that failed to start: its error was reported
	}
	if !current {
		m.log.Info("former worker "+w.status, "pid", w.pid)
		return
	}
	m.log.Error("current worker "+w.status+": starting a new one on the same sockets", "pid", w.pid)
	m.restart(retry)
}

// restart starts a worker in place of a dead current one.
func (m *Master) restart(retry chan struct{}) {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	m.mu.Lock()
	if m.stopping || (len(m.workers) > 0 && m.workers[0].current) {
		m.mu.Unlock()
		return
	}
	m.mu.Unlock()
	w, err := m.startWorker()
	if err != nil {
		m.log.Error("cannot start a worker; trying again", "err", err, "retry_in", restartDelay)
		time.AfterFunc(restartDelay, func() {
			select {
			case retry <- struct{}{}:
			default:
			}
		})
		return
	}
	m.mu.Lock()
	w.reloads = m.reloads
	m.workers = append([]*worker{w}, m.workers...)
	m.mu.Unlock()
	m.log.Info("worker serving", "pid", w.pid)
}

// Stop stops the workers as SIGTERM does (for a start that fails after Start).
func (m *Master) Stop() { m.stop(syscall.SIGTERM, m.grace()+m.opt.StopTimeout) }

// stop sends sig to every worker, waits for them (bounded by limit when not 0, then
// they are killed), closes the sockets and returns 0.
func (m *Master) stop(sig syscall.Signal, limit time.Duration) int {
	m.opt.Notify.Stopping()
	m.mu.Lock()
	m.stopping = true
	workers := append([]*worker(nil), m.workers...)
	m.mu.Unlock()
	m.log.Info("stopping: workers finish their connections", "signal", sig.String(), "workers", len(workers))
	for _, w := range workers {
		w.signal(sig)
	}
	var deadline <-chan time.Time
	if limit > 0 {
		t := time.NewTimer(limit)
		defer t.Stop()
		deadline = t.C
	}
	for _, w := range workers {
		select {
		case <-w.done:
		case <-deadline:
			m.log.Warn("worker still running after the grace period: killed", "pid", w.pid)
			w.signal(syscall.SIGKILL)
			<-w.done
		}
	}
	m.closeSockets(nil)
	m.log.Info("all workers exited")
	return 0
}
