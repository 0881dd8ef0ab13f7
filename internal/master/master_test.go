package master

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tandem/internal/config"
	"tandem/internal/listener"
)

// The test binary is its own worker: started by a Master (WorkerEnv set), it serves
// "hello from PID" on the inherited bind, answers the master CLI's forwarded commands
// with "worker PID: COMMAND", and exits on SIGTERM or SIGUSR1, or with code 3 when
// $TEST_WORKER_FAIL names a file that exists.
func TestMain(m *testing.M) {
	if InWorker() {
		os.Exit(testWorker())
	}
	os.Exit(m.Run())
}

func testWorker() int {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGUSR1)
	if p := os.Getenv("TEST_WORKER_FAIL"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return 3
		}
	}
	w, err := OpenWorker()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ap := netip.MustParseAddrPort(os.Getenv("TEST_WORKER_BIND"))
	ln, _, err := w.Listen(listener.Key{Network: "tcp4", Addr: ap})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "hello from %d\n", os.Getpid())
			c.Close()
		}
	}()
	go func() {
		cmds := w.Commands()
		for {
			c, err := cmds.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			fmt.Fprintf(c, "worker %d: %s", os.Getpid(), line)
			c.Close()
		}
	}()
	w.Ready()
	select {
	case <-sigs:
	case <-w.MasterGone():
	}
	return 0 // the process exit closes the worker's copy of the socket
}

type harness struct {
	m    *Master
	addr string
	sigs chan os.Signal
	ran  chan int
}

func start(t *testing.T, env ...string) *harness {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, e := range append(env, "TEST_WORKER_BIND="+addr) {
		k, v, _ := strings.Cut(e, "=")
		t.Setenv(k, v)
	}
	cfg := &config.Config{Frontends: []*config.Frontend{{Name: "f", Binds: []config.Bind{{Addr: netip.MustParseAddrPort(addr)}}}}}
	exe, _ := os.Executable()
	h := &harness{addr: addr, sigs: make(chan os.Signal, 1), ran: make(chan int, 1)}
	h.m = New(Options{Exe: exe, Load: func() (*config.Config, error) { return cfg, nil }, Version: "test", ReadyTimeout: 10 * time.Second, StopTimeout: time.Second})
	if err := h.m.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.ran <- h.m.Run(h.sigs) }()
	t.Cleanup(func() {
		h.sigs <- syscall.SIGTERM
		select {
		case <-h.ran:
		case <-time.After(15 * time.Second):
			t.Error("Run did not return after SIGTERM")
		}
	})
	return h
}

