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
	return privsep.Sources{ReadFile: os.ReadFile, Resolve: haproxy.SystemResolve}
}

// confine starts the privileged helper, then chroots and switches user and group as
// global asks. The listeners are already bound; later binds and reloads go through the
// helper.
func confine(d *daemon.Daemon, g config.Global, pidfile string, log *slog.Logger) (*privsep.Client, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("global chroot/user/group need tandem to start as root (running as uid %d): start it as root, or remove them", os.Geteuid())
	}
	if pidfile != "" {
		os.Setenv("TANDEM_PIDFILE", pidfile) // the helper removes it at exit, from outside the chroot
	}
	helper, proc, err := privsep.StartHelper()
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
	return helper, nil
}

// runHelper is the privileged helper process: it serves load and bind requests until the
// serving process goes away.
func runHelper(loadFrom privsep.LoadFunc) int {
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)
	conn, err := privsep.HelperConn()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tandem:", err)
		return 1
	}
	err = privsep.Serve(conn, loadFrom, realSources(), listener.Open)
	if p := os.Getenv("TANDEM_PIDFILE"); p != "" {
		os.Remove(p)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tandem:", err)
		return 1
	}
	return 0
}
