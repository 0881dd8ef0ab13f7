package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// notifySocket is a NOTIFY_SOCKET as systemd provides: a unix datagram socket that
// collects the states a Type=notify service sends.
type notifySocket struct {
	path string
	conn *net.UnixConn
	msgs chan string
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	n := &notifySocket{path: filepath.Join(t.TempDir(), "notify"), msgs: make(chan string, 64)}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	n.conn = c
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := c.Read(buf)
			if err != nil {
				close(n.msgs)
				return
			}
			n.msgs <- string(buf[:k])
		}
	}()
	return n
}

// expect waits (bounded) for the next notification and checks its first line.
func (n *notifySocket) expect(t *testing.T, first string) string {
	t.Helper()
	select {
	case m := <-n.msgs:
		if strings.Split(m, "\n")[0] != first {
			t.Fatalf("sd_notify: got %q, want %s first", m, first)
		}
		return m
	case <-time.After(15 * time.Second):
		t.Fatalf("sd_notify: no %s within 15s", first)
	}
	return ""
}

// masterCLI sends one line to the master CLI at path and returns the answer.
func masterCLI(t *testing.T, path, line string) string {
	t.Helper()
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		t.Fatalf("master CLI %s: %v", path, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "%s\n", line)
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("master CLI %q: %v", line, err)
	}
	return string(b)
}

var workerLine = regexp.MustCompile(`(?m)^(\d+)\s+worker\s+(\d+)\s`)

// workerPids returns the workers `show proc` lists, current first.
func workerPids(t *testing.T, cli string) []int {
	t.Helper()
	var pids []int
	for _, m := range workerLine.FindAllStringSubmatch(masterCLI(t, cli, "show proc"), -1) {
		p, _ := strconv.Atoi(m[1])
		pids = append(pids, p)
	}
	return pids
}

// readUnit reads a service unit: its Environment defaults and the ExecStart and
// ExecReload lines.
func readUnit(t *testing.T, path string) (env map[string]string, start string, reloads []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("%s: %v", path, err)
	}
	env = map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		switch k {
		case "Environment":
			for _, m := range regexp.MustCompile(`"([A-Z]+)=([^"]*)"`).FindAllStringSubmatch(v, -1) {
				env[m[1]] = m[2]
			}
		case "ExecStart":
			start = v
		case "ExecReload":
			reloads = append(reloads, v)
		}
	}
	if start == "" || len(reloads) == 0 {
		t.Fatalf("haproxy.service has no ExecStart/ExecReload:\n%s", data)
	}
	return env, start, reloads
}

// expandUnitLine substitutes $VARS as systemd does (unquoted: split on spaces) and
// runs tandem where the unit runs /usr/sbin/haproxy. A `/bin/sh -c '...'` line is run
// by the shell, the unit's variables in its environment, as systemd would.
func expandUnitLine(line string, env map[string]string) []string {
	if script, ok := strings.CutPrefix(line, "/bin/sh -c '"); ok {
		script = strings.ReplaceAll(strings.TrimSuffix(script, "'"), "/usr/sbin/tandem", tandemBin)
		out := []string{"/usr/bin/env"}
		for k, v := range env {
			out = append(out, k+"="+v)
		}
		return append(out, "/bin/sh", "-c", script)
	}
	var out []string
	for _, w := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(w, "$"); ok {
			out = append(out, strings.Fields(env[v])...)
			continue
		}
		if w == "/usr/sbin/haproxy" {
			w = tandemBin
		}
		out = append(out, w)
	}
	return out
}

// TestDebianHAProxyUnitRunsTandem runs the command lines of Debian's own haproxy.service
// (ExecStart, each ExecReload, then systemd's stop: SIGTERM to the main process) with
// /usr/sbin/haproxy replaced by tandem and a real NOTIFY_SOCKET, and checks what systemd
// would see: READY=1 once serving, RELOADING=1 with MONOTONIC_USEC then READY=1 on
// reload, STOPPING=1 and a successful exit on stop.
func TestDebianHAProxyUnitRunsTandem(t *testing.T) {
	testUnit(t, "/lib/systemd/system/haproxy.service", "/run/haproxy-master.sock")
}

