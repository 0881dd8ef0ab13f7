package master

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"

	"tandem/internal/config"
	"tandem/internal/listener"
	"tandem/internal/runtimeapi"
)

// Worker is a worker's side: the sockets its master passed, the readiness pipe and the
// master's runtime API connections.
type Worker struct {
	mu    sync.Mutex
	socks map[string]*os.File
	ready *os.File
	ctl   *net.UnixConn
	cli   *connListener
	gone  chan struct{}
}

// InWorker reports whether this process was started by a master as its worker.
func InWorker() bool { return os.Getenv(WorkerEnv) == "1" }

// OpenWorker takes what the master passed. It clears the worker variables from the
// environment, so that processes this worker starts are not taken for workers.
func OpenWorker() (*Worker, error) {
	list := os.Getenv(SocketsEnv)
	os.Unsetenv(WorkerEnv)
	os.Unsetenv(SocketsEnv)
	w := &Worker{socks: map[string]*os.File{}, gone: make(chan struct{})}
	sc := bufio.NewScanner(strings.NewReader(list))
	for sc.Scan() {
		fdText, name, ok := strings.Cut(sc.Text(), " ")
		fd, err := strconv.Atoi(fdText)
		if !ok || err != nil || fd < firstSock {
			return nil, fmt.Errorf("%s: bad line %q", SocketsEnv, sc.Text())
		}
		w.socks[name] = os.NewFile(uintptr(fd), name)
	}
	w.ready = os.NewFile(readyFD, "ready")
	f := os.NewFile(controlFD, "control")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("master control socket: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, errors.New("master control socket is not a unix socket")
	}
	w.ctl = uc
	w.cli = newConnListener()
	go w.receive()
	return w, nil
}

// take returns the inherited socket name as a listener, once.
func (w *Worker) take(name string) (net.Listener, bool, error) {
	w.mu.Lock()
	f := w.socks[name]
	delete(w.socks, name)
	w.mu.Unlock()
	if f == nil {
		return nil, false, nil
	}
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, false, fmt.Errorf("%s from the master: %w", name, err)
	}
	return ln, true, nil
}

// Listen returns the bind socket the master passed for k; it opens one itself when the
// master passed none (it always does for the binds of the configuration it checked).
func (w *Worker) Listen(k listener.Key) (net.Listener, bool, error) {
	ln, ok, err := w.take(BindName(k))
	if ok || err != nil {
		return ln, false, err
	}
	return listener.Open(k)
}

// ListenStats returns the stats socket the master passed for s, else opens it.
func (w *Worker) ListenStats(s config.StatsSocket) (net.Listener, error) {
	ln, ok, err := w.take(StatsName(s))
	if ok || err != nil {
		return ln, err
	}
	return runtimeapi.Listen(s)
}

// Ready tells the master this worker serves; the master then retires the old workers.
func (w *Worker) Ready() error {
	_, err := w.ready.Write([]byte{1})
	w.ready.Close()
	return err
}

// Commands is where the master's CLI connections arrive (`@1 show info`): serve the
// runtime API on it at admin level.
func (w *Worker) Commands() net.Listener { return w.cli }

// MasterGone is closed when the master's end of the control socket closes.
func (w *Worker) MasterGone() <-chan struct{} { return w.gone }

// CloseUnused closes the inherited sockets nothing took.
func (w *Worker) CloseUnused() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for n, f := range w.socks {
		f.Close()
		delete(w.socks, n)
	}
}

func (w *Worker) receive() {
	defer close(w.gone)
	defer w.cli.Close()
	for {
		c, err := recvConn(w.ctl)
		if errors.Is(err, errBadMessage) {
			continue
		}
		if err != nil {
			return // the master closed its end (or died)
		}
		if !w.cli.put(c) {
			c.Close()
			return
		}
	}
}

// connListener is a net.Listener over connections handed to it.
type connListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newConnListener() *connListener {
	return &connListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *connListener) put(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return &net.UnixAddr{Name: "@master", Net: "unix"} }
