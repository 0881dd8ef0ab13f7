package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tandem/internal/netlab"
	"tandem/internal/netnstest"
)

// The seeds' setup in namespaces on one segment 198.18.0.0/24: a client (.2), two
// tandem nodes lb1 (.11, priority 101) and lb2 (.12, priority 100) sharing the VIP
// .100 (VRRPv2, PASS 1111, advert_int 1), two web servers web1 (.21) and web2 (.22).
const (
	haVIP      = "198.18.0.100"
	haInterval = time.Second
)

// haProxyCfg is the seeds' haproxy.cfg with the frontend bound on the VIP, which the
// backup does not hold: tandem binds it with IP_FREEBIND, no ip_nonlocal_bind sysctl.
// DISABLED is "" or " disabled".
const haProxyCfg = `global
    maxconn 1000
defaults
    mode http
    option httplog
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend http_front
    bind 198.18.0.100:80
    default_backend web_servers
backend web_servers
    balance roundrobin
    server web1 198.18.0.21:80 check{{DISABLED}}
    server web2 198.18.0.22:80 check{{DISABLED}}
`

// haKeepalivedConf is the seeds' keepalived.conf plus an in-process tracker: the node
// drops 20 below its peer when its proxy has no usable server in web_servers.
const haKeepalivedConf = `vrrp_script chk_proxy {
    script "tandem:backend web_servers min 1"
    interval 0.2
    fall 1
    rise 1
    weight -20
}
vrrp_instance VI_1 {
    state {{STATE}}
    interface eth0
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
    track_script {
        chk_proxy
    }
}
`

// haSetup is the running lab.
type haSetup struct {
	lab    *netlab.Lab
	client *netlab.Host
	nodes  map[string]*haNode
	http   *http.Client
}

// haNode is one tandem node: its namespace, its config files and its process (nil
// when stopped).
type haNode struct {
	name       string
	host       *netlab.Host
	state      string
	prio       int
	cfg, kconf string
	p          *proc
	logs       []*syncBuffer // every run's output, for failures
	top        *testing.T    // the test whose end stops the process (not a subtest's)
	proxyTmpl  string        // haproxy.cfg with {{DISABLED}}; "" is haProxyCfg
}

func newHASetup(t *testing.T) *haSetup {
	t.Helper()
	netnstest.RequireRoot(t)
	s := &haSetup{lab: netnstest.Lab(t, "td-e2e"), nodes: map[string]*haNode{}}
	s.client = netnstest.AddHost(t, s.lab, "client", "198.18.0.2/24")
	for i, name := range []string{"web1", "web2"} {
		h := netnstest.AddHost(t, s.lab, name, fmt.Sprintf("198.18.0.%d/24", 21+i))
		serveNamed(t, h, name)
	}
	for i, name := range []string{"lb1", "lb2"} {
		n := &haNode{name: name, host: netnstest.AddHost(t, s.lab, name, fmt.Sprintf("198.18.0.%d/24", 11+i)),
			state: []string{"MASTER", "BACKUP"}[i], prio: 101 - i, top: t}
		dir := t.TempDir()
		n.cfg, n.kconf = filepath.Join(dir, "haproxy.cfg"), filepath.Join(dir, "keepalived.conf")
		n.writeProxy(t, false)
		conf := strings.NewReplacer("{{STATE}}", n.state, "{{PRIO}}", fmt.Sprint(n.prio)).Replace(haKeepalivedConf)
		if err := os.WriteFile(n.kconf, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		s.nodes[name] = n
	}
	s.http = &http.Client{Timeout: 400 * time.Millisecond, Transport: &http.Transport{
		DialContext: s.client.DialContext, DisableKeepAlives: true, Proxy: nil,
	}}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("TANDEM_TEST_LOGS") == "1" {
			for _, n := range s.nodes {
				for i, l := range n.logs {
					t.Logf("%s run %d:\n%s", n.name, i+1, l)
				}
			}
		}
	})
	return s
}

