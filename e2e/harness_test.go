// Package e2e tests the built tandem binary end to end, with real peers on loopback.
package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var tandemBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tandem-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tandemBin = filepath.Join(dir, "tandem")
	build := exec.Command("go", "build", "-o", tandemBin, "../cmd/tandem")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building tandem:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer safe for a process writing and a test reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// proc is a running tandem.
type proc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	cfg    string
	done   chan struct{}
	err    error
}

// writeConfig writes text to a file in a fresh temp dir and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// startTandem runs tandem -f cfg and waits until addr accepts connections.
func startTandem(t *testing.T, cfgText, addr string, extra ...string) *proc {
	t.Helper()
	p := &proc{cfg: writeConfig(t, cfgText), stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(tandemBin, append([]string{"-f", p.cfg}, extra...)...)
	p.cmd.Stderr = p.stderr
	p.cmd.Stdout = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop(t) })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("tandem exited before listening on %s: %v\n%s", addr, p.err, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("tandem did not listen on %s within 10s\n%s", addr, p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *proc) signal(sig syscall.Signal) { p.cmd.Process.Signal(sig) }

// stop sends SIGTERM and waits (bounded) for the exit; it kills only this process.
func (p *proc) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Errorf("tandem did not stop within 10s of SIGTERM\n%s", p.stderr)
	}
}

// rss returns the process's resident set size in KiB.
func (p *proc) rss(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// web is a test web server on loopback that names itself and counts what it sees.
type web struct {
	name     string
	addr     string
	srv      *http.Server
	hits     atomic.Int64
	inflight atomic.Int64
	maxSeen  atomic.Int64
	mu       sync.Mutex
	cookies  []string // Cookie headers seen
}

func startWeb(t *testing.T, name string) *web {
	t.Helper()
	w := &web{name: name}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.addr = ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(rw http.ResponseWriter, r *http.Request) {
		n := w.inflight.Add(1)
		defer w.inflight.Add(-1)
		for {
			m := w.maxSeen.Load()
			if n <= m || w.maxSeen.CompareAndSwap(m, n) {
				break
			}
		}
		w.hits.Add(1)
		w.mu.Lock()
		w.cookies = append(w.cookies, r.Header.Get("Cookie"))
		w.mu.Unlock()
		if ms, _ := strconv.Atoi(r.URL.Query().Get("sleep")); ms > 0 {
			time.Sleep(time.Duration(ms) * time.Millisecond)
		}
		switch r.URL.Path {
		case "/cacheable":
			rw.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
		case "/session":
			http.SetCookie(rw, &http.Cookie{Name: "JSESSIONID", Value: "abc123", Path: "/"})
		case "/upload":
			h := sha256.New()
			n, _ := io.Copy(h, r.Body)
			fmt.Fprintf(rw, "%d %s", n, hex.EncodeToString(h.Sum(nil)))
			return
		case "/download":
			n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
			rw.Header().Set("Content-Length", strconv.FormatInt(n, 10))
			io.Copy(rw, io.LimitReader(pattern{}, n))
			return
		case "/xff":
			fmt.Fprint(rw, r.Header.Get("X-Forwarded-For"))
			return
		}
		fmt.Fprint(rw, w.name)
	})
	w.srv = &http.Server{Handler: mux}
	go w.srv.Serve(ln)
	t.Cleanup(func() { w.srv.Close() })
	return w
}

func (w *web) seenCookies() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.cookies...)
}

type pattern struct{}

func (pattern) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i*31 + 7)
	}
	return len(p), nil
}

// client is an HTTP client for requests through tandem; keepAlive false closes after each.
func client(keepAlive bool) *http.Client {
	return &http.Client{
		Timeout: 20 * time.Second,
		Transport: &http.Transport{
			DisableKeepAlives:   !keepAlive,
			MaxIdleConnsPerHost: 64,
			Proxy:               nil,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// body GETs url and returns status and body.
func body(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// runTandem runs tandem with args to completion (bounded) and returns exit code and output.
func runTandem(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runTandemStdin(t, "", args...)
}

// runTandemStdin runs the tandem binary with args and input on stdin, to completion
// (bounded: 30 s).
func runTandemStdin(t *testing.T, input string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(tandemBin, args...)
	cmd.Stdin = strings.NewReader(input)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("tandem %v did not finish in 30s", args)
	}
	return cmd.ProcessState.ExitCode(), o.String(), e.String()
}

// proxyConfig is the `defaults` shared by the tests, a frontend `fe` on bind and a backend
// `app` made of lines (each indented as in a hand-written file).
func proxyConfig(bind string, lines ...string) string {
	var b strings.Builder
	b.WriteString(defaults)
	b.WriteString("\nfrontend fe\n    bind " + bind + "\n    default_backend app\nbackend app\n")
	for _, l := range lines {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// serveTCP serves handle, one goroutine per connection, on a loopback listener that
// closes with the test; it returns the listener's address. handle owns the connection.
func serveTCP(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return ln.Addr().String()
}
