package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"tandem/internal/netlab"
)

// geteuid is os.Geteuid; tests replace it to see the refusal without root.
var geteuid = os.Geteuid

// The demo's segment: everything in 198.18.0.0/24, the VIP .100.
const (
	demoVIP    = "198.18.0.100"
	demoClient = "198.18.0.2/24"
)

var demoNodes = []struct {
	name, addr, state string
	prio              int
}{{"lb1", "198.18.0.11/24", "MASTER", 101}, {"lb2", "198.18.0.12/24", "BACKUP", 100}}

var demoWebs = []struct{ name, addr string }{{"web1", "198.18.0.21/24"}, {"web2", "198.18.0.22/24"}}

// demoHACfg is the seeds' haproxy.cfg, bound on the VIP: tandem binds it with
// IP_FREEBIND on the backup, no ip_nonlocal_bind sysctl.
const demoHACfg = `# tandem demo --ha: the seeds' haproxy.cfg, the frontend on the VIP
global
    maxconn 1000
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    retries 2
    option redispatch
    option forwardfor
frontend http_front
    bind 198.18.0.100:80
    default_backend web_servers
backend web_servers
    balance roundrobin
    server web1 198.18.0.21:80 check
    server web2 198.18.0.22:80 check
`

// demoHAKeepalived is the seeds' keepalived.conf, plus an in-process tracker.
const demoHAKeepalived = `# tandem demo --ha: the seeds' keepalived.conf (VRRPv2, PASS, advert_int 1)
vrrp_script chk_proxy {
    script "tandem:backend web_servers min 1"   # in process: no fork, no curl
    interval 0.5
    fall 2
    rise 2
    weight -20
}
vrrp_instance VI_1 {
    state %s
    interface eth0
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
    track_script {
        chk_proxy
    }
}
`

// demoNode is one running tandem node.
type demoNode struct {
	name, dir, logPath string
	host               *netlab.Host
	cmd                *exec.Cmd
	done               chan struct{}
}

// runDemoHA builds the seed architecture in network namespaces, shows a failover
// live and removes everything on exit or Ctrl-C.
func runDemoHA(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tandem demo --ha", flag.ContinueOnError)
	fs.SetOutput(stderr)
	failAfter := fs.Duration("failover-after", 8*time.Second, "crash (SIGKILL) the master this long after the setup is ready; 0: on Enter")
	exitAfter := fs.Duration("exit-after", 0, "clean up and exit this long after the show ends (0: at Ctrl-C)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if geteuid() != 0 {
		fmt.Fprint(stderr, `tandem demo --ha needs root: it creates network namespaces, veth links and a bridge,
and the two tandem nodes need CAP_NET_ADMIN and CAP_NET_RAW for VRRP and the virtual IP.
Run it with sudo. Without root, "tandem demo" runs two demo web servers, a load balancer
with cookie persistence and its configuration on 127.0.0.1 (see "tandem demo -print-config").
`)
		return 1
	}
	if *failAfter < 0 || *failAfter > time.Hour || *exitAfter < 0 || *exitAfter > 24*time.Hour {
		fmt.Fprintln(stderr, "tandem demo --ha: -failover-after must be within 0..1h and -exit-after within 0..24h")
		return 2
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, "tandem demo --ha: cannot find my own binary:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d := &demoHA{out: stdout, exe: exe, prefix: fmt.Sprintf("tandem-demo-%d", os.Getpid())}
	defer d.cleanup(stderr)
	if err := d.build(); err != nil {
		fmt.Fprintln(stderr, "tandem demo --ha:", err)
		return 1
	}
	if err := d.show(ctx, *failAfter); err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(stdout, "\ninterrupted: cleaning up")
			return 0
		}
		fmt.Fprintln(stderr, "tandem demo --ha:", err)
		return 1
	}
	if *exitAfter > 0 {
		fmt.Fprintf(stdout, "\nThe setup stays up for %v to try the commands above, then is removed (Ctrl-C: now).\n", *exitAfter)
		select {
		case <-ctx.Done():
		case <-time.After(*exitAfter):
		}
	} else {
		fmt.Fprintln(stdout, "\nThe setup stays up to try the commands above. Ctrl-C removes it.")
		<-ctx.Done()
	}
	fmt.Fprintln(stdout, "cleaning up: stopping the nodes, deleting the namespaces")
	return 0
}

