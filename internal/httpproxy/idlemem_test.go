package httpproxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/idlewait"
)

// The idle-memory report: what one parked keep-alive connection costs this process.
//
//	TANDEM_IDLEMEM=5000 go test ./internal/httpproxy -run TestIdleMemoryReport -v
//
// The clients and the backend run in a child process (this test binary again), so the
// parent's memory is the proxy's alone. The parent serves as the daemon does (Serve with
// an idle waiter, no goroutine per connection once parked) and prints, per connection,
// the growth of VmRSS (as the bench reads it: no forced GC), of the live heap after a
// GC, and of the stacks; TANDEM_IDLEMEM_PROF=DIR also writes heap profiles before and
// after (go tool pprof -sample_index=inuse_space -base DIR/before DIR/after).
func TestIdleMemoryReport(t *testing.T) {
	if addr := os.Getenv("TANDEM_IDLEMEM_CHILD"); addr != "" {
		idleMemChild(t, addr)
		return
	}
	n, _ := strconv.Atoi(os.Getenv("TANDEM_IDLEMEM"))
	if n <= 0 {
		t.Skip("set TANDEM_IDLEMEM=N to measure N parked connections")
	}
	if os.Getenv("TANDEM_IDLEMEM_PROF") != "" {
		runtime.MemProfileRate = 1
	}
	w, err := idlewait.New(0)
	if err != nil {
		t.Skipf("no idle waiter: %v", err)
	}
	defer w.Close()

	// The child starts the backend first and prints its address.
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleMemoryReport$")
	cmd.Env = append(os.Environ(), "TANDEM_IDLEMEM_CHILD=backend")
	cmd.Stderr = os.Stderr
	toChild, _ := cmd.StdinPipe()
	fromChild, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { toChild.Close(); cmd.Wait() }()
	out := bufio.NewScanner(fromChild)
	expect := func(prefix string) string {
		for out.Scan() {
			if s, ok := strings.CutPrefix(out.Text(), prefix); ok {
				return s
			}
		}
		t.Fatalf("child: no %q line", prefix)
		return ""
	}
	beAddr := expect("backend ")

	be := newBackend(beAddr)
	fe := &config.Frontend{Name: "fe", Mode: config.ModeHTTP, DefaultBackend: be,
		Timeouts: config.Timeouts{Client: 60 * time.Second, HTTPKeepAlive: 60 * time.Second}}
	g := &config.Global{BufSize: config.DefaultBufSize, MaxRewrite: config.DefaultMaxRewrite}
	pool := backend.New(be, backend.NewStates())
	h := NewHandler(&Route{Frontend: fe, Backends: map[string]*backend.Pool{be.Name: pool}, Global: g}, nil)
	h.Idle = w
	if d, err := time.ParseDuration(os.Getenv("TANDEM_IDLEMEM_PARKAFTER")); err == nil {
		h.parkAfter = d
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			h.Serve(c, wg.Done)
		}
	}()
	defer func() { ln.Close(); h.Close(); wg.Wait() }()

	// Warm up as the bench does (a few busy connections), then take the baseline.
	fmt.Fprintf(toChild, "warm %s 50\n", ln.Addr())
	expect("warm done")
	for h.Active() > 0 {
		time.Sleep(10 * time.Millisecond)
	}
	prof := os.Getenv("TANDEM_IDLEMEM_PROF")
	before := idleMemSnap(t, prof, "before")

	peak, stopPeak := 0, make(chan struct{})
	var peakStack, peakHeap, startStack uint64
	peakDone := make(chan struct{})
	go func() {
		defer close(peakDone)
		var ms runtime.MemStats
		ss := []metrics.Sample{{Name: "/gc/stack/starting-size:bytes"}}
		for i := 0; ; i++ {
			peak = max(peak, runtime.NumGoroutine())
			if i%10 == 0 {
				runtime.ReadMemStats(&ms)
				peakStack, peakHeap = max(peakStack, ms.StackInuse), max(peakHeap, ms.HeapInuse)
				metrics.Read(ss)
				startStack = max(startStack, ss[0].Value.Uint64())
			}
			select {
			case <-stopPeak:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	start := time.Now()
	fmt.Fprintf(toChild, "open %s %d\n", ln.Addr(), n)
	expect("open done")
	opened := time.Since(start)
	for i := 0; w.Parked() < n && i < 1000; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if w.Parked() < n {
		t.Fatalf("%d of %d connections parked", w.Parked(), n)
	}
	close(stopPeak)
	<-peakDone
	rssNow := idleMemRSS(t)
	after := idleMemSnap(t, prof, "after")
	t.Logf("opened in %v, peak goroutines %d, RSS before GC %.0f B/conn; peak StackInuse %d KiB, peak HeapInuse %d KiB (before: %d, %d)",
		opened, peak, (float64(rssNow)-float64(before.rss))/float64(n), peakStack>>10, peakHeap>>10, before.ms.StackInuse>>10, before.ms.HeapInuse>>10)
	per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
	t.Logf("largest goroutine starting stack size during the opening: %d B", startStack)
	t.Logf("%d parked connections, per connection:", n)
	t.Logf("  VmRSS (no forced GC, as the bench) %8.0f B", per(after.rss, before.rss))
	t.Logf("  VmRSS after GC + FreeOSMemory      %8.0f B", per(after.rssGC, before.rssGC))
	t.Logf("  HeapAlloc after GC (live)          %8.0f B", per(after.ms.HeapAlloc, before.ms.HeapAlloc))
	t.Logf("  HeapInuse after GC                 %8.0f B", per(after.ms.HeapInuse, before.ms.HeapInuse))
	t.Logf("  StackInuse                         %8.0f B", per(after.ms.StackInuse, before.ms.StackInuse))
	t.Logf("  other runtime (MSpan+GC+Other)     %8.0f B", per(after.ms.MSpanInuse+after.ms.GCSys+after.ms.OtherSys, before.ms.MSpanInuse+before.ms.GCSys+before.ms.OtherSys))
	t.Logf("  goroutines %d -> %d", before.goroutines, after.goroutines)
	t.Logf("  MSpanInuse %.0f GCSys %.0f OtherSys %.0f HeapSys %.0f HeapIdle %.0f HeapReleased %.0f",
		per(after.ms.MSpanInuse, before.ms.MSpanInuse), per(after.ms.GCSys, before.ms.GCSys), per(after.ms.OtherSys, before.ms.OtherSys),
		per(after.ms.HeapSys, before.ms.HeapSys), per(after.ms.HeapIdle, before.ms.HeapIdle), per(after.ms.HeapReleased, before.ms.HeapReleased))
}

type idleMemSample struct {
	rss, rssGC uint64
	ms         runtime.MemStats
	goroutines int
}

func idleMemSnap(t *testing.T, prof, name string) idleMemSample {
	var s idleMemSample
	s.rss = idleMemRSS(t)
	runtime.GC()
	runtime.ReadMemStats(&s.ms)
	debug.FreeOSMemory()
	s.rssGC = idleMemRSS(t)
	s.goroutines = runtime.NumGoroutine()
	if prof != "" {
		f, err := os.Create(prof + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		pprof.Lookup("heap").WriteTo(f, 0)
		f.Close()
	}
	return s
}

// idleMemRSS reads VmRSS once it is stable (as the bench does), in bytes.
func idleMemRSS(t *testing.T) uint64 {
	read := func() uint64 {
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				return kb * 1024
			}
		}
		t.Fatal("no VmRSS")
		return 0
	}
	prev := read()
	for range 10 {
		time.Sleep(100 * time.Millisecond)
		cur := read()
		if d := int64(cur) - int64(prev); d*100 <= int64(prev) && -d*100 <= int64(prev) {
			return cur
		}
		prev = cur
	}
	return prev
}

// idleMemChild is the child: a backend, then clients on command.
func idleMemChild(t *testing.T, _ string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const resp = "HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n0123456789abcdef"
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(r)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if _, err := io.WriteString(c, resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	fmt.Printf("backend %s\n", ln.Addr())
	var keep []net.Conn
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var cmd, addr string
		var n int
		fmt.Sscan(in.Text(), &cmd, &addr, &n)
		conns := idleMemOpen(t, addr, n)
		if cmd == "warm" {
			// busy a little, then close
			for _, c := range conns {
				for range 20 {
					idleMemRequest(t, c)
				}
				c.Close()
			}
		} else {
			keep = append(keep, conns...)
		}
		fmt.Printf("%s done\n", cmd)
	}
	for _, c := range keep {
		c.Close()
	}
}

func idleMemOpen(t *testing.T, addr string, n int) []net.Conn {
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Error(err)
					continue
				}
				idleMemRequest(t, c)
				conns[i] = c
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return conns
}

func idleMemRequest(t *testing.T, c net.Conn) {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	var buf [512]byte
	got := 0
	for !strings.HasSuffix(string(buf[:got]), "0123456789abcdef") {
		m, err := c.Read(buf[got:])
		if err != nil {
			t.Errorf("request: %v", err)
			return
		}
		got += m
	}
}
