package httpproxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
)

// TestHelperProxy is not a test: TestCompareHAProxy runs the test binary with it as a
// proxy-only process, so that its CPU time can be read from /proc.
func TestHelperProxy(t *testing.T) {
	spec := os.Getenv("TANDEM_HELPER_PROXY") // LISTEN,BACKEND
	if spec == "" {
		t.Skip("helper process for TestCompareHAProxy")
	}
	parts := strings.Split(spec, ",")
	be := &config.Backend{Name: "app", Mode: config.ModeHTTP, Retries: 3,
		Servers:  []*config.Server{{Name: "s1", Addr: netip.MustParseAddrPort(parts[1]), Weight: 1}},
		Timeouts: config.Timeouts{Connect: 5 * time.Second, Server: 30 * time.Second}}
	fe := &config.Frontend{Name: "fe", Mode: config.ModeHTTP, DefaultBackend: be,
		Timeouts: config.Timeouts{Client: 30 * time.Second}}
	pool := backend.New(be, backend.NewStates())
	h := NewHandler(&Route{Frontend: fe, Backends: map[string]*backend.Pool{"app": pool}, Global: &config.Global{}}, nil)
	ln, err := net.Listen("tcp", parts[0])
	if err != nil {
		t.Fatal(err)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go h.ServeConn(c)
	}
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func procCPU(t *testing.T, pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ 100
}

func procRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n << 10
}

func waitListen(t *testing.T, addr string) {
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never listened", addr)
}

func start(t *testing.T, cpu string, env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command("taskset", append([]string{"-c", cpu, name}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// TestCompareHAProxy runs HAProxy 2.6 and this proxy side by side over one nginx with
// wrk (keep-alive), single-threaded, alternating rounds, and prints req/s, CPU per
// request and RSS per idle connection. Run by hand: TANDEM_COMPARE=1 go test -run CompareHAProxy -v
func TestCompareHAProxy(t *testing.T) {
	if os.Getenv("TANDEM_COMPARE") == "" {
		t.Skip("set TANDEM_COMPARE=1 to compare with haproxy (needs haproxy, nginx, wrk, taskset)")
	}
	dir := t.TempDir()
	web := freePort(t)
	ngx := fmt.Sprintf(`worker_processes 1; daemon off; pid %s/nginx.pid; error_log %s/error.log;
events { worker_connections 20000; }
http { access_log off; client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s; uwsgi_temp_path %s; scgi_temp_path %s;
  keepalive_requests 1000000;
  server { listen %s; location / { return 200 "Hello from web1\n"; } } }
`, dir, dir, dir, dir, dir, dir, dir, web)
	os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(ngx), 0o644)
	start(t, "0", nil, "nginx", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	waitListen(t, web)

	hp := freePort(t)
	hcfg := fmt.Sprintf("global\n  nbthread 1\n  maxconn 9000\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\nfrontend fe\n  bind %s\n  default_backend app\nbackend app\n  server s1 %s\n", hp, web)
	os.WriteFile(filepath.Join(dir, "haproxy.cfg"), []byte(hcfg), 0o644)
	hap := start(t, "1", nil, "haproxy", "-f", filepath.Join(dir, "haproxy.cfg"))
	waitListen(t, hp)

	tp := freePort(t)
	tan := start(t, "1", []string{"GOMAXPROCS=1", "TANDEM_HELPER_PROXY=" + tp + "," + web}, os.Args[0], "-test.run=^TestHelperProxy$")
	waitListen(t, tp)

	reqRe := regexp.MustCompile(`(\d+) requests in`)
	rpsRe := regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	run := func(name, addr string, pid int) {
		c0 := procCPU(t, pid)
		out, err := exec.Command("taskset", "-c", "0", "wrk", "-t1", "-c50", "-d4s", "http://"+addr+"/").CombinedOutput()
		if err != nil {
			t.Fatalf("wrk: %v\n%s", err, out)
		}
		c1 := procCPU(t, pid)
		n, _ := strconv.Atoi(string(reqRe.FindSubmatch(out)[1]))
		rps := string(rpsRe.FindSubmatch(out)[1])
		t.Logf("%-8s req/s %s  cpu/req %.1f µs", name, rps, float64((c1-c0).Microseconds())/float64(n))
	}
	for round := 0; round < 3; round++ {
		run("haproxy", hp, hap.Process.Pid)
		run("tandem", tp, tan.Process.Pid)
	}
	idle := func(name, addr string, pid int) {
		const n = 2000
		r0 := procRSS(t, pid)
		var conns []net.Conn
		for i := 0; i < n; i++ {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			br := bufio.NewReader(c)
			line, _ := br.ReadString('\n')
			if !strings.Contains(line, "200") {
				t.Fatalf("%s: %q", name, line)
			}
			conns = append(conns, c)
		}
		time.Sleep(time.Second)
		r1 := procRSS(t, pid)
		t.Logf("%-8s RSS per idle keep-alive connection: %.0f B", name, float64(r1-r0)/n)
		for _, c := range conns {
			c.Close()
		}
		_ = io.Discard
	}
	idle("haproxy", hp, hap.Process.Pid)
	idle("tandem", tp, tan.Process.Pid)
}
