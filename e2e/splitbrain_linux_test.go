package e2e

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"tandem/internal/netnstest"
)

// haObservedCfg is haProxyCfg with a runtime API socket (SOCK) and a stats/metrics
// frontend on every address of the node.
const haObservedCfg = `global
    maxconn 1000
    stats socket {{SOCK}} level admin
defaults
    mode http
    option httplog
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend http_front
    bind 198.18.0.100:80
    default_backend web_servers
frontend stats
    bind *:8404
    stats enable
    stats uri /stats
    http-request use-service prometheus-exporter if { path /metrics }
    default_backend web_servers
backend web_servers
    balance roundrobin
    server web1 198.18.0.21:80 check{{DISABLED}}
    server web2 198.18.0.22:80 check{{DISABLED}}
`

// TestSplitBrainCaughtInNamespaces is issue 14's acceptance for split brain: two tandem
// nodes on a bridge; lb2's port is detached from the bridge, so both nodes become
// MASTER; when it is attached again exactly one stays MASTER. The episode appears
// once in lb2's log (not once per advert), in its metrics and on its stats page, and
// `show vrrp timeline` gives the stages of each takeover.
func TestSplitBrainCaughtInNamespaces(t *testing.T) {
	s := newHASetup(t)
	socks := map[string]string{}
	for _, name := range []string{"lb1", "lb2"} {
		n := s.nodes[name]
		socks[name] = filepath.Join(t.TempDir(), name+".sock")
		n.proxyTmpl = strings.ReplaceAll(haObservedCfg, "{{SOCK}}", socks[name])
		n.writeProxy(t, false)
		n.start(t)
	}
	s.waitSoleHolder(t, "lb1", 10*time.Second)
	s.waitHTTPVia(t, "lb1", 5*time.Second) // the client is served through lb1's VIP

	// both nodes may have been MASTER for an instant at start (their skews differ by 4ms)
	dualBefore := strings.Count(s.nodes["lb1"].logs[0].String(), "another master advertises")

	hub := s.lab.Hub()
	netnstest.Run(t, "ip", "-n", hub, "link", "set", "p-lb2", "nomaster")
	cut := time.Now()
	healed := false
	heal := func() {
		if !healed {
			healed = true
			netnstest.Run(t, "ip", "-n", hub, "link", "set", "p-lb2", "master", "br0")
		}
	}
	t.Cleanup(heal)
	waitFor(t, 10*time.Second, "both nodes hold the VIP while the bridge is cut", func() bool {
		return len(s.holders(t)) == 2
	})
	t.Logf("both MASTER %v after the cut", time.Since(cut).Round(time.Millisecond))
	time.Sleep(3 * haInterval) // several adverts each, unheard by the other
	heal()
	s.waitSoleHolder(t, "lb1", 10*time.Second)
	s.stableSoleHolder(t, "lb1")

	// lb2 took over from a silent master, then heard it again: one episode, one log line
	vrrp2 := ask(t, socks["lb2"], "show vrrp")
	if !regexp.MustCompile(`(?m)^VI_1 eth0 51 BACKUP \S+ \S+ 100 198\.18\.0\.11 \S+ \d+ \d+ \d+ 1 0 0$`).MatchString(vrrp2) {
		t.Errorf("lb2 show vrrp:\n%s", vrrp2)
	}
	if eps := ask(t, socks["lb2"], "show vrrp episodes"); !strings.Contains(eps, "VI_1 master_returned ") || !strings.Contains(eps, " 198.18.0.11 1 master 198.18.0.11 (priority 101) advertises again") {
		t.Errorf("lb2 show vrrp episodes:\n%s", eps)
	}
	if n := strings.Count(s.nodes["lb2"].logs[0].String(), "split brain healed"); n != 1 {
		t.Errorf("lb2 logged the episode %d times, want once:\n%s", n, s.nodes["lb2"].logs[0])
	}
	// lb1 stayed MASTER: at most one dual_master episode (if lb2's advert reached it
	// before lb2 heard lb1's), never one per advert
	if n := strings.Count(s.nodes["lb1"].logs[0].String(), "another master advertises") - dualBefore; n > 1 {
		t.Errorf("lb1 logged %d dual-master episodes for one heal", n)
	}

	metrics2 := s.fetch(t, "http://198.18.0.12:8404/metrics")
	for _, want := range []string{
		`tandem_vrrp_split_brain_episodes_total{instance="VI_1",interface="eth0",vrid="51",kind="master_returned"} 1`,
		`tandem_vrrp_split_brain_active{instance="VI_1",interface="eth0",vrid="51",kind="dual_master"} 0`,
		`tandem_vrrp_state{instance="VI_1",interface="eth0",vrid="51",state="BACKUP"} 1`,
		`tandem_vrrp_takeover_stage_seconds_count{instance="VI_1",interface="eth0",vrid="51",stage="detect"} 1`,
		`tandem_vrrp_takeover_stage_seconds_count{instance="VI_1",interface="eth0",vrid="51",stage="first_garp"} 1`,
	} {
		if !strings.Contains(metrics2, want+"\n") {
			t.Errorf("lb2 /metrics lacks %s", want)
		}
	}
	if page := s.fetch(t, "http://198.18.0.12:8404/stats"); !strings.Contains(page, "master_returned: 1<br>") {
		t.Errorf("lb2 stats page does not show the episode")
	}

	// the failover timeline of lb2's takeover: master silent ~3 intervals, then the
	// timer, the VIPs and the first GARP within milliseconds
	tl := ask(t, socks["lb2"], "show vrrp timeline")
	m := regexp.MustCompile(`(?m)^VI_1 BACKUP \S+ (-[\d.]+) 0\.000 ([\d.]+) ([\d.]+) - no advertisement`).FindStringSubmatch(tl)
	if m == nil {
		t.Fatalf("lb2 show vrrp timeline:\n%s", tl)
	}
	silent, _ := strconv.ParseFloat(m[1], 64)
	vips, _ := strconv.ParseFloat(m[2], 64)
	garp, _ := strconv.ParseFloat(m[3], 64)
	if silent > -3000 || silent < -5000 || vips > 500 || garp < vips || garp > 1000 {
		t.Errorf("lb2 timeline: master silent %vms, VIPs +%vms, GARP +%vms\n%s", -silent, vips, garp, tl)
	}
	// lb1 served the client on the VIP after its own takeover at start: the proxy told
	tl1 := ask(t, socks["lb1"], "show vrrp timeline")
	if !regexp.MustCompile(`(?m)^VI_1 \S+ \S+ \S+ \S+ [\d.]+ [\d.]+ [\d.]+ `).MatchString(tl1) {
		t.Errorf("lb1 timeline has no first connection served on the VIP:\n%s", tl1)
	}
	t.Logf("lb2 timeline:\n%slb1 timeline:\n%s", tl, tl1)
}

