// Package master is tandem's master-worker process model (HAProxy's -W and -Ws): the
// master holds the listening sockets and supervises worker processes that serve on
// them. A reload starts a new worker from the binary on disk with the configuration on
// disk; the old workers drain once the new one serves, and a new worker that fails to
// start leaves the old one serving. A worker that dies is replaced at once on the sockets
// the master still holds, so the kernel's accept queue keeps new connections meanwhile.
package master

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"tandem/internal/config"
	"tandem/internal/listener"
	"tandem/internal/runtimeapi"
	"tandem/internal/sdnotify"
)

// Environment of a worker: WorkerEnv marks the process as a worker; SocketsEnv lists
// the inherited sockets, one "FD NAME" a line.
const (
	WorkerEnv  = "TANDEM_WORKER"
	SocketsEnv = "TANDEM_WORKER_SOCKETS"
	readyFD    = 3 // the worker writes one byte here once it serves
	controlFD  = 4 // a unix stream socket: runtime API connections passed as descriptors
	firstSock  = 5
)

// Options configure a Master.
type Options struct {
	Log *slog.Logger
	// Exe is the binary workers run, started anew at each reload (a binary upgrade is
	// a new file at this path, then a reload).
	Exe  string
	Args []string // the worker's arguments
	// Load reads and checks the configuration, at start and on every reload.
	Load    func() (*config.Config, error)
	Notify  *sdnotify.Notifier // nil: no systemd
	Version string
	// ReadyTimeout bounds how long a new worker may take to serve (0: 30 s).
	ReadyTimeout time.Duration
	// StopTimeout bounds how long a stop waits for the workers after its grace
	// (hard-stop-after, else 5 s) before it kills them (0: 10 s).
	StopTimeout time.Duration
	// Listen opens a bind's socket (nil: listener.Open); ListenStats a stats socket's
	// (nil: runtimeapi.Listen).
	Listen      func(listener.Key) (net.Listener, bool, error)
	ListenStats func(config.StatsSocket) (net.Listener, error)
	// Stdout and Stderr of the workers (nil: the master's).
	Stdout, Stderr *os.File
}

// Master supervises the workers.
type Master struct {
	opt   Options
	log   *slog.Logger
	start time.Time

	reloadMu sync.Mutex // one reload or restart at a time

	mu       sync.Mutex
	cfg      *config.Config
	socks    map[string]*heldSocket
	workers  []*worker // newest first; workers[0] is current unless it failed
	reloads  int
	failed   int
	stopping bool

	exits chan *worker
}

type heldSocket struct {
	ln   net.Listener
	file *os.File
}

type worker struct {
	pid      int
	cmd      *exec.Cmd
	started  time.Time
	reloads  int // the master's reload count when it started
	current  bool
	ctlMu    sync.Mutex
	ctl      *net.UnixConn
	done     chan struct{}
	status   string // how it exited, once done is closed
	exitCode int
}

// New returns a master that has not started.
func New(opt Options) *Master {
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Listen == nil {
		opt.Listen = listener.Open
	}
	if opt.ListenStats == nil {
		opt.ListenStats = runtimeapi.Listen
	}
	if opt.ReadyTimeout <= 0 {
		opt.ReadyTimeout = 30 * time.Second
	}
	if opt.StopTimeout <= 0 {
		opt.StopTimeout = 10 * time.Second
	}
	if opt.Stdout == nil {
		opt.Stdout = os.Stdout
	}
	if opt.Stderr == nil {
		opt.Stderr = os.Stderr
	}
	return &Master{opt: opt, log: opt.Log, socks: map[string]*heldSocket{}, exits: make(chan *worker, 16), start: time.Now()}
}

// Start loads the configuration, opens its sockets and starts the first worker; it
// returns once that worker serves.
func (m *Master) Start() error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	cfg, err := m.opt.Load()
	if err != nil {
		return err
	}
	if err := m.hold(cfg); err != nil {
		return err
	}
	m.mu.Lock()
	m.cfg = cfg
	m.mu.Unlock()
	w, err := m.startWorker()
	if err != nil {
		m.closeSockets(nil)
		return err
	}
	m.mu.Lock()
	m.workers = []*worker{w}
	m.mu.Unlock()
	m.log.Info("worker serving", "pid", w.pid)
	return nil
}

