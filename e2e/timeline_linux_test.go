package e2e

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFailoverTimelineInNamespaces times each kind of takeover with `show vrrp timeline`
// (issue 14 item 5): a clean stop (priority 0), a failback (the restarted higher node
// preempts), a planned switchover and a crash (SIGKILL). Each takeover's stages come in
// order: the last advert heard, the timer, the VIPs added, the first GARP, and the
// first connection the proxy accepted on the VIP (a client keeps asking). The rows are
// logged: they are the table of docs/performance.md.
func TestFailoverTimelineInNamespaces(t *testing.T) {
	s := newHASetup(t)
	socks := map[string]string{}
	for _, name := range []string{"lb1", "lb2"} {
		n := s.nodes[name]
		socks[name] = filepath.Join(t.TempDir(), name+".sock")
		n.proxyTmpl = strings.ReplaceAll(haObservedCfg, "{{SOCK}}", socks[name])
		n.writeProxy(t, false)
	}
	lb1, lb2 := s.nodes["lb1"], s.nodes["lb2"]
	lb2.start(t)
	lb1.start(t)
	s.waitSoleHolder(t, "lb1", 10*time.Second)
	s.waitHTTPVia(t, "lb1", 5*time.Second)

	// last takes the newest timeline row of node, checks its stages and logs it.
	row := regexp.MustCompile(`(?m)^VI_1 (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (.*)$`)
	last := func(what, node string) {
		t.Helper()
		var m []string
		waitFor(t, 5*time.Second, what+": a timeline row with the first connection served", func() bool {
			rows := row.FindAllStringSubmatch(ask(t, socks[node], "show vrrp timeline"), -1)
			if len(rows) == 0 {
				return false
			}
			m = rows[len(rows)-1]
			return m[7] != "-"
		})
		ms := func(i int) float64 { v, _ := strconv.ParseFloat(m[i], 64); return v }
		if m[3] == "-" || m[4] == "-" || ms(3) > 0 || ms(4) != 0 || ms(5) < 0 || ms(6) < ms(5) || ms(7) < 0 {
			t.Errorf("%s: stages out of order: %s", what, m[0])
		}
		t.Logf("%-13s %s: last advert %sms, timer %sms, VIPs +%sms, first GARP +%sms, first served +%sms (%s)", what, node, m[3], m[4], m[5], m[6], m[7], m[8])
	}
	keepAsking := func() func() {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < 3000; i++ { // bounded
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
					_, _ = s.get()
				}
			}
		}()
		return func() { close(stop); <-done }
	}

	stopAsking := keepAsking()
	lb1.kill(t, syscall.SIGTERM)
	s.waitSoleHolder(t, "lb2", 3*time.Second)
	last("clean stop", "lb2")

	lb1.start(t)
	s.waitSoleHolder(t, "lb1", 8*time.Second)
	last("failback", "lb1")

	if got := ask(t, socks["lb1"], "vrrp switchover"); got != "\n" {
		t.Fatalf("vrrp switchover: %q", got)
	}
	s.waitSoleHolder(t, "lb2", 3*time.Second)
	last("switchover", "lb2")
	if got := ask(t, socks["lb2"], "vrrp switchover"); got != "\n" {
		t.Fatalf("vrrp switchover back: %q", got)
	}
	s.waitSoleHolder(t, "lb1", 3*time.Second)

	lb1.kill(t, syscall.SIGKILL)
	s.waitHTTPVia(t, "lb2", 8*time.Second)
	last("crash", "lb2")
	stopAsking()
}