// TestTandemUnit does the same with tandem's own tandem.service (keepalived.conf absent:
// the proxy alone).
func TestTandemUnit(t *testing.T) {
	testUnit(t, "../packaging/tandem.service", "/run/tandem-master.sock")
}

func testUnit(t *testing.T, unit, masterSock string) {
	env, start, reloads := readUnit(t, unit)
	dir := t.TempDir()
	web := startWeb(t, "web1")
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(cfg, []byte(proxyConfig(addr, "server web1 "+web.addr)), 0o644)
	// The unit's own defaults, with the paths moved into the test's directory.
	cli := filepath.Join(dir, "haproxy-master.sock")
	env["CONFIG"] = cfg
	env["PIDFILE"] = filepath.Join(dir, "haproxy.pid")
	env["EXTRAOPTS"] = strings.ReplaceAll(env["EXTRAOPTS"], masterSock, cli)
	if !strings.Contains(env["EXTRAOPTS"], cli) {
		t.Fatalf("the unit's EXTRAOPTS no longer name %s: %q", masterSock, env["EXTRAOPTS"])
	}
	if _, ok := env["KEEPALIVED_CONFIG"]; ok {
		env["KEEPALIVED_CONFIG"] = filepath.Join(dir, "keepalived.conf") // absent
	}
	notify := listenNotify(t)

	args := expandUnitLine(start, env)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notify.path)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second // a worker left behind must not hold the test on the output pipe
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
			}
		}
	})
	notify.expect(t, "READY=1")
	if code, got := body(t, client(false), "http://"+addr+"/"); code != 200 || got != "web1" {
		t.Fatalf("after READY=1: %d %q", code, got)
	}
	pid, _ := os.ReadFile(env["PIDFILE"])
	if strings.TrimSpace(string(pid)) != strconv.Itoa(cmd.Process.Pid) {
		t.Errorf("pid file %q, want the master's pid %d", pid, cmd.Process.Pid)
	}
	before := workerPids(t, cli)
	if len(before) != 1 {
		t.Fatalf("show proc lists workers %v, want one\n%s", before, out)
	}

	// systemctl reload: every ExecReload line in order, $MAINPID the master.
	env["MAINPID"] = strconv.Itoa(cmd.Process.Pid)
	for _, line := range reloads {
		a := expandUnitLine(line, env)
		c := exec.Command(a[0], a[1:]...)
		b, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("ExecReload %q: %v\n%s", a, err, b)
		}
		if strings.Contains(strings.Join(a, " "), tandemBin) && len(b) != 0 {
			t.Errorf("ExecReload %q printed %q; -c -q prints nothing on a valid file", a, b)
		}
	}
	m := notify.expect(t, "RELOADING=1")
	if !regexp.MustCompile(`\nMONOTONIC_USEC=\d+$`).MatchString(m) {
		t.Errorf("RELOADING=1 without MONOTONIC_USEC: %q", m)
	}
	notify.expect(t, "READY=1")
	after := workerPids(t, cli)
	if len(after) == 0 || after[0] == before[0] {
		t.Errorf("after reload the current worker is %v, was %v: no new worker", after, before)
	}
	if code, got := body(t, client(false), "http://"+addr+"/"); code != 200 || got != "web1" {
		t.Fatalf("after reload: %d %q", code, got)
	}

	// systemctl stop (KillMode=mixed): SIGTERM to the main process.
	cmd.Process.Signal(syscall.SIGTERM)
	notify.expect(t, "STOPPING=1")
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("no exit within 15s of SIGTERM\n%s", out)
	}
	if c := cmd.ProcessState.ExitCode(); c != 0 && c != 143 { // SuccessExitStatus=143
		t.Errorf("exit status %d, systemd would call the stop a failure\n%s", c, out)
	}
	for _, p := range after {
		if syscall.Kill(p, 0) == nil {
			t.Errorf("worker %d still runs after the master stopped", p)
		}
	}
}