type demoHA struct {
	out    io.Writer
	exe    string
	prefix string
	dir    string
	lab    *netlab.Lab
	client *netlab.Host
	webs   []*http.Server
	nodes  []*demoNode
	start  time.Time
}

func (d *demoHA) build() error {
	var err error
	if d.dir, err = os.MkdirTemp("", "tandem-demo-ha-"); err != nil {
		return err
	}
	if d.lab, err = netlab.New(d.prefix); err != nil {
		return err
	}
	if d.client, err = d.lab.AddHost("client", demoClient); err != nil {
		return err
	}
	for _, w := range demoWebs {
		h, err := d.lab.AddHost(w.name, w.addr)
		if err != nil {
			return err
		}
		srv, err := serveDemoWeb(h, w.name)
		if err != nil {
			return err
		}
		d.webs = append(d.webs, srv)
	}
	for _, n := range demoNodes {
		h, err := d.lab.AddHost(n.name, n.addr)
		if err != nil {
			return err
		}
		nd := &demoNode{name: n.name, host: h, dir: filepath.Join(d.dir, n.name), logPath: filepath.Join(d.dir, n.name+".log")}
		if err := os.MkdirAll(nd.dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(nd.dir, "haproxy.cfg"), []byte(demoHACfg), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(nd.dir, "keepalived.conf"), fmt.Appendf(nil, demoHAKeepalived, n.state, n.prio), 0o644); err != nil {
			return err
		}
		d.nodes = append(d.nodes, nd)
	}
	for i := len(d.nodes) - 1; i >= 0; i-- { // the backup first, as in the seeds
		if err := d.startNode(d.nodes[i]); err != nil {
			return err
		}
	}
	return nil
}

// serveDemoWeb answers {"message": "Hello from NAME", "via": "PEER"} inside h's
// namespace: PEER is the load balancer that forwarded the request.
func serveDemoWeb(h *netlab.Host, name string) (*http.Server, error) {
	ln, err := h.Listen("tcp4", h.IP()+":80")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, _, _ := net.SplitHostPort(r.RemoteAddr)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"message": "Hello from %s", "via": %q}`+"\n", name, peer)
	})}
	go srv.Serve(ln)
	return srv, nil
}

func (d *demoHA) startNode(n *demoNode) error {
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	n.cmd = n.host.Command(d.exe, "-f", filepath.Join(n.dir, "haproxy.cfg"), "-k", filepath.Join(n.dir, "keepalived.conf"))
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	// if this process dies without cleaning up, the node stops too
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := n.cmd.Start(); err != nil {
		return fmt.Errorf("starting node %s: %w", n.name, err)
	}
	done := make(chan struct{})
	n.done = done
	go func() { _ = n.cmd.Wait(); close(done) }()
	return nil
}

// stopNode signals the node's tandem by its PID and waits (bounded) for its exit.
func (n *demoNode) stop(sig syscall.Signal) {
	if n.cmd == nil {
		return
	}
	select {
	case <-n.done:
		return
	default:
	}
	_ = n.cmd.Process.Signal(sig)
	select {
	case <-n.done:
	case <-time.After(5 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

func (d *demoHA) cleanup(stderr io.Writer) {
	for _, n := range d.nodes {
		n.stop(syscall.SIGTERM)
	}
	for _, s := range d.webs {
		s.Close()
	}
	if d.lab != nil {
		if err := d.lab.Close(); err != nil {
			fmt.Fprintln(stderr, "tandem demo --ha: deleting the namespaces:", err)
		}
	}
	if d.dir != "" {
		os.RemoveAll(d.dir)
	}
}

// holders lists the nodes whose interface holds the VIP ("-" for none). A crashed
// node keeps it until it starts again, as keepalived's does.
func (d *demoHA) holders() string {
	var hs []string
	for _, n := range d.nodes {
		if ok, _ := n.host.HasAddr(demoVIP); ok {
			hs = append(hs, n.name)
		}
	}
	if len(hs) == 0 {
		return "-"
	}
	return strings.Join(hs, ",")
}

// ask requests http://VIP/ from the client and says which node and web server answered.
func (d *demoHA) ask(c *http.Client) string {
	resp, err := c.Get("http://" + demoVIP + "/")
	if err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		return "no answer (" + msg + ")"
	}
	defer resp.Body.Close()
	var a struct{ Message, Via string }
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&a); err != nil {
		return fmt.Sprintf("status %d, unreadable body", resp.StatusCode)
	}
	via := a.Via
	for _, n := range d.nodes {
		if n.host.IP() == a.Via {
			via = n.name
		}
	}
	return fmt.Sprintf("%s → %s", via, strings.TrimPrefix(a.Message, "Hello from "))
}

// show waits for the master, prints what to try, then polls the VIP every 200 ms
// while it crashes the master, and later restarts it.
func (d *demoHA) show(ctx context.Context, failAfter time.Duration) error {
	deadline := time.Now().Add(15 * time.Second)
	for d.holders() != "lb1" {
		if time.Now().After(deadline) {
			return fmt.Errorf("lb1 does not hold the VIP 15s after start; node logs: %s, %s", d.nodes[0].logPath, d.nodes[1].logPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	ns := func(name string) string { return d.prefix + "-" + name }
	fmt.Fprintf(d.out, `tandem demo --ha: the seeds' architecture in network namespaces

  client %s ── VIP %s ─┬─ lb1 198.18.0.11  tandem MASTER, priority 101 ─┬─ web1 198.18.0.21:80
                                          └─ lb2 198.18.0.12  tandem BACKUP, priority 100 ─┴─ web2 198.18.0.22:80

  each node runs: tandem -f haproxy.cfg -k keepalived.conf      (configs in %s/lb1, %s/lb2)
  VRRPv2, auth PASS, advert_int 1: Master_Down_Interval = 3×1 s + skew 0.61 s

