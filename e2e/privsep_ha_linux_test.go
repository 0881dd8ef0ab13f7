package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHAChrootedProxyVRRPInHelper: `tandem -f haproxy.cfg -k keepalived.conf` with
// global chroot/user/group serves traffic chrooted as nobody while its privileged
// helper (root, real filesystem) runs VRRP. lb1 runs so, lb2 as before (one process).
// The VIP is on lb1 and HTTP through it is proxied; the stats page served by the
// unprivileged process shows the helper's VRRP instance; the in-process tracker
// (tandem:backend) still moves the VIP when lb1's servers go down (haproxy.cfg reload);
// a keepalived.conf reload (SIGHUP) still applies; SIGTERM removes the VIP at once; a
// SIGTERM to the helper alone (systemd signals the whole group) releases the VIP and
// stops the serving process cleanly. If the serving process dies, the helper releases the VIP (the backup takes over before
// Master_Down_Interval) and exits; if the helper dies, the serving process exits with
// an error.
func TestHAChrootedProxyVRRPInHelper(t *testing.T) {
	s := newHASetup(t)
	lb1, lb2 := s.nodes["lb1"], s.nodes["lb2"]
	skew := time.Duration(256-lb2.prio) * time.Second / 256
	down := 3*haInterval + skew
	jail := t.TempDir()
	lb1.proxyTmpl = strings.Replace(haProxyCfg, "global\n",
		"global\n    chroot "+jail+"\n    user nobody\n    group nogroup\n    stats socket ipv4@198.18.0.11:9999 level admin\n", 1) + `
listen stats
    bind 198.18.0.11:8404
    stats enable
    stats uri /stats
`
	lb1.writeProxy(t, false)
	lb2.proxyTmpl = strings.Replace(haProxyCfg, "global\n", "global\n    stats socket ipv4@198.18.0.12:9999 level admin\n", 1)
	lb2.writeProxy(t, false)
	lb2.start(t)
	lb1.start(t)
	s.waitSoleHolder(t, "lb1", 3*down)

	worker := lb1.p.cmd.Process.Pid
	waitUid(t, worker, 65534, lb1.p.stderr)
	if root, _ := os.Readlink(fmt.Sprintf("/proc/%d/root", worker)); root != jail {
		t.Fatalf("the serving process's root is %q, want the chroot %q", root, jail)
	}
	helper := helperOf(t, worker)
	waitUid(t, helper, 0, lb1.p.stderr)
	if root, _ := os.Readlink(fmt.Sprintf("/proc/%d/root", helper)); root != "/" {
		t.Fatalf("the helper's root is %q, want /", root)
	}
	s.servedByBoth(t, "lb1")
	if page := s.getURL(t, "http://198.18.0.11:8404/stats"); !strings.Contains(page, `class="vrrp_master" id="vrrp-VI_1"`) {
		t.Fatalf("the stats page of the chrooted process shows no VRRP instance VI_1 as MASTER:\n%s", page)
	}

	t.Run("in-process tracker", func(t *testing.T) {
		lb1.writeProxy(t, true)
		lb1.p.signal(syscall.SIGHUP)
		took := s.waitSoleHolder(t, "lb2", down+3*time.Second)
		t.Logf("lb1's web_servers all disabled (reload through the helper): lb2 holds the VIP %v later", took.Round(time.Millisecond))
		if page := s.getURL(t, "http://198.18.0.11:8404/stats"); !strings.Contains(page, `class="vrrp_backup" id="vrrp-VI_1"`) || !strings.Contains(page, "<td>81</td><td>101</td>") {
			t.Errorf("the stats page does not show VI_1 as BACKUP with priority 81 of 101:\n%s", page)
		}
		lb1.writeProxy(t, false)
		lb1.p.signal(syscall.SIGHUP)
		back := s.waitSoleHolder(t, "lb1", down+3*time.Second)
		t.Logf("lb1's servers usable again: lb1 holds the VIP %v later", back.Round(time.Millisecond))
		s.waitHTTPVia(t, "lb1", 3*time.Second)
	})
	if t.Failed() {
		return
	}

	t.Run("keepalived.conf reload", func(t *testing.T) {
		writePrio := func(prio int) {
			b, err := os.ReadFile(lb1.kconf)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(string(b), "\n")
			for i, l := range lines {
				if strings.HasPrefix(strings.TrimSpace(l), "priority ") {
					lines[i] = "    priority " + strconv.Itoa(prio)
				}
			}
			if err := os.WriteFile(lb1.kconf, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		writePrio(90)
		lb1.p.signal(syscall.SIGHUP)
		took := s.waitSoleHolder(t, "lb2", down+3*time.Second)
		t.Logf("lb1's priority reloaded to 90: lb2 holds the VIP %v later", took.Round(time.Millisecond))
		writePrio(lb1.prio)
		lb1.p.signal(syscall.SIGHUP)
		s.waitSoleHolder(t, "lb1", down+3*time.Second)
	})
	if t.Failed() {
		return
	}

	t.Run("switchover through the helper", func(t *testing.T) {
		if got := s.askTCP(t, "198.18.0.11:9999", "vrrp switchover"); got != "\n" {
			t.Fatalf("vrrp switchover: %q", got)
		}
		took := s.waitSoleHolder(t, "lb2", 2*time.Second)
		t.Logf("vrrp switchover on the chrooted lb1: lb2 holds the VIP %v later", took.Round(time.Millisecond))
		time.Sleep(down) // lb1, of higher priority, does not take it back
		s.stableSoleHolder(t, "lb2")
		// and back: lb2 (not confined) hands over, lb1 takes over by its timer
		if got := s.askTCP(t, "198.18.0.12:9999", "vrrp switchover"); got != "\n" {
			t.Fatalf("vrrp switchover on lb2: %q", got)
		}
		s.waitSoleHolder(t, "lb1", 2*time.Second)
		s.waitHTTPVia(t, "lb1", 3*time.Second)
	})
	if t.Failed() {
		return
	}

	t.Run("SIGTERM", func(t *testing.T) {
		helper := helperOf(t, lb1.p.cmd.Process.Pid)
		p := lb1.p
		start := time.Now()
		lb1.kill(t, syscall.SIGTERM)
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("SIGTERM: exit code %d, want 0", code)
		}
		if ok, _ := lb1.host.HasAddr(haVIP); ok {
			t.Errorf("lb1 still holds the VIP after its SIGTERM stop")
		}
		s.waitSoleHolder(t, "lb2", time.Second)
		t.Logf("SIGTERM: lb2 holds the VIP %v after the signal", time.Since(start).Round(time.Millisecond))
		waitGone(t, helper)
	})
	if t.Failed() {
		return
	}

	t.Run("SIGTERM to the helper", func(t *testing.T) {
		// systemd's default KillMode signals the whole control group: the helper may
		// get SIGTERM before the serving process does. It releases the VIP and tells
		// the serving process, which stops cleanly too.
		lb1.start(t)
		s.waitSoleHolder(t, "lb1", down+3*time.Second)
		p := lb1.p
		helper := helperOf(t, p.cmd.Process.Pid)
		syscall.Kill(helper, syscall.SIGTERM)
		s.waitSoleHolder(t, "lb2", time.Second)
		select {
		case <-p.done:
		case <-time.After(8 * time.Second):
			t.Fatalf("the serving process still runs 8s after its helper got SIGTERM\n%s", p.stderr)
		}
		lb1.p = nil
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("SIGTERM to the helper: exit code %d, want 0\n%s", code, p.stderr)
		}
		if out := p.stderr.String(); strings.Contains(out, "level=ERROR") {
			t.Errorf("SIGTERM to the helper logged errors:\n%s", out)
		}
		waitGone(t, helper)
	})
	if t.Failed() {
		return
	}

	t.Run("serving process dies", func(t *testing.T) {
		lb1.start(t)
		s.waitSoleHolder(t, "lb1", down+3*time.Second)
		helper := helperOf(t, lb1.p.cmd.Process.Pid)
		lb1.kill(t, syscall.SIGKILL)
		// The helper stops VRRP as for SIGTERM: a priority-0 advert, the VIP removed.
		took := s.waitSoleHolder(t, "lb2", down-haInterval)
		t.Logf("SIGKILL of the serving process: the helper released the VIP, lb2 holds it %v later", took.Round(time.Millisecond))
		waitGone(t, helper)
	})
	if t.Failed() {
		return
	}

	t.Run("helper dies", func(t *testing.T) {
		lb1.start(t)
		s.waitSoleHolder(t, "lb1", down+3*time.Second)
		p := lb1.p
		helper := helperOf(t, p.cmd.Process.Pid)
		if err := syscall.Kill(helper, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			t.Fatalf("the serving process still runs 5s after its helper was killed\n%s", p.stderr)
		}
		lb1.p = nil
		if code := p.cmd.ProcessState.ExitCode(); code != 1 {
			t.Errorf("exit code %d after the helper died, want 1", code)
		}
		if !strings.Contains(p.stderr.String(), "privileged helper running VRRP exited") {
			t.Errorf("the serving process did not say why it stopped:\n%s", p.stderr)
		}
	})
}