// serveNamed serves "NAME via PEER-IP" inside the host's namespace, from this process.
func serveNamed(t *testing.T, h *netlab.Host, name string) {
	t.Helper()
	ln, err := h.Listen("tcp4", h.IP()+":80")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, _, _ := net.SplitHostPort(r.RemoteAddr)
		fmt.Fprintf(w, "%s via %s", name, peer)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

func (n *haNode) writeProxy(t *testing.T, disabled bool) {
	t.Helper()
	d := ""
	if disabled {
		d = " disabled"
	}
	tmpl := n.proxyTmpl
	if tmpl == "" {
		tmpl = haProxyCfg
	}
	if err := os.WriteFile(n.cfg, []byte(strings.ReplaceAll(tmpl, "{{DISABLED}}", d)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// start runs `tandem -f haproxy.cfg -k keepalived.conf` in the node's namespace. The
// process is stopped by its PID when the whole test ends, whatever happened.
func (n *haNode) start(t *testing.T) {
	t.Helper()
	p := &proc{cfg: n.cfg, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = n.host.Command(tandemBin, "-f", n.cfg, "-k", n.kconf)
	p.cmd.Stdout, p.cmd.Stderr = p.stderr, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	n.top.Cleanup(func() { p.stop(n.top) })
	n.p = p
	n.logs = append(n.logs, p.stderr)
}

// kill sends sig to the node's tandem and waits (bounded) for its exit.
func (n *haNode) kill(t *testing.T, sig syscall.Signal) {
	t.Helper()
	n.p.signal(sig)
	select {
	case <-n.p.done:
	case <-time.After(5 * time.Second):
		n.p.cmd.Process.Kill()
		<-n.p.done
		t.Fatalf("%s did not exit within 5s of %v", n.name, sig)
	}
	n.p = nil
}

// holders lists the nodes whose interface holds the VIP.
func (s *haSetup) holders(t *testing.T) []string {
	t.Helper()
	var hs []string
	for _, name := range []string{"lb1", "lb2"} {
		ok, err := s.nodes[name].host.HasAddr(haVIP)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			hs = append(hs, name)
		}
	}
	return hs
}

// waitSoleHolder waits (bounded) until name alone holds the VIP, and returns how long.
func (s *haSetup) waitSoleHolder(t *testing.T, name string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		hs := s.holders(t)
		if len(hs) == 1 && hs[0] == name {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("after %v the VIP is on %v, want %s alone", within, hs, name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stableSoleHolder checks for about a second that name alone holds the VIP.
func (s *haSetup) stableSoleHolder(t *testing.T, name string) {
	t.Helper()
	for range 10 {
		if hs := s.holders(t); len(hs) != 1 || hs[0] != name {
			t.Fatalf("the VIP is on %v, want %s alone", hs, name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// get requests http://VIP/ from the client's namespace.
func (s *haSetup) get() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+haVIP+"/", nil)
	resp, err := s.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return string(b), nil
}

// waitHTTPVia polls http://VIP/ (every 20 ms, bounded) until the answer came through
// node name, and returns how long that took.
func (s *haSetup) waitHTTPVia(t *testing.T, name string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	via := " via " + s.nodes[name].host.IP()
	var last string
	var lastErr error
	for time.Since(start) < within {
		b, err := s.get()
		if err == nil && strings.HasSuffix(b, via) {
			return time.Since(start)
		}
		last, lastErr = b, err
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no answer through %s on the VIP within %v: last %q, %v", name, within, last, lastErr)
	return 0
}

// servedByBoth checks that requests through the VIP reach web1 and web2, through name.
func (s *haSetup) servedByBoth(t *testing.T, name string) {
	t.Helper()
	seen := map[string]bool{}
	for range 4 {
		b, err := s.get()
		if err != nil {
			t.Fatalf("GET through the VIP: %v", err)
		}
		web, via, _ := strings.Cut(b, " via ")
		if via != s.nodes[name].host.IP() {
			t.Errorf("answer %q came through %s, want %s", b, via, name)
		}
		seen[web] = true
	}
	if !seen["web1"] || !seen["web2"] {
		t.Errorf("through the VIP the web servers answering were %v, want web1 and web2", seen)
	}
}

// TestHASeedSetup runs the seeds' whole architecture with the built binary: two
// tandem nodes (`tandem -f haproxy.cfg -k keepalived.conf`) share a VIP in front of
// two web servers, and a client uses the VIP. Exactly one node holds the VIP and HTTP
// through it reaches both web servers; a clean stop (SIGTERM) of the master moves the
// VIP within 0.7 s (+ margin); the higher node restarted takes it back; a crash
// (SIGKILL) of the master leaves HTTP through the VIP working again within
// Master_Down_Interval (3·advert_int + skew) plus margin; and the in-process tracker
// moves the VIP when the master's backend has no usable server.
func TestHASeedSetup(t *testing.T) {
	s := newHASetup(t)
	lb1, lb2 := s.nodes["lb1"], s.nodes["lb2"]
	skew := time.Duration(256-lb2.prio) * time.Second / 256
	down := 3*haInterval + skew
	lb2.start(t)
	lb1.start(t)

	s.waitSoleHolder(t, "lb1", 3*down)
	s.stableSoleHolder(t, "lb1")
	s.servedByBoth(t, "lb1")

	t.Run("clean stop", func(t *testing.T) {
		start := time.Now()
		lb1.kill(t, syscall.SIGTERM)
		moved := s.waitSoleHolder(t, "lb2", 3*time.Second)
		took := time.Since(start)
		served := s.waitHTTPVia(t, "lb2", 3*time.Second)
		t.Logf("SIGTERM of the master: lb2 holds the VIP %v after the signal (%v after lb1 exited), HTTP through lb2 %v later",
			took.Round(time.Millisecond), moved.Round(time.Millisecond), served.Round(time.Millisecond))
		if took > 700*time.Millisecond+300*time.Millisecond {
			t.Errorf("the VIP moved %v after SIGTERM, want about skew (%v) and at most 1s", took, skew)
		}
		s.servedByBoth(t, "lb2")
	})
	if t.Failed() {
		return
	}

	t.Run("restart takes back", func(t *testing.T) {
		lb1.start(t)
		took := s.waitSoleHolder(t, "lb1", down+3*time.Second)
		t.Logf("restart of lb1: it holds the VIP alone %v after start", took.Round(time.Millisecond))
		s.waitHTTPVia(t, "lb1", 3*time.Second)
		s.stableSoleHolder(t, "lb1")
		s.servedByBoth(t, "lb1")
	})
	if t.Failed() {
		return
	}

	t.Run("crash", func(t *testing.T) {
		lb1.kill(t, syscall.SIGKILL)
		// A crashed node keeps the VIP on its interface (as keepalived's would): the
		// client follows lb2's gratuitous ARP.
		took := s.waitHTTPVia(t, "lb2", down+2*time.Second)
		t.Logf("SIGKILL of the master: HTTP through the VIP answers via lb2 %v later (Master_Down_Interval %v)",
			took.Round(time.Millisecond), down)
		if took < down-haInterval {
			t.Errorf("lb2 took over after %v, before Master_Down_Interval %v", took, down)
		}
		s.servedByBoth(t, "lb2")

		lb1.start(t) // removes the VIP its crashed run left, then takes the VIP back
		back := s.waitSoleHolder(t, "lb1", down+3*time.Second)
		t.Logf("restart of lb1 after its crash: sole holder %v after start", back.Round(time.Millisecond))
		s.waitHTTPVia(t, "lb1", 3*time.Second)
	})
	if t.Failed() {
		return
	}

	t.Run("in-process tracker", func(t *testing.T) {
		lb1.writeProxy(t, true)
		lb1.p.signal(syscall.SIGHUP)
		took := s.waitSoleHolder(t, "lb2", down+3*time.Second)
		t.Logf("lb1's web_servers all disabled (reload): lb2 holds the VIP %v later", took.Round(time.Millisecond))
		s.waitHTTPVia(t, "lb2", 3*time.Second)
		s.stableSoleHolder(t, "lb2")

		lb1.writeProxy(t, false)
		lb1.p.signal(syscall.SIGHUP)
		back := s.waitSoleHolder(t, "lb1", down+3*time.Second)
		t.Logf("lb1's servers usable again (reload): lb1 holds the VIP %v later", back.Round(time.Millisecond))
		s.waitHTTPVia(t, "lb1", 3*time.Second)
	})
}

// TestHAInterfaceAppearsLater: `tandem -k` whose instance names an interface that
// does not exist yet keeps running (the instance waits in FAULT, as keepalived's
// does) and takes the VIP once the interface appears.
func TestHAInterfaceAppearsLater(t *testing.T) {
	netnstest.RequireRoot(t)
	lab := netnstest.Lab(t, "td-e2e-late")
	h := netnstest.AddHost(t, lab, "lb", "198.18.0.11/24")
	kconf := filepath.Join(t.TempDir(), "keepalived.conf")
	conf := "global_defs {\n    vrrp_version 3\n}\nvrrp_instance VI_1 {\n    interface late0\n    virtual_router_id 51\n" +
		"    priority 100\n    advert_int 0.1\n    virtual_ipaddress {\n        198.18.1.100\n    }\n}\n"
	if err := os.WriteFile(kconf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &proc{cfg: kconf, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = h.Command(tandemBin, "-k", kconf)
	p.cmd.Stdout, p.cmd.Stderr = p.stderr, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop(t) })
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.stderr.String(), "waits in FAULT") {
		select {
		case <-p.done:
			t.Fatalf("tandem exited without the interface: %v\n%s", p.err, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no FAULT wait logged within 5s:\n%s", p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	netnstest.Run(t, "ip", "-n", h.NS, "link", "add", "late0", "type", "veth", "peer", "name", "late1")
	netnstest.Run(t, "ip", "-n", h.NS, "addr", "add", "198.18.1.1/24", "dev", "late0")
	netnstest.Run(t, "ip", "-n", h.NS, "link", "set", "late1", "up")
	netnstest.Run(t, "ip", "-n", h.NS, "link", "set", "late0", "up")
	start := time.Now()
	for {
		out, _ := h.Command("ip", "-o", "addr", "show", "dev", "late0").CombinedOutput()
		if strings.Contains(string(out), " 198.18.1.100/") {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("the VIP is not on late0 5s after it appeared:\n%s\n%s", out, p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("the interface appeared: VIP held %v later", time.Since(start).Round(time.Millisecond))
}