// Config is the configuration the current worker serves.
func (m *Master) Config() *config.Config {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg
}

// Reload reads the configuration again and starts a new worker on it; once the new
// worker serves, the old ones are told to finish (SIGUSR1) and drain. When the
// configuration fails its check or the new worker does not start, the old worker keeps
// serving and the error says why.
func (m *Master) Reload() error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	m.opt.Notify.Reloading()
	defer m.opt.Notify.Ready()
	m.mu.Lock()
	if m.stopping {
		m.mu.Unlock()
		return errors.New("reload refused: stopping")
	}
	m.mu.Unlock()
	fail := func(err error) error {
		m.mu.Lock()
		m.failed++
		m.mu.Unlock()
		return fmt.Errorf("reload failed, the running worker keeps serving: %w", err)
	}
	cfg, err := m.opt.Load()
	if err != nil {
		return fail(err)
	}
	if err := m.hold(cfg); err != nil {
		return fail(err)
	}
	w, err := m.startWorker()
	if err != nil {
		m.mu.Lock()
		old := m.cfg
		m.mu.Unlock()
		m.closeSockets(old) // what only the refused configuration needed
		return fail(err)
	}
	m.mu.Lock()
	old := m.workers
	for _, o := range old {
		o.current = false
	}
	w.current = true
	m.workers = append([]*worker{w}, old...)
	m.cfg = cfg
	m.reloads++
	w.reloads = m.reloads
	m.mu.Unlock()
	for _, o := range old {
		o.signal(syscall.SIGUSR1) // soft stop: stop listening, finish what it serves
	}
	m.closeSockets(cfg)
	m.log.Info("reloaded: new worker serving, former workers finishing", "pid", w.pid)
	return nil
}

// hold opens the sockets cfg needs that the master does not hold yet. On failure it
// closes what it opened and the held sockets stay.
func (m *Master) hold(cfg *config.Config) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var opened []string
	undo := func() {
		for _, n := range opened {
			m.socks[n].ln.Close()
			m.socks[n].file.Close()
			delete(m.socks, n)
		}
	}
	add := func(name string, ln net.Listener) error {
		fl, ok := ln.(interface{ File() (*os.File, error) })
		if !ok {
			ln.Close()
			return fmt.Errorf("%s: the socket cannot be passed to a worker", name)
		}
		f, err := fl.File()
		if err != nil {
			ln.Close()
			return fmt.Errorf("%s: %w", name, err)
		}
		m.socks[name] = &heldSocket{ln: ln, file: f}
		opened = append(opened, name)
		return nil
	}
	for _, f := range cfg.Frontends {
		for _, b := range f.Binds {
			k := listener.KeyOf(b)
			name := BindName(k)
			if m.socks[name] != nil {
				continue
			}
			ln, _, err := m.opt.Listen(k)
			if err == nil {
				err = add(name, ln)
			}
			if err != nil {
				undo()
				return config.Errorf(b.Pos, "frontend %q: %v", f.Name, err)
			}
		}
	}
	for _, s := range cfg.Global.StatsSockets {
		name := StatsName(s)
		if m.socks[name] != nil {
			continue
		}
		ln, err := m.opt.ListenStats(s)
		if err == nil {
			err = add(name, ln)
		}
		if err != nil {
			undo()
			return config.Errorf(s.Pos, "%v", err)
		}
	}
	return nil
}