// hello connects and returns the worker's greeting.
func (h *harness) hello(t *testing.T) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", h.addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitGone waits until the master has reaped worker pid.
func (h *harness) waitGone(t *testing.T, pid int) {
	t.Helper()
	for i := 0; i < 500; i++ {
		h.m.mu.Lock()
		found := false
		for _, w := range h.m.workers {
			found = found || w.pid == pid
		}
		h.m.mu.Unlock()
		if !found {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("worker %d still runs 5s after it was told to finish", pid)
}

func (h *harness) current(t *testing.T) int {
	t.Helper()
	for i := 0; i < 500; i++ {
		h.m.mu.Lock()
		var pid int
		if len(h.m.workers) > 0 && h.m.workers[0].current {
			pid = h.m.workers[0].pid
		}
		h.m.mu.Unlock()
		if pid != 0 {
			return pid
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no current worker")
	return 0
}

func TestWorkerServesOnHeldSocket(t *testing.T) {
	h := start(t)
	pid := h.current(t)
	if got := h.hello(t); got != fmt.Sprintf("hello from %d\n", pid) {
		t.Fatalf("got %q from worker %d", got, pid)
	}
}

func TestReloadReplacesWorkerAndKeepsItOnFailure(t *testing.T) {
	fail := filepath.Join(t.TempDir(), "fail")
	h := start(t, "TEST_WORKER_FAIL="+fail)
	first := h.current(t)
	if err := h.m.Reload(); err != nil {
		t.Fatal(err)
	}
	second := h.current(t)
	if second == first {
		t.Fatal("reload kept the same worker")
	}
	h.waitGone(t, first) // the old worker finishes (SIGUSR1); until then it may still accept
	if got := h.hello(t); got != fmt.Sprintf("hello from %d\n", second) {
		t.Fatalf("after reload: %q", got)
	}
	os.WriteFile(fail, nil, 0o644) // the next worker exits 3 before serving
	err := h.m.Reload()
	if err == nil || !strings.Contains(err.Error(), "exited with code 3") {
		t.Fatalf("reload with a failing worker: %v", err)
	}
	if got := h.hello(t); got != fmt.Sprintf("hello from %d\n", second) {
		t.Fatalf("after a failed reload the old worker must serve: %q", got)
	}
	if h.m.reloads != 1 || h.m.failed != 1 {
		t.Errorf("reloads %d failed %d, want 1 and 1", h.m.reloads, h.m.failed)
	}
}

func TestDeadWorkerIsReplaced(t *testing.T) {
	h := start(t)
	old := h.current(t)
	syscall.Kill(old, syscall.SIGKILL)
	for i := 0; ; i++ {
		if pid := h.current(t); pid != old {
			if got := h.hello(t); got != fmt.Sprintf("hello from %d\n", pid) {
				t.Fatalf("new worker: %q", got)
			}
			return
		}
		if i == 500 {
			t.Fatal("the killed worker was not replaced within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCLI(t *testing.T) {
	h := start(t)
	pid := h.current(t)
	cli := func(line string) string {
		a, b := net.Pipe()
		go h.m.cliSession(b)
		a.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(a, "%s\n", line)
		out, _ := io.ReadAll(a)
		a.Close()
		return string(out)
	}
	for _, tc := range []struct{ line, want string }{
		{"show version", "test\n"},
		{"@1 show info", fmt.Sprintf("worker %d: show info\n", pid)},
		{fmt.Sprintf("@!%d show stat", pid), fmt.Sprintf("worker %d: show stat\n", pid)},
		{"@master show version", "test\n"},
		{"show version; @1 x", fmt.Sprintf("test\nworker %d: x\n", pid)},
		{"@2 show info", "Can't find the target PID matching the prefix '@2'\n"},
		{"bogus", "Unknown command: 'bogus'\n\n" + cliHelp},
	} {
		if got := cli(tc.line); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.line, got, tc.want)
		}
	}
	proc := cli("show proc")
	want := fmt.Sprintf("%-16d%-16s%-16s", os.Getpid(), "master", "0 [failed: 0]")
	if !strings.HasPrefix(proc, "#<PID>          <type>          <reloads>       <uptime>        <version>      \n"+want) ||
		!strings.Contains(proc, fmt.Sprintf("# workers\n%-16d%-16s%-16d", pid, "worker", 0)) || !strings.HasSuffix(proc, "# programs\n\n") {
		t.Errorf("show proc:\n%s", proc)
	}
}

// TestDescribeExit: how the master reports a worker's end (HAProxy's wording) and the
// exit code it gives it, on processes that really ran.
func TestDescribeExit(t *testing.T) {
	fail := filepath.Join(t.TempDir(), "fail")
	os.WriteFile(fail, nil, 0o644)
	for _, tc := range []struct {
		name string
		env  []string
		want string
		code int
	}{
		{"a worker that exits 3", []string{WorkerEnv + "=1", "TEST_WORKER_FAIL=" + fail}, "exited with code 3 (Exit)", 3},
		{"a process that exits 0", nil, "exited with code 0 (Exit)", 0},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), tc.env...)
		err := cmd.Run()
		if got, code := describeExit(cmd.ProcessState, err); got != tc.want || code != tc.code {
			t.Errorf("%s: %q %d, want %q %d", tc.name, got, code, tc.want, tc.code)
		}
	}
	if got, code := describeExit(nil, errors.New("fork failed")); got != "fork failed" || code != 1 {
		t.Errorf("no process: %q %d", got, code)
	}
}

func TestUptimeAndSignalName(t *testing.T) {
	for _, tc := range []struct {
		uptime time.Duration
		want   string
	}{
		{0, "0d00h00m00s"}, {61 * time.Second, "0d00h01m01s"}, {26*time.Hour + 3*time.Minute, "1d02h03m00s"},
	} {
		if got := uptime(tc.uptime); got != tc.want {
			t.Errorf("uptime(%v) = %q, want %q", tc.uptime, got, tc.want)
		}
	}
	if got := signalName(syscall.SIGTERM); got != "Terminated" {
		t.Errorf("signalName(SIGTERM) = %q", got)
	}
}
