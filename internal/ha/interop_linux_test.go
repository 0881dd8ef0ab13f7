package ha

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tandem/internal/config/keepalived"
)

// The seeds' keepalived.conf (seed 004), with the interface and the VIP moved
// into the test's namespaces.
const seedConf = `vrrp_instance VI_1 {
    state %s
    interface %s
    virtual_router_id 51
    priority %d
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        198.18.0.100
    }
}
`

const helperEnv = "TANDEM_HA_HELPER_CONF"

// TestHelperNode is not a test: the interop test re-executes the test binary
// inside a namespace to run one tandem node from the config named by
// $TANDEM_HA_HELPER_CONF until SIGTERM.
func TestHelperNode(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		return
	}
	cfg, err := keepalived.ParseFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n, err := New(cfg, Options{Logger: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := n.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root (network namespaces, raw sockets) and CI=true")
	}
	t.Skip("needs root: network namespaces and raw sockets")
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// syncBuf is a log sink safe to read while a process writes it.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type proc struct {
	name string
	cmd  *exec.Cmd
	log  *syncBuf
	done chan struct{}
}

func startProc(t *testing.T, name string, env []string, argv ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(argv[0], argv[1:]...), log: &syncBuf{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill(syscall.SIGKILL) })
	return p
}

// kill signals the process by its PID and waits (bounded) for it to exit.
func (p *proc) kill(sig syscall.Signal) bool {
	select {
	case <-p.done:
		return true
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return true
	case <-time.After(3 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return false
	}
}

type pair struct {
	nsK, nsT string // keepalived's and tandem's namespaces
	dir      string
}

func newPair(t *testing.T) *pair {
	t.Helper()
	if _, err := exec.LookPath("keepalived"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("keepalived is not installed")
		}
		t.Skip("keepalived is not installed")
	}
	p := &pair{nsK: fmt.Sprintf("ha-ka-%d", os.Getpid()), nsT: fmt.Sprintf("ha-td-%d", os.Getpid()), dir: t.TempDir()}
	for _, ns := range []string{p.nsK, p.nsT} {
		ipCmd(t, "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		ipCmd(t, "-n", ns, "link", "set", "lo", "up")
	}
	ipCmd(t, "link", "add", "vk", "netns", p.nsK, "type", "veth", "peer", "name", "vt", "netns", p.nsT)
	ipCmd(t, "-n", p.nsK, "addr", "add", "198.18.0.1/24", "dev", "vk")
	ipCmd(t, "-n", p.nsT, "addr", "add", "198.18.0.2/24", "dev", "vt")
	ipCmd(t, "-n", p.nsK, "link", "set", "vk", "up")
	ipCmd(t, "-n", p.nsT, "link", "set", "vt", "up")
	return p
}

func (p *pair) write(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (p *pair) startKeepalived(t *testing.T, state string, prio int) *proc {
	t.Helper()
	conf := p.write(t, "keepalived.conf", fmt.Sprintf(seedConf, state, "vk", prio))
	return startProc(t, "keepalived", nil, "ip", "netns", "exec", p.nsK, "keepalived", "-n", "-l", "-D", "-P", "-G",
		"-f", conf, "-p", filepath.Join(p.dir, "ka.pid"), "-r", filepath.Join(p.dir, "ka-vrrp.pid"))
}

func (p *pair) startTandem(t *testing.T, state string, prio int) *proc {
	t.Helper()
	conf := p.write(t, "tandem.conf", fmt.Sprintf(seedConf, state, "vt", prio))
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return startProc(t, "tandem", []string{helperEnv + "=" + conf}, "ip", "netns", "exec", p.nsT, exe, "-test.run=^TestHelperNode$")
}

func holds(ns, dev string) bool {
	out, _ := exec.Command("ip", "-n", ns, "-4", "addr", "show", "dev", dev).CombinedOutput()
	return strings.Contains(string(out), "198.18.0.100/32")
}

// waitHolder waits (bounded) until exactly the named side holds the VIP.
func (p *pair) waitHolder(t *testing.T, within time.Duration, tandem bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		k, td := holds(p.nsK, "vk"), holds(p.nsT, "vt")
		if td == tandem && k == !tandem {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("after %v: keepalived holds VIP %v, tandem holds VIP %v (want tandem=%v)", within, k, td, tandem)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stableHolder checks for a while that exactly one side holds the VIP.
func (p *pair) stableHolder(t *testing.T, tandem bool) {
	t.Helper()
	for range 15 {
		k, td := holds(p.nsK, "vk"), holds(p.nsT, "vt")
		if td != tandem || k != !tandem {
			t.Fatalf("holder changed: keepalived %v tandem %v", k, td)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var complaint = regexp.MustCompile(`(?i)invalid|wrong|mismatch|unexpected|expect|not present|bogus|too (short|long)|AH header|passwd|checksum`)

func noComplaints(t *testing.T, ka, td *proc) {
	t.Helper()
	for _, line := range strings.Split(ka.log.String(), "\n") {
		if complaint.MatchString(line) {
			t.Errorf("keepalived complains: %s", line)
		}
	}
	if strings.Contains(td.log.String(), "rejected an advert") {
		t.Errorf("tandem rejected keepalived's adverts:\n%s", td.log.String())
	}
}

// TestInteropKeepalivedBackup: tandem (101) and Debian's keepalived (100) with the
// seeds' config: tandem holds the VIP alone; on SIGTERM it sends priority 0 and
// keepalived takes over at once.
func TestInteropKeepalivedBackup(t *testing.T) {
	requireRoot(t)
	p := newPair(t)
	ka := p.startKeepalived(t, "BACKUP", 100)
	td := p.startTandem(t, "MASTER", 101)
	defer func() {
		if t.Failed() {
			t.Logf("keepalived log:\n%s\ntandem log:\n%s", ka.log.String(), td.log.String())
		}
	}()
	p.waitHolder(t, 8*time.Second, true)
	p.stableHolder(t, true)
	if !strings.Contains(ka.log.String(), "Entering BACKUP STATE") {
		t.Errorf("keepalived did not enter BACKUP")
	}
	start := time.Now()
	if !td.kill(syscall.SIGTERM) {
		t.Errorf("tandem did not stop within 3s of SIGTERM")
	}
	if stop := time.Since(start); stop > time.Second {
		t.Errorf("tandem took %v to stop, want under 1s", stop)
	}
	d := p.waitHolder(t, 3*time.Second, false)
	t.Logf("clean stop of tandem: keepalived holds the VIP %v after tandem exited (%v after SIGTERM)", d, time.Since(start))
	if time.Since(start) > 1500*time.Millisecond {
		t.Errorf("failover after a clean stop took %v", time.Since(start))
	}
	noComplaints(t, ka, td)
}

// TestInteropKeepalivedMaster: the roles swapped: keepalived (101) holds the VIP
// alone and tandem (100) stays backup; on keepalived's clean stop tandem takes over.
func TestInteropKeepalivedMaster(t *testing.T) {
	requireRoot(t)
	p := newPair(t)
	ka := p.startKeepalived(t, "MASTER", 101)
	td := p.startTandem(t, "BACKUP", 100)
	defer func() {
		if t.Failed() {
			t.Logf("keepalived log:\n%s\ntandem log:\n%s", ka.log.String(), td.log.String())
		}
	}()
	p.waitHolder(t, 8*time.Second, false)
	p.stableHolder(t, false)
	if !strings.Contains(td.log.String(), "to=BACKUP") {
		t.Errorf("tandem did not report BACKUP")
	}
	start := time.Now()
	ka.kill(syscall.SIGTERM)
	d := p.waitHolder(t, 3*time.Second, true)
	t.Logf("clean stop of keepalived: tandem holds the VIP %v after keepalived exited (%v after SIGTERM)", d, time.Since(start))
	if time.Since(start) > 1500*time.Millisecond {
		t.Errorf("failover after a clean stop took %v", time.Since(start))
	}
	noComplaints(t, ka, td)
}