Try, in another terminal (as root):
  ip netns exec %s curl -s http://%s/        # which web server answered, via which node
  ip -n %s addr show dev eth0                      # the VIP on the master
  kill -TERM %d                                   # clean stop of lb1: lb2 takes over in ~0.6 s
  tail -f %s                         # lb1's log

`, strings.TrimSuffix(demoClient, "/24"), demoVIP, d.dir, d.dir, ns("client"), demoVIP, ns("lb1"), d.nodes[0].cmd.Process.Pid, d.nodes[0].logPath)
	c := &http.Client{Timeout: 180 * time.Millisecond, Transport: &http.Transport{DialContext: d.client.DialContext, DisableKeepAlives: true}}
	events := make(chan string, 1)
	if failAfter == 0 {
		fmt.Fprintln(d.out, "Press Enter to crash the master (lb1, SIGKILL).")
		go func() {
			var b [1]byte
			if _, err := os.Stdin.Read(b[:]); err == nil {
				events <- "crash"
			}
		}()
	} else {
		fmt.Fprintf(d.out, "The master (lb1) crashes (SIGKILL) in %v. Who answers on http://%s/, every 200 ms:\n", failAfter, demoVIP)
		go func() {
			select {
			case <-ctx.Done():
			case <-time.After(failAfter):
				events <- "crash"
			}
		}()
	}
	d.start = time.Now()
	var crashed, restarted time.Time
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	const restartAfter, watchAfterRestart = 6 * time.Second, 6 * time.Second
	limit := time.Now().Add(failAfter + time.Hour) // Enter never pressed: bounded anyway
	for time.Now().Before(limit) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev := <-events:
			if ev == "crash" {
				crashed = time.Now()
				d.nodes[0].stop(syscall.SIGKILL)
				d.logf("*** lb1 crashed (SIGKILL): lb2 takes over when 3 adverts are missed, after about 3.6 s")
			}
		case <-tick.C:
			if !crashed.IsZero() && restarted.IsZero() && time.Since(crashed) >= restartAfter {
				if err := d.startNode(d.nodes[0]); err != nil {
					return err
				}
				restarted = time.Now()
				d.logf("*** lb1 restarted: it removes its stale VIP, and with the higher priority takes the VIP back (after about 3.6 s, no gap)")
			}
			if !restarted.IsZero() && time.Since(restarted) >= watchAfterRestart {
				limit = time.Now()
			}
			d.logf("%-28s (VIP on %s)", d.ask(c), d.holders())
		}
	}
	fmt.Fprintf(d.out, "\nThe failover is over: the VIP is on %s (lb1 now runs as pid %d).\n", d.holders(), d.nodes[0].cmd.Process.Pid)
	return nil
}

func (d *demoHA) logf(format string, args ...any) {
	fmt.Fprintf(d.out, "  %+6.1fs  %s\n", time.Since(d.start).Seconds(), fmt.Sprintf(format, args...))
}
