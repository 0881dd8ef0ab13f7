package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a child process the bench started. Only such processes are ever
// signalled, by their own PID (os.Process uses a pidfd where the kernel has one).
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when Wait returned
	waitErr error
}

// Pid is the process id of the child itself (taskset execs in place).
func (p *proc) Pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has already ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// logTail returns the end of the process's output file.
func (p *proc) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	return tail(string(b), 800)
}

// stop sends SIGTERM, waits up to grace, then SIGKILL and waits up to 2 s more.
func (p *proc) stop(grace time.Duration) error {
	if p.exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
		return nil
	case <-time.After(2 * time.Second):
		return fmt.Errorf("stop %s (pid %d): still running after SIGKILL", p.name, p.Pid())
	}
}

// procs tracks every child so cleanup can end whatever is still running.
type procs struct {
	mu  sync.Mutex
	all []*proc
	log *slog.Logger
	dir string // where per-process output files go
	seq int
}

// start runs argv pinned to cpu with taskset, its output in a file in p.dir.
func (ps *procs) start(name, cpu string, argv []string, env []string) (*proc, error) {
	ps.mu.Lock()
	ps.seq++
	logPath := fmt.Sprintf("%s/%s-%d.log", ps.dir, name, ps.seq)
	ps.mu.Unlock()
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	defer f.Close() // the child holds its own copy
	args := append([]string{"-c", cpu}, argv...)
	cmd := exec.Command("taskset", args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Stdin = nil
	cmd.Env = append(os.Environ(), env...)
	// Own process group, so a terminal's Ctrl-C reaches only the bench, which
	// then stops its children in order; Pdeathsig ends them if the bench dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	ps.mu.Lock()
	ps.all = append(ps.all, p)
	ps.mu.Unlock()
	ps.log.Debug("started", "name", name, "pid", p.Pid(), "cpu", cpu, "argv", strings.Join(argv, " "))
	return p, nil
}

// cleanup stops every child still running.
func (ps *procs) cleanup() {
	ps.mu.Lock()
	all := ps.all
	ps.all = nil
	ps.mu.Unlock()
	for _, p := range all {
		if err := p.stop(3 * time.Second); err != nil {
			ps.log.Warn("cleanup", "err", err)
		}
	}
}

// waitListening dials each address until it accepts, the process exits, ctx
// ends or timeout passes.
func waitListening(ctx context.Context, p *proc, timeout time.Duration, addrs ...string) error {
	deadline := time.Now().Add(timeout)
	for _, a := range addrs {
		for {
			if p.exited() {
				return fmt.Errorf("%s exited before listening on %s (%v): %s", p.name, a, p.waitErr, p.logTail())
			}
			c, err := net.DialTimeout("tcp", a, 200*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not listening on %s after %v: %w: %s", p.name, a, timeout, err, p.logTail())
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// getOnce sends one HTTP/1.1 request to addr on a fresh connection and
// returns the status line and the body.
func getOnce(addr string, timeout time.Duration) (status, body string, err error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", "", fmt.Errorf("get %s: %w", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"); err != nil {
		return "", "", fmt.Errorf("get %s: %w", addr, err)
	}
	b, err := io.ReadAll(io.LimitReader(c, 1<<16))
	if err != nil && !errors.Is(err, io.EOF) {
		return "", "", fmt.Errorf("get %s: %w", addr, err)
	}
	head, bodyPart, _ := strings.Cut(string(b), "\r\n\r\n")
	status, _, _ = strings.Cut(head, "\r\n")
	return status, bodyPart, nil
}

// raiseNoFile sets the soft RLIMIT_NOFILE to the hard limit. Children inherit
// it: since Go 1.21 an explicit Setrlimit stops os/exec from restoring the
// original soft limit in children.
func raiseNoFile() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("get RLIMIT_NOFILE: %w", err)
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("set RLIMIT_NOFILE to %d: %w", rl.Max, err)
	}
	return rl.Cur, nil
}

// freePorts returns n distinct loopback TCP ports that were free a moment ago,
// below the ephemeral range (32768+) so outgoing connections never collide.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	base := 20000 + rand.IntN(10000)
	for p := base; p < base+2000 && len(ports) < n; p++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ls = append(ls, l)
		ports = append(ports, p)
	}
	if len(ports) < n {
		return nil, fmt.Errorf("find %d free ports from %d: found %d", n, base, len(ports))
	}
	return ports, nil
}
