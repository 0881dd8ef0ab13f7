package main

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// exePath is the binary this process was started from, resolved before any -C: a
// master starts its workers from it, so a new binary at this path is what a reload runs.
var exePath = resolveExe()

func resolveExe() string {
	arg := os.Args[0]
	if strings.Contains(arg, "/") {
		if p, err := filepath.Abs(arg); err == nil {
			return p
		}
	} else if p, err := exec.LookPath(arg); err == nil {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
	}
	if p, err := os.Executable(); err == nil {
		return p
	}
	return arg
}

// daemonEnv marks the detached copy -D starts; its value is the descriptor on which the
// copy says it serves.
const daemonEnv = "TANDEM_DAEMONIZED"

// daemonTimeout bounds how long -D waits for the detached process to serve.
const daemonTimeout = time.Minute

// daemonize is -D, as HAProxy does it: the process detaches (a new session, standard
// streams on /dev/null) and the command returns once the detached process serves, 0, or
// 1 if it could not start. parent reports whether this process is the one that returns.
func daemonize(log *slog.Logger) (rc int, parent bool) {
	if os.Getenv(daemonEnv) != "" {
		syscall.CloseOnExec(3)
		return 0, false
	}
	r, w, err := os.Pipe()
	if err != nil {
		log.Error("-D: cannot detach", "err", err)
		return 1, true
	}
	defer r.Close()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		log.Error("-D: cannot detach", "err", err)
		return 1, true
	}
	defer null.Close()
	cmd := exec.Command(exePath, os.Args[1:]...)
	cmd.Env = append(os.Environ(), daemonEnv+"=3")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		log.Error("-D: cannot detach", "err", err)
		return 1, true
	}
	ready := make(chan bool, 1)
	go func() {
		var b [1]byte
		n, _ := r.Read(b[:])
		ready <- n == 1
	}()
	select {
	case ok := <-ready:
		if ok {
			cmd.Process.Release()
			return 0, true
		}
	case <-time.After(daemonTimeout):
	}
	log.Error("-D: the detached process did not start (run without -D to see why)", "pid", cmd.Process.Pid)
	return 1, true
}

// daemonReady tells the -D parent that this detached process serves (no-op otherwise).
func daemonReady() {
	if os.Getenv(daemonEnv) == "" {
		return
	}
	os.Unsetenv(daemonEnv)
	f := os.NewFile(3, "daemon-ready")
	f.Write([]byte{1})
	f.Close()
}
