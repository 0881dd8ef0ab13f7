package ha

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
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
	"tandem/internal/netnstest"
)

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
	// SIGUSR1 asks for a planned switchover (what `vrrp switchover` does in tandem)
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		for range usr1 {
			log.Info("switchover asked", "result", fmt.Sprint(n.Switchover("")))
		}
	}()
	if err := n.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		os.Exit(1)
	}
	os.Exit(0)
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

// variant is one keepalived.conf both sides run, as a template: {{STATE}},
// {{IF}}, {{PRIO}}, {{SRC}} and {{PEER}} are filled per side.
type variant struct {
	name     string
	conf     string
	vip      string // as `ip addr` shows it
	interval time.Duration
	full     bool // also restart and crash
}

// seedInstance is the seeds' keepalived.conf (seed 004) with the interface and
// VIP moved into the test's namespaces.
const seedInstance = `vrrp_instance VI_1 {
    state {{STATE}}
    interface {{IF}}
    virtual_router_id 51
    priority {{PRIO}}
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        198.18.0.100
    }
{{EXTRA}}}
`

var variants = []variant{
	{name: "seed v2 PASS", conf: seedInstance, vip: "198.18.0.100/32", interval: time.Second, full: true},
	{name: "v3 advert_int 0.1", conf: "global_defs {\n    vrrp_version 3\n}\n" +
		strings.Replace(strings.Replace(seedInstance, "advert_int 1", "advert_int 0.1", 1),
			"    authentication {\n        auth_type PASS\n        auth_pass 1111\n    }\n", "", 1),
		vip: "198.18.0.100/32", interval: 100 * time.Millisecond, full: true},
	{name: "v2 unicast", conf: strings.Replace(seedInstance, "{{EXTRA}}",
		"    unicast_src_ip {{SRC}}\n    unicast_peer {\n        {{PEER}}\n    }\n{{EXTRA}}", 1),
		vip: "198.18.0.100/32", interval: time.Second},
	{name: "v3 IPv6", conf: strings.Replace(strings.Replace(seedInstance, "198.18.0.100", "fe80::100/64", 1),
		"    authentication {\n        auth_type PASS\n        auth_pass 1111\n    }\n", "", 1),
		vip: "fe80::100/64", interval: time.Second},
}

func (v variant) render(state, ifname string, prio int, src, peer string) string {
	r := strings.NewReplacer("{{STATE}}", state, "{{IF}}", ifname, "{{PRIO}}", fmt.Sprint(prio),
		"{{SRC}}", src, "{{PEER}}", peer, "{{EXTRA}}", "")
	return r.Replace(v.conf)
}

// lan is three namespaces on one Ethernet segment (netlab: a bridge in a hub
// namespace): keepalived's (198.18.0.1), tandem's (198.18.0.2) and a client's
// (198.18.0.3), each with its interface eth0.
type lan struct {
	nsK, nsT, nsC string
	dir           string
	macK, macT    string
	kaStarts      int // fresh pid files per keepalived start: PIDs are reused fast
}

// dev is every lan host's interface.
const dev = "eth0"

func newLAN(t *testing.T) *lan {
	t.Helper()
	if _, err := exec.LookPath("keepalived"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("keepalived is not installed")
		}
		t.Skip("keepalived is not installed")
	}
	lab := netnstest.Lab(t, "ha")
	k := netnstest.AddHost(t, lab, "ka", "198.18.0.1/24")
	td := netnstest.AddHost(t, lab, "td", "198.18.0.2/24")
	c := netnstest.AddHost(t, lab, "cl", "198.18.0.3/24")
	return &lan{nsK: k.NS, nsT: td.NS, nsC: c.NS, dir: t.TempDir(), macK: k.MAC, macT: td.MAC}
}