// fetch GETs url from the client's namespace.
func (s *haSetup) fetch(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: s.client.DialContext, DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// waitFor polls cond every 20ms until it holds, failing after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(within)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("after %v: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestUnicastPartitionSeenWhileCut: with unicast adverts (unicast_src_ip, unicast_peer)
// a MASTER whose peer stops answering ARP sees the partition while it lasts: both
// nodes, each MASTER while lb2's bridge port is detached, count a peer_unreachable
// episode, logged once, before anything heals. The side that had resolved its peer
// before the cut notices once the kernel re-probes it: after base_reachable_time
// (30 s by default, ±50 %) and delay_first_probe_time (5 s); the test lowers them to
// 1 s each, as an operator who wants the episode sooner can.
func TestUnicastPartitionSeenWhileCut(t *testing.T) {
	s := newHASetup(t)
	socks := map[string]string{}
	peers := map[string][2]string{"lb1": {"198.18.0.11", "198.18.0.12"}, "lb2": {"198.18.0.12", "198.18.0.11"}}
	for _, name := range []string{"lb1", "lb2"} {
		n := s.nodes[name]
		socks[name] = filepath.Join(t.TempDir(), name+".sock")
		n.proxyTmpl = strings.ReplaceAll(haObservedCfg, "{{SOCK}}", socks[name])
		n.writeProxy(t, false)
		b, err := os.ReadFile(n.kconf)
		if err != nil {
			t.Fatal(err)
		}
		uni := "    unicast_src_ip " + peers[name][0] + "\n    unicast_peer {\n        " + peers[name][1] + "\n    }\n    virtual_ipaddress {"
		if err := os.WriteFile(n.kconf, []byte(strings.Replace(string(b), "    virtual_ipaddress {", uni, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		netnstest.Run(t, "ip", "netns", "exec", n.host.NS, "sysctl", "-q", "-w",
			"net.ipv4.neigh.eth0.base_reachable_time_ms=1000", "net.ipv4.neigh.eth0.delay_first_probe_time=1")
		n.start(t)
	}
	s.waitSoleHolder(t, "lb1", 10*time.Second)

	hub := s.lab.Hub()
	netnstest.Run(t, "ip", "-n", hub, "link", "set", "p-lb2", "nomaster")
	healed := false
	heal := func() {
		if !healed {
			healed = true
			netnstest.Run(t, "ip", "-n", hub, "link", "set", "p-lb2", "master", "br0")
		}
	}
	t.Cleanup(heal)
	cut := time.Now()
	defer func() {
		if t.Failed() {
			for _, name := range []string{"lb1", "lb2"} {
				out, _ := exec.Command("ip", "-n", s.nodes[name].host.NS, "neigh").CombinedOutput()
				t.Logf("%s neighbours:\n%s\nshow vrrp:\n%s", name, out, ask(t, socks[name], "show vrrp"))
			}
		}
	}()
	waitFor(t, 20*time.Second, "both nodes see their unicast peer unreachable while cut", func() bool {
		return strings.Contains(ask(t, socks["lb1"], "show vrrp"), " 1\n") && strings.Contains(ask(t, socks["lb2"], "show vrrp"), " 1\n")
	})
	t.Logf("both MASTER and both saw the partition %v after the cut", time.Since(cut).Round(time.Millisecond))
	if len(s.holders(t)) != 2 {
		t.Errorf("holders while cut: %v", s.holders(t))
	}
	for _, name := range []string{"lb1", "lb2"} {
		if eps := ask(t, socks[name], "show vrrp episodes"); !strings.Contains(eps, "VI_1 peer_unreachable ") || !strings.Contains(eps, " - "+peers[name][1]+" ") {
			t.Errorf("%s episodes while cut:\n%s", name, eps)
		}
		if n := strings.Count(s.nodes[name].logs[0].String(), "split brain likely"); n != 1 {
			t.Errorf("%s logged the partition %d times", name, n)
		}
	}
	heal()
	s.waitSoleHolder(t, "lb1", 10*time.Second)
	s.stableSoleHolder(t, "lb1")
}
