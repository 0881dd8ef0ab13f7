package master

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"tandem/internal/config"
)

// cliTimeout bounds one master CLI exchange, and a command forwarded to a worker.
const cliTimeout = 10 * time.Second

const cliHelp = `The following commands are valid at this level:
  @!<pid>                                 : send a command to the <pid> process
  @<relative pid>                         : send a command to the <relative pid> process
  @master                                 : send a command to the master process
  reload                                  : reload haproxy
  show proc                               : show processes status
  show version                            : show version of the current process
  help [<command>]                        : list matching or all commands
  quit                                    : disconnect
`

// ServeCLI serves the master CLI (-S) on ln until ln closes: `show proc`, `show
// version`, `reload`, `help`, and `@N command`, `@!PID command` forwarded to a worker's
// runtime API at admin level. Several commands may be separated by ';'.
func (m *Master) ServeCLI(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		go m.cliSession(c)
	}
}

func (m *Master) cliSession(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(cliTimeout))
	r := bufio.NewReaderSize(c, 4096)
	line, err := r.ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		return
	}
	w := bufio.NewWriter(c)
	defer w.Flush()
	for _, cmd := range strings.Split(strings.TrimRight(line, "\r\n"), ";") {
		if m.command(w, strings.TrimSpace(cmd)) {
			return
		}
	}
}

// command runs one master CLI command; it reports whether the session ends.
func (m *Master) command(w *bufio.Writer, cmd string) bool {
	switch {
	case cmd == "":
		return false
	case cmd == "quit":
		return true
	case strings.HasPrefix(cmd, "@"):
		target, rest, _ := strings.Cut(cmd, " ")
		rest = strings.TrimSpace(rest)
		if target == "@master" {
			return m.command(w, rest)
		}
		wk := m.target(target)
		if wk == nil {
			fmt.Fprintf(w, "Can't find the target PID matching the prefix '%s'\n", target)
			return true
		}
		if rest == "" {
			fmt.Fprintln(w, "a command is expected after the target (tandem's master CLI has no prompt mode)")
			return true
		}
		w.Flush()
		if err := m.forward(wk, rest, w); err != nil {
			fmt.Fprintf(w, "cannot reach worker %d: %v\n", wk.pid, err)
		}
		return false
	case cmd == "show proc":
		m.showProc(w)
	case cmd == "show version":
		fmt.Fprintln(w, m.opt.Version)
	case cmd == "reload":
		w.Flush()
		if err := m.Reload(); err != nil {
			logError(m.log, err)
		}
		return true
	case cmd == "help" || strings.HasPrefix(cmd, "help "):
		w.WriteString(cliHelp)
	default:
		fmt.Fprintf(w, "Unknown command: '%s'\n\n%s", cmd, cliHelp)
	}
	return false
}

// target resolves "@1" (the current worker) and "@!PID" (any worker).
func (m *Master) target(t string) *worker {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := strings.CutPrefix(t, "@!"); ok {
		pid, err := strconv.Atoi(p)
		if err != nil {
			return nil
		}
		for _, w := range m.workers {
			if w.pid == pid {
				return w
			}
		}
		return nil
	}
	if t == "@1" && len(m.workers) > 0 && m.workers[0].current {
		return m.workers[0]
	}
	return nil
}

// forward runs line on worker w's runtime API and copies the answer to out.
func (m *Master) forward(w *worker, line string, out io.Writer) error {
	w.ctlMu.Lock()
	c, err := sendConn(w.ctl)
	w.ctlMu.Unlock()
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(cliTimeout))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return err
	}
	_, err = io.Copy(out, c)
	return err
}

// showProc is `show proc` in HAProxy 2.6's layout.
func (m *Master) showProc(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	fmt.Fprintf(w, "#%-15s%-16s%-16s%-16s%-15s\n", "<PID>", "<type>", "<reloads>", "<uptime>", "<version>")
	fmt.Fprintf(w, "%-16d%-16s%-16s%-16s%s\n", pidOf(), "master", fmt.Sprintf("%d [failed: %d]", m.reloads, m.failed), uptime(now.Sub(m.start)), m.opt.Version)
	fmt.Fprintln(w, "# workers")
	for _, wk := range m.workers {
		fmt.Fprintf(w, "%-16d%-16s%-16d%-16s%s\n", wk.pid, "worker", m.reloads-wk.reloads, uptime(now.Sub(wk.started)), m.opt.Version)
	}
	fmt.Fprintln(w, "# programs")
	fmt.Fprintln(w)
}

func uptime(d time.Duration) string {
	s := int(d / time.Second)
	return fmt.Sprintf("%dd%02dh%02dm%02ds", s/86400, s/3600%24, s/60%60, s%60)
}

// logError logs each configuration problem on its own line.
func logError(log *slog.Logger, err error) {
	var list config.ErrorList
	if errors.As(err, &list) {
		log.Error("reload failed, the running worker keeps serving: each problem follows")
		for _, e := range list {
			log.Error(e.Error())
		}
		return
	}
	log.Error(err.Error())
}