func (l *lan) write(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(l.dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (l *lan) startKeepalived(t *testing.T, v variant, state string, prio int) *proc {
	t.Helper()
	conf := l.write(t, "keepalived.conf", v.render(state, dev, prio, "198.18.0.1", "198.18.0.2"))
	l.kaStarts++
	return startProc(t, "keepalived", nil, "ip", "netns", "exec", l.nsK, "keepalived", "-n", "-l", "-D", "-P", "-G", "-R",
		"-f", conf, "-p", filepath.Join(l.dir, fmt.Sprintf("ka%d.pid", l.kaStarts)), "-r", l.vrrpPidFile())
}

func (l *lan) vrrpPidFile() string {
	return filepath.Join(l.dir, fmt.Sprintf("ka%d-vrrp.pid", l.kaStarts))
}

// crashKeepalived SIGKILLs keepalived's VRRP process (by the PID in its pid
// file), then its parent.
func (l *lan) crashKeepalived(t *testing.T, ka *proc) {
	t.Helper()
	b, err := os.ReadFile(l.vrrpPidFile())
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil || pid <= 1 {
		t.Fatalf("vrrp pid file: %q", b)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	ka.kill(syscall.SIGKILL)
}

func (l *lan) startTandem(t *testing.T, v variant, state string, prio int) *proc {
	t.Helper()
	conf := l.write(t, "tandem.conf", v.render(state, dev, prio, "198.18.0.2", "198.18.0.1"))
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return startProc(t, "tandem", []string{helperEnv + "=" + conf}, "ip", "netns", "exec", l.nsT, exe, "-test.run=^TestHelperNode$")
}

func holds(ns, dev, vip string) bool {
	out, _ := exec.Command("ip", "-n", ns, "addr", "show", "dev", dev).CombinedOutput()
	return strings.Contains(string(out), " "+vip+" ")
}

// waitHolder waits (bounded) until the VIP is on the wanted side; with only it
// also requires the other side not to hold it.
func (l *lan) waitHolder(t *testing.T, v variant, within time.Duration, tandem, only bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		k, td := holds(l.nsK, dev, v.vip), holds(l.nsT, dev, v.vip)
		if (tandem && td && (!only || !k)) || (!tandem && k && (!only || !td)) {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("after %v: keepalived holds the VIP: %v, tandem: %v (want tandem=%v only=%v)", within, k, td, tandem, only)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stableHolder checks for 1.5s that exactly one side holds the VIP.
func (l *lan) stableHolder(t *testing.T, v variant, tandem bool) {
	t.Helper()
	for range 15 {
		k, td := holds(l.nsK, dev, v.vip), holds(l.nsT, dev, v.vip)
		if td != tandem || k != !tandem {
			t.Fatalf("holders changed: keepalived %v tandem %v", k, td)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// clientReaches sends a UDP datagram from the client to a closed port on the
// VIP: the holder answers with ICMP port unreachable (a connected socket then
// reads ECONNREFUSED), and the client's ARP entry for the VIP must be the
// holder's MAC (gratuitous ARP moved it after a failover).
func (l *lan) clientReaches(t *testing.T, v variant, tandem bool) {
	t.Helper()
	network, target, ip := "udp4", "198.18.0.100:9", "198.18.0.100"
	if strings.Contains(v.vip, ":") {
		// unsolicited NA with the override flag moves the neighbour entry
		network, target, ip = "udp6", "[fe80::100%"+dev+"]:9", "fe80::100"
	}
	want := l.macK
	if tandem {
		want = l.macT
	}
	var neigh []byte
	var rerr error
	for range 10 { // bounded: ~3s
		var c net.Conn
		netnstest.InNetns(t, l.nsC, func() {
			var err error
			if c, err = net.Dial(network, target); err != nil {
				t.Fatal(err)
			}
		})
		_, _ = c.Write([]byte("x"))
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, rerr = c.Read(make([]byte, 16))
		c.Close()
		if errors.Is(rerr, syscall.ECONNREFUSED) {
			neigh, _ = exec.Command("ip", "-n", l.nsC, "neigh", "show", ip, "dev", dev).CombinedOutput()
			if strings.Contains(string(neigh), want) {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("client does not reach the VIP at %s (tandem=%v): read %v, neigh %q", want, tandem, rerr, neigh)
}

var complaint = regexp.MustCompile(`(?i)invalid|wrong|mismatch|unexpected|expect|not present|bogus|too (short|long)|AH header|passwd|checksum`)

func noComplaints(t *testing.T, logs ...*proc) {
	t.Helper()
	for _, p := range logs {
		if p.name == "keepalived" {
			for _, line := range strings.Split(p.log.String(), "\n") {
				if complaint.MatchString(line) {
					t.Errorf("keepalived complains: %s", line)
				}
			}
		} else if strings.Contains(p.log.String(), "rejecting adverts") {
			t.Errorf("tandem rejected keepalived's adverts:\n%s", p.log.String())
		}
	}
}

// dumpOnFailure logs the processes' output when the test failed, or always
// with TANDEM_TEST_LOGS=1.
func dumpOnFailure(t *testing.T, procs *[]*proc) {
	if t.Failed() || os.Getenv("TANDEM_TEST_LOGS") == "1" {
		for _, p := range *procs {
			t.Logf("%s log:\n%s", p.name, p.log.String())
		}
	}
}

// TestInteropWithKeepalived runs one tandem node and Debian's keepalived on one
// segment with the same config, in both role assignments: exactly one VIP
// holder, a client reaching it, failover on a clean stop (priority 0), the
// higher node taking the VIP back on restart, failover on a crash (SIGKILL),
// and no complaint from keepalived about tandem's adverts, nor the reverse.
func TestInteropWithKeepalived(t *testing.T) {
	if testing.Short() {
		t.Skip("about 100s of failovers; run without -short")
	}
	netnstest.RequireRoot(t)
	for _, v := range variants {
		for _, tandemHigh := range []bool{true, false} {
			name := v.name + "/tandem master"
			if !tandemHigh {
				name = v.name + "/keepalived master"
			}
			t.Run(name, func(t *testing.T) { interop(t, v, tandemHigh) })
		}
	}
}

func interop(t *testing.T, v variant, tandemHigh bool) {
	l := newLAN(t)
	var procs []*proc
	defer dumpOnFailure(t, &procs)
	prioT, prioK, stateT, stateK := 101, 100, "MASTER", "BACKUP"
	if !tandemHigh {
		prioT, prioK, stateT, stateK = 100, 101, "BACKUP", "MASTER"
	}
	startHigh := func() *proc {
		if tandemHigh {
			return l.startTandem(t, v, stateT, prioT)
		}
		return l.startKeepalived(t, v, stateK, prioK)
	}
	var low *proc
	if tandemHigh {
		low = l.startKeepalived(t, v, stateK, prioK)
	} else {
		low = l.startTandem(t, v, stateT, prioT)
	}
	high := startHigh()
	procs = append(procs, low, high)
	downInterval := 3*v.interval + time.Duration(256-100)*time.Second/256
	if strings.HasPrefix(v.name, "v3") {
		downInterval = 3*v.interval + time.Duration(256-100)*v.interval/256
	}

	l.waitHolder(t, v, 8*time.Second, tandemHigh, true)
	l.stableHolder(t, v, tandemHigh)
	l.clientReaches(t, v, tandemHigh)

	// Clean stop: priority 0, the backup takes over after Skew_Time.
	start := time.Now()
	if !high.kill(syscall.SIGTERM) {
		t.Errorf("%s did not stop within 3s of SIGTERM", high.name)
	}
	d := l.waitHolder(t, v, 3*time.Second, !tandemHigh, true)
	took := time.Since(start)
	t.Logf("clean stop of %s: other side holds the VIP %v after SIGTERM (%v after exit)", high.name, took, d)
	if high.name == "tandem" && took > time.Second+v.interval {
		t.Errorf("failover after tandem's clean stop took %v", took)
	}
	l.clientReaches(t, v, !tandemHigh)
	if !v.full {
		noComplaints(t, procs...)
		return
	}

	// Restart of the higher node: it takes the VIP back.
	start = time.Now()
	high = startHigh()
	procs = append(procs, high)
	l.waitHolder(t, v, downInterval+3*time.Second, tandemHigh, true)
	t.Logf("restart of %s: it holds the VIP again %v after start", high.name, time.Since(start))
	l.stableHolder(t, v, tandemHigh)
	l.clientReaches(t, v, tandemHigh)

	// Crash: the backup takes over after Master_Down_Interval. (A crashed
	// process leaves its VIP on its interface, as keepalived's does.)
	start = time.Now()
	if tandemHigh {
		high.kill(syscall.SIGKILL)
	} else {
		l.crashKeepalived(t, high)
	}
	l.waitHolder(t, v, downInterval+time.Second, !tandemHigh, false)
	took = time.Since(start)
	t.Logf("crash of %s: other side holds the VIP %v after SIGKILL (Master_Down_Interval %v)", high.name, took, downInterval)
	if took < downInterval-v.interval {
		t.Errorf("took over after %v, before Master_Down_Interval %v", took, downInterval)
	}

	// Restart after the crash: the leftover VIP is removed at start, and the
	// higher node takes the VIP back; one holder again.
	start = time.Now()
	high = startHigh()
	procs = append(procs, high)
	l.waitHolder(t, v, downInterval+3*time.Second, tandemHigh, true)
	t.Logf("restart of %s after its crash: sole holder again %v after start", high.name, time.Since(start))
	l.stableHolder(t, v, tandemHigh)
	noComplaints(t, procs...)
}

// TestInteropSwitchover: a planned switchover from a tandem master to a keepalived
// backup: keepalived takes over on the priority 0 advert after its Skew_Time, tandem
// keeps the VIP until keepalived's first advert (never both without, never none for
// longer than that advert's trip), and tandem, of higher priority, does not take it
// back; keepalived complains of nothing.
func TestInteropSwitchover(t *testing.T) {
	netnstest.RequireRoot(t)
	v := variants[0]
	l := newLAN(t)
	var procs []*proc
	defer dumpOnFailure(t, &procs)
	ka := l.startKeepalived(t, v, "BACKUP", 100)
	td := l.startTandem(t, v, "MASTER", 101)
	procs = append(procs, ka, td)
	l.waitHolder(t, v, 8*time.Second, true, true)
	l.stableHolder(t, v, true)

	start := time.Now()
	_ = td.cmd.Process.Signal(syscall.SIGUSR1)
	gap := time.Duration(0)
	for time.Since(start) < 3*time.Second { // bounded: until keepalived alone holds it
		k, tn := holds(l.nsK, dev, v.vip), holds(l.nsT, dev, v.vip)
		if k && !tn {
			break
		}
		if !k && !tn {
			gap += 5 * time.Millisecond
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	t.Logf("switchover tandem -> keepalived: keepalived alone holds the VIP %v after the request; no holder for about %v", took, gap)
	if took > 2*time.Second || gap > 50*time.Millisecond {
		t.Errorf("handover took %v with %v without a holder", took, gap)
	}
	l.waitHolder(t, v, time.Second, false, true)
	time.Sleep(4 * v.interval) // past Master_Down_Interval: tandem does not preempt
	l.stableHolder(t, v, false)
	l.clientReaches(t, v, false)
	if !strings.Contains(td.log.String(), "result=<nil>") {
		t.Errorf("tandem's switchover did not report success:\n%s", td.log.String())
	}
	noComplaints(t, procs...)
}

// TestInteropScriptTracking: a vrrp_script whose check fails lowers tandem's
// priority by its weight (101-5 < 100) and keepalived takes the VIP; when the
// check passes again tandem takes it back.
func TestInteropScriptTracking(t *testing.T) {
	netnstest.RequireRoot(t)
	l := newLAN(t)
	flag := filepath.Join(l.dir, "fail")
	v := variants[0]
	v.conf = "vrrp_script chk {\n    script \"/usr/bin/test ! -e " + flag + "\"\n    interval 0.2\n    fall 1\n    rise 1\n    weight -5\n}\n" +
		strings.Replace(v.conf, "{{EXTRA}}", "    track_script {\n        chk\n    }\n{{EXTRA}}", 1)
	td := l.startTandem(t, v, "MASTER", 101)
	plain := variants[0]
	ka := l.startKeepalived(t, plain, "BACKUP", 100)
	procs := []*proc{td, ka}
	defer dumpOnFailure(t, &procs)
	l.waitHolder(t, v, 8*time.Second, true, true)
	if err := os.WriteFile(flag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	l.waitHolder(t, v, 6*time.Second, false, true)
	t.Logf("script failed: keepalived holds the VIP %v later", time.Since(start))
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	l.waitHolder(t, v, 6*time.Second, true, true)
	t.Logf("script passes again: tandem holds the VIP %v later", time.Since(start))
	noComplaints(t, procs...)
}

// TestWithoutCapabilities: without CAP_NET_RAW tandem refuses to start with an
// error that names the capability.
func TestWithoutCapabilities(t *testing.T) {
	netnstest.RequireRoot(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv is not installed")
	}
	ns := netnstest.Name("ha-cap")
	netnstest.AddNS(t, ns)
	netnstest.Run(t, "ip", "-n", ns, "link", "add", "vt", "type", "veth", "peer", "name", "vp")
	netnstest.Run(t, "ip", "-n", ns, "addr", "add", "198.18.0.2/24", "dev", "vt")
	netnstest.Run(t, "ip", "-n", ns, "link", "set", "vt", "up")
	dir := t.TempDir()
	conf := filepath.Join(dir, "k.conf")
	if err := os.WriteFile(conf, []byte(variants[0].render("BACKUP", "vt", 100, "", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, "setpriv", "--bounding-set=-net_raw,-net_admin", "--inh-caps=-net_raw,-net_admin",
		exe, "-test.run=^TestHelperNode$")
	cmd.Env = append(os.Environ(), helperEnv+"="+conf)
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatal("tandem without CAP_NET_RAW did not exit")
	}
	if err == nil || !strings.Contains(string(out), "CAP_NET_RAW") {
		t.Errorf("err %v, output:\n%s\nwant a failure naming CAP_NET_RAW", err, out)
	}
}

// TestTwoTandemNodes: two tandem nodes on real sockets (v3, advert_int 0.1):
// one holder, and a clean stop moves the VIP within Skew_Time.
func TestTwoTandemNodes(t *testing.T) {
	netnstest.RequireRoot(t)
	l := newLAN(t)
	v := variants[1]
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	a := startProc(t, "tandem", []string{helperEnv + "=" + l.write(t, "a.conf", v.render("MASTER", dev, 101, "", ""))},
		"ip", "netns", "exec", l.nsK, exe, "-test.run=^TestHelperNode$")
	b := l.startTandem(t, v, "BACKUP", 100)
	procs := []*proc{a, b}
	defer dumpOnFailure(t, &procs)
	l.waitHolder(t, v, 5*time.Second, false, true) // a runs where keepalived usually does
	l.stableHolder(t, v, false)
	l.clientReaches(t, v, false)
	start := time.Now()
	a.kill(syscall.SIGTERM)
	l.waitHolder(t, v, 2*time.Second, true, true)
	t.Logf("clean stop: the other tandem holds the VIP %v after SIGTERM", time.Since(start))
	l.clientReaches(t, v, true)
	noComplaints(t, procs...)
}
