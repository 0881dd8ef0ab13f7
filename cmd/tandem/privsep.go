package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"tandem/internal/config"
	"tandem/internal/config/haproxy"
	"tandem/internal/daemon"
	"tandem/internal/listener"
	"tandem/internal/privsep"
)

// realSources reads the filesystem and resolves with the system resolver.
func realSources() privsep.Sources {
	return privsep.Sources{ReadFile: os.ReadFile, Resolve: haproxy.SystemResolve, ReadDir: haproxy.SystemReadDir}
}

// confined is the serving process's handle on its privileged helper.
type confined struct {
	client  *privsep.Client
	upcalls *net.UnixConn // the helper's upcalls (VRRP in the helper); nil without -k
	proc    *os.Process
}

// confine starts the privileged helper, then chroots and switches user and group as
// global asks. The listeners are already bound; later binds and reloads go through the
// helper. With withVRRP the helper is started with the upcall socket, to run VRRP.
func confine(d *daemon.Daemon, g config.Global, pidfile string, withVRRP bool, log *slog.Logger) (*confined, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("global chroot/user/group need tandem to start as root (running as uid %d): start it as root, or remove them", os.Geteuid())
	}
	if pidfile != "" {
		os.Setenv("TANDEM_PIDFILE", pidfile) // the helper removes it at exit, from outside the chroot
	}
	helper, up, proc, err := privsep.StartHelper(withVRRP)
	if err != nil {
		return nil, err
	}
	if err := privsep.Drop(g.Chroot, g.User, g.Group); err != nil {
		proc.Kill()
		return nil, err
	}
	d.SetOpener(func(k listener.Key) (net.Listener, bool, error) { return helper.Listen(k) })
	log.Info("privileges dropped; reloads read files and bind through the privileged helper",
		"chroot", g.Chroot, "user", g.User, "group", g.Group, "uid", os.Getuid(), "helper_pid", proc.Pid)
	return &confined{client: helper, upcalls: up, proc: proc}, nil
}

// runHelper is the privileged helper process: it serves load and bind requests until the
// serving process goes away. With loadVRRP (-k) it also runs VRRP (runVRRPHelper).
func runHelper(loadFrom privsep.LoadFunc, loadVRRP func() (*config.VRRP, error), log *slog.Logger) int {
	conn, err := privsep.HelperConn()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tandem:", err)
		return 1
	}
	if loadVRRP != nil {
		return runVRRPHelper(conn, loadFrom, loadVRRP, log.With("component", "vrrp", "process", "privileged-helper"))
	}
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)
	err = privsep.Serve(conn, loadFrom, realSources(), listener.Open)
	removeHelperPidfile()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tandem:", err)
		return 1
	}
	return 0
}

// removeHelperPidfile removes the pid file the serving process cannot reach from its chroot.
func removeHelperPidfile() {
	if p := os.Getenv("TANDEM_PIDFILE"); p != "" {
		os.Remove(p)
	}
}
