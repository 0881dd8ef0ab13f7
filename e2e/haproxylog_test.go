package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"tandem/internal/testaddr"
)

// logConfig is one configuration run by both HAProxy and tandem: httplog with
// captures, dontlognull, a log-format, a dead server (503 SC--) and a tcplog listen.
func logConfig(logPort int, fe [7]string, web, dead string) string {
	return fmt.Sprintf(`global
    log 127.0.0.1:%d local0
defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    retries 0
frontend fe
    bind %s
    capture request header Host len 20
    capture request header User-Agent len 5
    http-request capture path len 4
    http-request capture req.hdr(x-none) len 3 if { path_beg /foo }
    http-request set-log-level silent if { path /never-logged }
    capture response header Content-Type len 10
    capture response header X-None len 4
    default_backend be
frontend fe2
    bind %s
    option dontlognull
    default_backend be
frontend fe3
    bind %s
    log-format "%%ci %%f %%b %%s %%ST %%HM %%HU %%HP %%HQ %%HV %%{+Q}r %%ts %%tsc %%rc %%CC %%hr %%hs"
    default_backend be
frontend fe4
    bind %s
    default_backend dead
backend be
    server s1 %s
backend dead
    server d1 %s
listen tcpl
    mode tcp
    option tcplog
    bind %s
    server t1 %s
defaults plain
    mode http
    log global
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe5
    bind %s
    default_backend be
listen tcp2
    mode tcp
    bind %s
    server t1 %s
`, logPort, fe[0], fe[1], fe[2], fe[3], web, dead, fe[4], web, fe[5], fe[6], web)
}

// traffic sends the same exchanges to one proxy's five addresses, one at a time.
func logTraffic(t *testing.T, fe [7]string) {
	t.Helper()
	raw := func(addr, data string) {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if data != "" {
			io.WriteString(c, data)
			io.Copy(io.Discard, c)
		}
	}
	get := "GET /foo?x=1 HTTP/1.1\r\nHost: example.test\r\nUser-Agent: curl/8.0\r\nConnection: close\r\n\r\n"
	raw(fe[0], get)
	raw(fe[0], "GET /%22x%7B HTTP/1.1\r\nHost: h\r\nUser-Agent: a\"b|c\r\nConnection: close\r\n\r\n")
	raw(fe[0], "GET /never-logged HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	raw(fe[1], get)
	raw(fe[1], "") // dontlognull: not logged
	raw(fe[2], "GET /p/q?r=s HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	raw(fe[3], get)
	raw(fe[0], "GARBAGE\r\n\r\n")
	raw(fe[4], "PING\n")
	raw(fe[5], get) // no log option: HAProxy's "Connect from" line
	raw(fe[6], "PING\n")
}

var (
	maskHeader = regexp.MustCompile(`^<(\d+)>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d (haproxy|tandem)\[\d+\]: `)
	maskPort   = regexp.MustCompile(`^127\.0\.0\.1:\d+ `)
	maskDate   = regexp.MustCompile(`\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\]`)
	maskTimers = regexp.MustCompile(` -?\d+(/-?\d+){2,4} `)
	maskBind   = regexp.MustCompile(`127\.0\.0\.1:\d+\|`)
	maskBytes  = regexp.MustCompile(` (\d{3}) \d+ - - `)
	maskConn   = regexp.MustCompile(`^Connect from 127\.0\.0\.1:\d+ to 127\.0\.0\.1:\d+ `)
	probeLine  = regexp.MustCompile(`tcpl tcpl/t1 TIMERS 0 (--|CC) `)
)

func normalizeLog(line string) string {
	m := maskHeader.FindStringSubmatch(line)
	if m == nil {
		return "UNFRAMED " + line
	}
	line = "<" + m[1] + ">" + line[len(m[0]):]
	body := strings.TrimPrefix(line, "<"+m[1]+">")
	body = maskPort.ReplaceAllString(body, "CLIENT ")
	body = maskConn.ReplaceAllString(body, "Connect from CLIENT to BIND ")
	body = maskDate.ReplaceAllString(body, "[DATE]")
	body = maskTimers.ReplaceAllString(body, " TIMERS ")
	body = maskBind.ReplaceAllString(body, "BIND|")
	// HAProxy 2.6 counts %B on its internal (HTX) form of the response, 4 bytes less
	// per header line than on the wire; tandem counts wire bytes.
	body = maskBytes.ReplaceAllString(body, " $1 BYTES - - ")
	return "<" + m[1] + ">" + body
}

func trafficLines(t *testing.T, sl *syslogListener, n int) []string {
	t.Helper()
	lines, _ := sl.collect(t, "<134>", n, 10*time.Second)
	var out []string
	for _, l := range lines {
		l = normalizeLog(l)
		// The readiness probe of the tcplog listen: HAProxy itself logs it as "--" or
		// "CC" depending on timing, and it ends asynchronously.
		if probeLine.MatchString(l) {
			continue
		}
		out = append(out, l)
	}
	// A proxy may log a request after the client saw the close, so the next one can
	// be logged first: compare the lines as sets.
	sort.Strings(out)
	return out
}

// TestLogLinesMatchHAProxy runs Debian's HAProxy 2.6 and tandem side by side on the
// same configuration and traffic and compares their log lines byte for byte, except
// the syslog tag and pid, dates, client ports, bind ports, timers and HTTP byte counts.
func TestLogLinesMatchHAProxy(t *testing.T) {
	hap, err := exec.LookPath("haproxy")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("haproxy is not installed: cannot compare log lines")
		}
		t.Skip("haproxy is not installed: comparison skipped")
	}
	web := startWeb(t, "a")
	dead := testaddr.Dead(t) // bound, never listening: always refused
	run := func(name string, start func(cfg string, fe [7]string)) []string {
		sl := startSyslog(t)
		var fe [7]string
		for i := range fe {
			fe[i] = freeAddr(t)
		}
		start(logConfig(sl.port(), fe, web.addr, dead), fe)
		logTraffic(t, fe)
		return trafficLines(t, sl, 10) // with the readiness probe of the tcplog listen
	}
	want := run("haproxy", func(cfg string, fe [7]string) {
		path := writeConfig(t, cfg)
		cmd := exec.Command(hap, "-db", "-f", path)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		waitListen(t, fe[4])
	})
	got := run("tandem", func(cfg string, fe [7]string) { startTandem(t, cfg, fe[4]) })
	if all := strings.Join(want, ""); !strings.Contains(all, `{example.test|curl/|/foo|} {text/plain|} "GET /foo?x=1`) ||
		!strings.Contains(all, "<134>Connect from CLIENT to BIND (fe5/HTTP)") || !strings.Contains(all, "(tcp2/TCP)") {
		t.Errorf("HAProxy's lines lack the captures: %q", want)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log lines differ\nhaproxy:\n%s\ntandem:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
}

func waitListen(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s after 10s", addr)
}