// getURL GETs url from the client's namespace and returns the body.
func (s *haSetup) getURL(t *testing.T, url string) string {
	t.Helper()
	resp, err := s.http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// waitUid waits (bounded) until process pid runs with uid (real, effective, saved, fs).
func waitUid(t *testing.T, pid, uid int, log fmt.Stringer) {
	t.Helper()
	want := fmt.Sprintf("\nUid:\t%d\t%d\t%d\t%d", uid, uid, uid, uid)
	var status []byte
	for range 200 {
		status, _ = os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if strings.Contains(string(status), want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d does not run as uid %d: %s\n%s", pid, uid, grepLine(string(status), "Uid:"), log)
}

// helperOf returns the one child process of pid (its privileged helper).
func helperOf(t *testing.T, pid int) int {
	t.Helper()
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var kids []int
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, w := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(w); err == nil {
				kids = append(kids, n)
			}
		}
	}
	if len(kids) != 1 {
		t.Fatalf("process %d has children %v, want its one privileged helper", pid, kids)
	}
	return kids[0]
}

// waitGone waits (bounded) until process pid has exited.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for range 300 {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil || strings.Contains(string(status), "\nState:\tZ") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the privileged helper %d still runs 3s later", pid)
}

// askTCP sends one runtime API command to a TCP stats socket from the client's namespace.
func (s *haSetup) askTCP(t *testing.T, addr, line string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := s.client.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, line+"\n")
	b, _ := io.ReadAll(c)
	return string(b)
}