// startMaster runs tandem -W from bin with a master CLI and waits until addr serves.
func startMaster(t *testing.T, bin, cfgText, addr string, extra ...string) (*exec.Cmd, string, *syncBuffer, chan struct{}) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(cfg, []byte(cfgText), 0o644)
	cli := filepath.Join(dir, "master.sock")
	cmd := exec.Command(bin, append([]string{"-W", "-f", cfg, "-S", cli + ",mode,600"}, extra...)...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second // a worker left behind must not hold the test on the output pipe
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
			return
		default:
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("master did not stop within 15s\n%s", out)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			break
		}
		select {
		case <-done:
			t.Fatalf("master exited before serving\n%s", out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("master did not serve within 10s\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cmd, cli, out, done
}

// load runs clients against url until stop is closed and counts what went wrong.
type load struct {
	ok, refused, failed atomic.Int64
	firstErr            atomic.Value
	wg                  sync.WaitGroup
	stop                chan struct{}
}

// startLoad runs n keep-alive and n close-mode clients (each request bounded).
func startLoad(url string, n int) *load {
	l := &load{stop: make(chan struct{})}
	for i := 0; i < 2*n; i++ {
		c := client(i%2 == 0)
		c.Timeout = 5 * time.Second
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for k := 0; k < 1_000_000; k++ {
				select {
				case <-l.stop:
					return
				default:
				}
				resp, err := c.Get(url)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				switch {
				case err == nil:
					l.ok.Add(1)
				case errors.Is(err, syscall.ECONNREFUSED):
					l.refused.Add(1)
					l.firstErr.CompareAndSwap(nil, err.Error())
				default:
					l.failed.Add(1)
					l.firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	return l
}

func (l *load) finish() { close(l.stop); l.wg.Wait() }

// TestMasterReloadUnderLoad reloads a master-worker tandem 20 times (SIGUSR2 and the
// master CLI's reload, in turn) while keep-alive and close-mode clients loop: no
// connection may be refused and no request fail, since the master keeps the listening
// sockets and the old worker finishes what it serves.
func TestMasterReloadUnderLoad(t *testing.T) {
	web := startWeb(t, "web1")
	addr := freeAddr(t)
	cmd, cli, out, _ := startMaster(t, tandemBin, proxyConfig(addr, "server web1 "+web.addr), addr)
	l := startLoad("http://"+addr+"/", 2)
	const reloads = 20
	last := workerPids(t, cli)[0]
	for i := 0; i < reloads; i++ {
		if i%2 == 0 {
			cmd.Process.Signal(syscall.SIGUSR2)
		} else {
			masterCLI(t, cli, "reload")
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			p := workerPids(t, cli)
			if len(p) > 0 && p[0] != last {
				last = p[0]
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("reload %d: no new worker within 10s\n%s", i+1, out)
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
	}
	l.finish()
	t.Logf("%d requests over %d reloads: %d refused, %d failed (first error: %v)", l.ok.Load()+l.refused.Load()+l.failed.Load(), reloads, l.refused.Load(), l.failed.Load(), l.firstErr.Load())
	if l.refused.Load() != 0 || l.failed.Load() != 0 {
		t.Errorf("%d refused, %d failed requests over %d reloads (first: %v)\n%s", l.refused.Load(), l.failed.Load(), reloads, l.firstErr.Load(), out)
	}
	if l.ok.Load() < 100 {
		t.Errorf("only %d requests served", l.ok.Load())
	}
	if m := regexp.MustCompile(`(?m)^\d+\s+master\s+(\d+) \[failed: (\d+)\]`).FindStringSubmatch(masterCLI(t, cli, "show proc")); m == nil || m[1] != strconv.Itoa(reloads) || m[2] != "0" {
		t.Errorf("show proc master line: %v, want %d reloads, 0 failed", m, reloads)
	}
}

// TestMasterRestartsKilledWorker SIGKILLs the worker under load: the master holds the
// listening socket, so no connection is refused, and a new worker serves within 100 ms.
func TestMasterRestartsKilledWorker(t *testing.T) {
	web := startWeb(t, "web1")
	addr := freeAddr(t)
	_, cli, out, _ := startMaster(t, tandemBin, proxyConfig(addr, "server web1 "+web.addr), addr)
	l := startLoad("http://"+addr+"/", 2)
	time.Sleep(200 * time.Millisecond)
	old := workerPids(t, cli)[0]
	killed := time.Now()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// A new connection made right after the kill waits in the accept queue and is
	// answered by the new worker.
	c := client(false)
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("request right after the kill: %v\n%s", err, out)
	}
	resp.Body.Close()
	resumed := time.Since(killed)
	time.Sleep(200 * time.Millisecond)
	l.finish()
	now := workerPids(t, cli)
	if len(now) != 1 || now[0] == old {
		t.Fatalf("workers after the kill: %v (killed %d)\n%s", now, old, out)
	}
	t.Logf("service resumed %v after SIGKILL; load: %d ok, %d refused, %d failed (in flight on the killed worker)", resumed, l.ok.Load(), l.refused.Load(), l.failed.Load())
	if l.refused.Load() != 0 {
		t.Errorf("%d connections refused after the worker was killed (first: %v)", l.refused.Load(), l.firstErr.Load())
	}
	if resumed > 100*time.Millisecond {
		t.Errorf("service resumed %v after the kill, want within 100ms", resumed)
	}
}

// TestMasterKeepsServingWhenReloadFails: a configuration that fails its check, and a new
// binary that cannot start, leave the running worker serving; a good binary put in place
// then is what the next reload runs (a binary upgrade).
func TestMasterKeepsServingWhenReloadFails(t *testing.T) {
	web := startWeb(t, "web1")
	addr := freeAddr(t)
	bin := filepath.Join(t.TempDir(), "tandem")
	copyFile(t, tandemBin, bin)
	cmd, cli, out, _ := startMaster(t, bin, proxyConfig(addr, "server web1 "+web.addr), addr)
	first := workerPids(t, cli)
	cfg := cmd.Args[3]

	good, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, append(append([]byte(nil), good...), "    wieght 3\n"...), 0o644)
	masterCLI(t, cli, "reload")
	if p := workerPids(t, cli); len(p) != 1 || p[0] != first[0] {
		t.Errorf("after a refused configuration the workers are %v, want %v", p, first)
	}
	if !strings.Contains(out.String(), "wieght") {
		t.Errorf("the refused reload does not say why:\n%s", out)
	}
	os.WriteFile(cfg, good, 0o644)

	// A broken binary: the new worker exits at once.
	os.Remove(bin)
	os.WriteFile(bin, []byte("#!/bin/sh\nexit 1\n"), 0o755)
	masterCLI(t, cli, "reload")
	if p := workerPids(t, cli); len(p) != 1 || p[0] != first[0] {
		t.Errorf("after a binary that cannot start the workers are %v, want %v", p, first)
	}
	if code, got := body(t, client(false), "http://"+addr+"/"); code != 200 || got != "web1" {
		t.Fatalf("after failed reloads: %d %q", code, got)
	}
	if !strings.Contains(masterCLI(t, cli, "show proc"), "[failed: 2]") {
		t.Errorf("show proc does not count 2 failed reloads:\n%s", masterCLI(t, cli, "show proc"))
	}

	// The upgrade: a working binary again.
	os.Remove(bin)
	copyFile(t, tandemBin, bin)
	masterCLI(t, cli, "reload")
	if p := workerPids(t, cli); len(p) == 0 || p[0] == first[0] {
		t.Errorf("after the upgrade the workers are %v: no new worker\n%s", p, out)
	}
	if code, got := body(t, client(false), "http://"+addr+"/"); code != 200 || got != "web1" {
		t.Fatalf("after the upgrade: %d %q", code, got)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestMasterCLI: show proc, show version, and commands forwarded to the worker's runtime
// API by relative number (@1) and by pid (@!PID).
func TestMasterCLI(t *testing.T) {
	web := startWeb(t, "web1")
	addr := freeAddr(t)
	_, cli, _, _ := startMaster(t, tandemBin, proxyConfig(addr, "server web1 "+web.addr), addr)
	if fi, err := os.Stat(cli); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("-S %s,mode,600: %v %v", cli, fi.Mode(), err)
	}
	proc := masterCLI(t, cli, "show proc")
	if !regexp.MustCompile(`^#<PID>\s+<type>\s+<reloads>\s+<uptime>\s+<version>\s*\n\d+\s+master\s+0 \[failed: 0\]\s+0d00h00m\d\ds\s+\S+\n# workers\n\d+\s+worker\s+0\s+0d00h00m\d\ds\s+\S+\n# programs\n\n$`).MatchString(proc) {
		t.Errorf("show proc:\n%s", proc)
	}
	if v := masterCLI(t, cli, "show version"); strings.TrimSpace(v) == "" {
		t.Errorf("show version: %q", v)
	}
	pid := workerPids(t, cli)[0]
	for _, target := range []string{"@1", "@!" + strconv.Itoa(pid)} {
		got := masterCLI(t, cli, target+" show info")
		if !strings.Contains(got, "Pid: "+strconv.Itoa(pid)+"\n") {
			t.Errorf("%s show info: not the worker's answer:\n%s", target, got)
		}
		got = masterCLI(t, cli, target+" disable server app/web1")
		if strings.TrimSpace(got) != "" {
			t.Errorf("%s disable server (admin level): %q", target, got)
		}
	}
	if code, _ := body(t, client(false), "http://"+addr+"/"); code != 503 {
		t.Errorf("after @1 disable server: %d, want 503", code)
	}
	if got := masterCLI(t, cli, "@!1 show info"); !strings.Contains(got, "Can't find the target PID") {
		t.Errorf("@!1: %q", got)
	}
	if got := masterCLI(t, cli, "show nothing"); !strings.Contains(got, "Unknown command") {
		t.Errorf("unknown command: %q", got)
	}
}

// TestSoftStopFlag is -sf: a new tandem binds the same address (SO_REUSEPORT, as HAProxy)
// and, once it serves, tells the old one to finish.
func TestSoftStopFlag(t *testing.T) {
	web := startWeb(t, "web1")
	addr := freeAddr(t)
	old := startTandem(t, proxyConfig(addr, "server web1 "+web.addr), addr)
	p := startTandem(t, proxyConfig(addr, "server web1 "+web.addr), addr, "-sf", strconv.Itoa(old.cmd.Process.Pid))
	select {
	case <-old.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("the old process did not finish after -sf\n%s", old.stderr)
	}
	if code, got := body(t, client(false), "http://"+addr+"/"); code != 200 || got != "web1" {
		t.Fatalf("new process: %d %q\n%s", code, got, p.stderr)
	}
}

// TestDaemonFlag is -D: the command returns once the detached process serves; the pid
// file names that process, which runs in its own session.
func TestDaemonFlag(t *testing.T) {
	web := startWeb(t, "web1")
	addr := freeAddr(t)
	cfg := writeConfig(t, proxyConfig(addr, "server web1 "+web.addr))
	pidfile := filepath.Join(t.TempDir(), "tandem.pid")
	code, _, stderr := runTandem(t, "-D", "-f", cfg, "-p", pidfile)
	if code != 0 {
		t.Fatalf("tandem -D: exit %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 {
		t.Fatalf("pid file %q", b)
	}
	defer func() {
		syscall.Kill(pid, syscall.SIGTERM)
		for i := 0; i < 200 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(25 * time.Millisecond)
		}
	}()
	if sid, _ := syscall.Getpgid(pid); sid != pid {
		t.Errorf("the detached process %d leads no session/group of its own (group %d)", pid, sid)
	}
	if code, got := body(t, client(false), "http://"+addr+"/"); code != 200 || got != "web1" {
		t.Fatalf("detached process: %d %q", code, got)
	}
}

// TestMasterWorkerDropsPrivileges: with global user/group, the worker serves as that user
// (on the sockets the root master opened, port 80 class included) while the master stays
// root, and the master can still reload and stop it.
func TestMasterWorkerDropsPrivileges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	web := startWeb(t, "web1")
	addr := freeAddr(t)
	cfg := strings.Replace(proxyConfig(addr, "server web1 "+web.addr), "\ndefaults", "global\n    user nobody\n    group nogroup\n\ndefaults", 1)
	cmd, cli, out, done := startMaster(t, tandemBin, cfg, addr)
	w := workerPids(t, cli)[0]
	waitUid(t, w, 65534, out)
	waitUid(t, cmd.Process.Pid, 0, out)
	masterCLI(t, cli, "reload")
	if p := workerPids(t, cli); len(p) == 0 || p[0] == w {
		t.Fatalf("no new worker after reload: %v\n%s", p, out)
	}
	if code, got := body(t, client(false), "http://"+addr+"/"); code != 200 || got != "web1" {
		t.Fatalf("after reload: %d %q", code, got)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("the master did not stop its unprivileged worker\n%s", out)
	}
}
