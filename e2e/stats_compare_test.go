package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startHAProxy runs Debian's haproxy on cfg in the foreground (bounded start) and stops
// it, by its PID, when the test ends.
func startHAProxy(t *testing.T, cfg, sock string) {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("haproxy missing (Debian package haproxy)")
		}
		t.Skip("haproxy not installed")
	}
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	os.WriteFile(path, []byte(cfg), 0o644)
	cmd := exec.Command(bin, "-db", "-f", path)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("haproxy did not open its stats socket within 2s")
}

func ask(t *testing.T, sock, line string) string {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, line+"\n")
	b, _ := io.ReadAll(c)
	return string(b)
}

// TestRuntimeAPIMatchesHAProxy runs Debian's haproxy 2.6 and tandem on the same
// configuration and sends both the same commands: outputs and error texts must match.
func TestRuntimeAPIMatchesHAProxy(t *testing.T) {
	web1, web2 := startWeb(t, "web1"), startWeb(t, "web2")
	dir := t.TempDir()
	conf := func(sock, front string) string {
		return fmt.Sprintf(`global
    stats socket %s mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend web
    bind %s
    default_backend app
backend app
    server web1 %s weight 10
    server web2 %s
`, sock, front, web1.addr, web2.addr)
	}
	hsock, tsock := filepath.Join(dir, "h.sock"), filepath.Join(dir, "t.sock")
	startHAProxy(t, conf(hsock, freeAddr(t)), hsock)
	tfront := freeAddr(t)
	startTandem(t, conf(tsock, tfront), tfront)

	for _, cmd := range []string{
		"get weight app/web1",
		"get weight nope/web1",
		"get weight app/nope",
		"get weight app",
		"set server app/web2 state foo",
		"set server app/web2 weight 300",
		"set server app/nope state ready",
		"set server nope/x state ready",
		"set server app/web2 state drain",
		"set weight app/web1 50%;get weight app/web1",
		"set server app/web1 weight 7;get weight app/web1",
		"disable server app/web2;enable server app/web2",
		"enable health app/web1",
		"show backend",
		"show servers state nope",
		"show cli level",
		"user;show cli level;disable server app/web1",
		"operator;show cli level;set weight app/web1 3",
	} {
		h, tn := ask(t, hsock, cmd), ask(t, tsock, cmd)
		if h != tn {
			t.Errorf("%q:\nhaproxy %q\ntandem  %q", cmd, h, tn)
		}
	}
	// show stat: same header; show servers state: same header and server lines, but
	// for the seconds since the last change.
	h, tn := ask(t, hsock, "show stat"), ask(t, tsock, "show stat")
	if hl, tl := strings.SplitN(h, "\n", 2)[0], strings.SplitN(tn, "\n", 2)[0]; hl != tl {
		t.Errorf("show stat header:\nhaproxy %s\ntandem  %s", hl, tl)
	}
	strip := func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			f := strings.Fields(l)
			if len(f) > 10 && f[0] != "#" {
				// Proxy ids and times differ by design; HAProxy also zeroes the health
				// of an unchecked server once it has been in maintenance (known
				// difference: tandem keeps rise).
				f[0], f[9], f[12] = "ID", "T", "H"
			}
			out = append(out, strings.Join(f, " "))
		}
		return out
	}
	hs, ts := strip(ask(t, hsock, "show servers state")), strip(ask(t, tsock, "show servers state"))
	if strings.Join(hs, "\n") != strings.Join(ts, "\n") {
		t.Errorf("show servers state:\nhaproxy %q\ntandem  %q", hs, ts)
	}
	// show stat: each row fills the same columns (which cells are empty), rows in the same order.
	shape := func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n")[1:] {
			f := strings.Split(l, ",")
			if len(f) < 2 {
				continue
			}
			p := []byte(f[0] + "," + f[1] + ":")
			for _, v := range f[2:] {
				if v == "" {
					p = append(p, '_')
				} else {
					p = append(p, 'x')
				}
			}
			out = append(out, string(p))
		}
		return out
	}
	if hs, ts := shape(ask(t, hsock, "show stat")), shape(ask(t, tsock, "show stat")); strings.Join(hs, "\n") != strings.Join(ts, "\n") {
		t.Errorf("show stat rows:\nhaproxy %q\ntandem  %q", hs, ts)
	}
	// show info: the same keys in the same order.
	keys := func(s string) string {
		var k []string
		for _, l := range strings.Split(s, "\n") {
			if name, _, ok := strings.Cut(l, ":"); ok {
				k = append(k, name)
			}
		}
		return strings.Join(k, ",")
	}
	if hk, tk := keys(ask(t, hsock, "show info")), keys(ask(t, tsock, "show info")); hk != tk {
		t.Errorf("show info keys:\nhaproxy %s\ntandem  %s", hk, tk)
	}
	// show stat typed: for every row, the same fields with the same
	// tags and types (values aside; proxy ids differ by design).
	fields := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			parts := strings.SplitN(l, ":", 4)
			id := strings.Split(parts[0], ".")
			if len(parts) < 4 || len(id) < 6 {
				continue
			}
			m[id[0]+"."+id[2]+"."+id[3]+"."+id[4]+":"+parts[1]+":"+parts[2]] = true
		}
		return m
	}
	hf, tf := fields(ask(t, hsock, "show stat typed")), fields(ask(t, tsock, "show stat typed"))
	for k := range hf {
		if !tf[k] {
			t.Errorf("show stat typed: tandem lacks %s", k)
		}
	}
	for k := range tf {
		if !hf[k] {
			t.Errorf("show stat typed: haproxy has no %s", k)
		}
	}
}
