package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// syslogListener collects the datagrams sent to a UDP port on loopback.
type syslogListener struct {
	pc    net.PacketConn
	lines chan string
}

func startSyslog(t *testing.T) *syslogListener {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &syslogListener{pc: pc, lines: make(chan string, 10000)}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			s.lines <- string(buf[:n])
		}
	}()
	return s
}

func (s *syslogListener) port() int { return s.pc.LocalAddr().(*net.UDPAddr).Port }

// collect waits (bounded) for n datagrams with priority pri (134: local0.info, the
// traffic lines); the others (tandem's own events) are returned apart.
func (s *syslogListener) collect(t *testing.T, pri string, n int, within time.Duration) (traffic, other []string) {
	t.Helper()
	deadline := time.After(within)
	for len(traffic) < n {
		select {
		case l := <-s.lines:
			if strings.HasPrefix(l, pri) {
				traffic = append(traffic, l)
			} else {
				other = append(other, l)
			}
		case <-deadline:
			t.Fatalf("got %d syslog lines within %v, want %d:\n%s", len(traffic), within, n, strings.Join(traffic, ""))
		}
	}
	return traffic, other
}

// asSyslogFile turns "<PRI>Mmm dd hh:mm:ss tag[pid]: msg\n" datagrams into the lines
// rsyslog writes to /var/log/haproxy.log ("Mmm dd hh:mm:ss host tag[pid]: msg").
func asSyslogFile(t *testing.T, dgrams []string) string {
	t.Helper()
	var b strings.Builder
	for _, d := range dgrams {
		end := strings.IndexByte(d, '>')
		if !strings.HasPrefix(d, "<") || end < 0 || len(d) < end+16 {
			t.Fatalf("not an rfc3164 datagram: %q", d)
		}
		rest := d[end+1:]
		b.WriteString(rest[:15] + " localhost" + rest[15:])
	}
	return b.String()
}

var httplogLine = regexp.MustCompile(`^<134>[A-Z][a-z]{2} [ 1-3][0-9] \d\d:\d\d:\d\d tandem\[\d+\]: ` +
	`127\.0\.0\.1:\d+ \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] fe be/s[12] \d+/\d+/\d+/\d+/\d+ 200 \d+ - - ---- ` +
	`\d+/\d+/\d+/\d+/0 0/0 \{127\.0\.0\.1:\d+\|Go-http-client/1\.1\} "GET /[a-z0-9?=]* HTTP/1\.1"\n$`)

// TestHTTPLogSixtyRequestsReachSyslog is issue 5's acceptance: 60 requests through a
// frontend with option httplog produce 60 httplog lines at a UDP syslog listener, and
// `tandem halog -srv -H` on the stored log prints what Debian's halog prints.
func TestHTTPLogSixtyRequestsReachSyslog(t *testing.T) {
	sl := startSyslog(t)
	a, b := startWeb(t, "a"), startWeb(t, "b")
	addr := freeAddr(t)
	cfg := fmt.Sprintf(`global
    log 127.0.0.1:%d local0
defaults
    mode http
    log global
    option httplog
    option dontlognull
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind %s
    capture request header Host len 32
    capture request header User-Agent len 20
    default_backend be
backend be
    server s1 %s
    server s2 %s
`, sl.port(), addr, a.addr, b.addr)
	startTandem(t, cfg, addr)
	keep, closeC := client(true), client(false)
	for i := 0; i < 60; i++ {
		c := keep
		if i%3 == 0 {
			c = closeC
		}
		path := []string{"/", "/index", "/q?x=1"}[i%3]
		if code, _ := body(t, c, "http://"+addr+path); code != 200 {
			t.Fatalf("request %d: status %d", i, code)
		}
	}
	dgrams, events := sl.collect(t, "<134>", 60, 5*time.Second)
	for i, d := range dgrams {
		if !httplogLine.MatchString(d) {
			t.Fatalf("line %d is not an httplog line:\n%q", i, d)
		}
	}
	select {
	case extra := <-sl.lines:
		if strings.HasPrefix(extra, "<134>") {
			t.Fatalf("more than 60 traffic lines; extra: %q", extra)
		}
	case <-time.After(200 * time.Millisecond):
	}
	// tandem's own events (local0.notice) reach the same target.
	if len(events) == 0 || !regexp.MustCompile(`^<133>.* tandem\[\d+\]: tandem started`).MatchString(events[0]) {
		t.Errorf("want the start event as a local0.notice line first, got %q", events)
	}

	log := asSyslogFile(t, dgrams)
	code, out, errOut := runTandemStdin(t, log, "halog", "-srv", "-H")
	if code != 0 {
		t.Fatalf("tandem halog -srv -H: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "be/s1 0 30 0 0 0 0 30 30 100.0 ") || !strings.Contains(out, "be/s2 0 30 0 0 0 0 30 30 100.0 ") {
		t.Errorf("tandem halog -srv -H: want 30 requests per server, got\n%s", out)
	}
	if errOut != "60 lines in, 2 lines out, 0 parsing errors\n" {
		t.Errorf("tandem halog summary = %q", errOut)
	}
	halog, err := exec.LookPath("halog")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("halog is not installed (Debian package haproxy): cannot compare")
		}
		t.Skip("halog is not installed (Debian package haproxy): comparison skipped")
	}
	cmd := exec.Command(halog, "-srv", "-H")
	cmd.Stdin = strings.NewReader(log)
	var hout, herr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &hout, &herr
	if err := cmd.Run(); err != nil {
		t.Fatalf("halog -srv -H: %v: %s", err, herr.String())
	}
	if hout.String() != out || herr.String() != errOut {
		t.Errorf("tandem halog differs from halog\nhalog:\n%s%s\ntandem:\n%s%s", hout.String(), herr.String(), out, errOut)
	}
}

// TestDeadSyslogNeverSlowsRequests sends traffic with the log target pointing at a
// port where nothing listens and at a unix socket path that does not exist: requests
// must take as long as without logging (bounded: 200 requests well under 5 s).
func TestDeadSyslogNeverSlowsRequests(t *testing.T) {
	a := startWeb(t, "a")
	addr := freeAddr(t)
	dead := freeAddr(t) // nothing listens there (UDP on the same free port number)
	cfg := fmt.Sprintf(`global
    log %s local0
    log %s local1
defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind %s
    default_backend be
backend be
    server s1 %s
`, dead, filepath.Join(t.TempDir(), "no-such-socket"), addr, a.addr)
	startTandem(t, cfg, addr)
	c := client(true)
	start := time.Now()
	for i := 0; i < 200; i++ {
		if code, _ := body(t, c, "http://"+addr+"/"); code != 200 {
			t.Fatalf("request %d: status %d", i, code)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("200 requests with dead log targets took %v", d)
	}
}