// closeSockets closes the held sockets cfg does not use (nil: all of them).
func (m *Master) closeSockets(cfg *config.Config) {
	keep := map[string]bool{}
	if cfg != nil {
		for _, f := range cfg.Frontends {
			for _, b := range f.Binds {
				keep[BindName(listener.KeyOf(b))] = true
			}
		}
		for _, s := range cfg.Global.StatsSockets {
			keep[StatsName(s)] = true
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for n, s := range m.socks {
		if !keep[n] {
			s.ln.Close()
			s.file.Close()
			delete(m.socks, n)
		}
	}
}

// BindName names a bind's socket between master and worker.
func BindName(k listener.Key) string { return "bind " + k.String() }

// StatsName names a stats socket's socket between master and worker.
func StatsName(s config.StatsSocket) string { return "stats " + s.Address }

// startWorker starts a worker on the held sockets and waits until it serves.
func (m *Master) startWorker() (*worker, error) {
	m.mu.Lock()
	names := make([]string, 0, len(m.socks))
	for n := range m.socks {
		names = append(names, n)
	}
	sort.Strings(names)
	readyR, readyW, err := os.Pipe()
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	defer readyR.Close()
	mine, theirs, err := socketPair()
	if err != nil {
		m.mu.Unlock()
		readyW.Close()
		return nil, err
	}
	files := []*os.File{readyW, theirs}
	var list strings.Builder
	for i, n := range names {
		files = append(files, m.socks[n].file)
		fmt.Fprintf(&list, "%d %s\n", firstSock+i, n)
	}
	m.mu.Unlock()

	cmd := exec.Command(m.opt.Exe, m.opt.Args...)
	cmd.Stdout, cmd.Stderr = m.opt.Stdout, m.opt.Stderr
	cmd.ExtraFiles = files
	cmd.Env = append(workerEnviron(), WorkerEnv+"=1", SocketsEnv+"="+list.String())
	err = cmd.Start()
	readyW.Close()
	theirs.Close()
	if err != nil {
		mine.Close()
		return nil, fmt.Errorf("cannot start a worker from %s: %w", m.opt.Exe, err)
	}
	w := &worker{pid: cmd.Process.Pid, cmd: cmd, started: time.Now(), ctl: mine, done: make(chan struct{})}
	go m.wait(w)
	ready := make(chan bool, 1)
	go func() {
		var b [1]byte
		n, _ := readyR.Read(b[:])
		ready <- n == 1
	}()
	t := time.NewTimer(m.opt.ReadyTimeout)
	defer t.Stop()
	select {
	case ok := <-ready:
		if ok {
			w.current = true
			return w, nil
		}
		<-w.done // it closed the pipe without a word: it is exiting
		return nil, fmt.Errorf("the new worker (pid %d) exited before serving: %s", w.pid, w.status)
	case <-w.done:
		return nil, fmt.Errorf("the new worker (pid %d) exited before serving: %s", w.pid, w.status)
	case <-t.C:
		w.signal(syscall.SIGKILL)
		<-w.done
		return nil, fmt.Errorf("the new worker (pid %d) did not serve within %v: killed", w.pid, m.opt.ReadyTimeout)
	}
}

// workerEnviron is the master's environment without its worker variables.
func workerEnviron() []string {
	var env []string
	for _, e := range os.Environ() {
		if strings.HasPrefix(e, WorkerEnv+"=") || strings.HasPrefix(e, SocketsEnv+"=") || strings.HasPrefix(e, "LISTEN_") {
			continue
		}
		env = append(env, e)
	}
	return env
}

// wait reaps w and reports its exit to Run.
func (m *Master) wait(w *worker) {
	err := w.cmd.Wait()
	w.status, w.exitCode = describeExit(w.cmd.ProcessState, err)
	w.ctl.Close()
	close(w.done)
	m.exits <- w
}

// describeExit says how a process ended, as HAProxy's master logs it, and the exit
// code HAProxy gives it (128+signal when signalled).
func describeExit(ps *os.ProcessState, err error) (string, int) {
	if ps == nil {
		return fmt.Sprint(err), 1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code := 128 + int(ws.Signal())
		return "exited with code " + strconv.Itoa(code) + " (" + signalName(ws.Signal()) + ")", code
	}
	code := ps.ExitCode()
	if code == 0 {
		return "exited with code 0 (Exit)", 0
	}
	return "exited with code " + strconv.Itoa(code) + " (Exit)", code
}

func signalName(s syscall.Signal) string {
	n := s.String()
	if n == "" {
		return "signal " + strconv.Itoa(int(s))
	}
	return strings.ToUpper(n[:1]) + n[1:]
}

func (w *worker) signal(s syscall.Signal) {
	select {
	case <-w.done:
	default:
		w.cmd.Process.Signal(s)
	}
}

func pidOf() int { return os.Getpid() }
