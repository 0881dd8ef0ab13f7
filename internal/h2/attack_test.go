package h2

import (
	"bytes"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawClient speaks HTTP/2 frame by frame, as an attacker does.
type rawClient struct {
	t   *testing.T
	c   net.Conn
	fr  *http2.Framer
	enc *hpack.Encoder
	hb  bytes.Buffer
	// what the server sent, read by a goroutine
	mu     sync.Mutex
	goAway *http2.ErrCode
	rsts   int
	ended  map[uint32]bool // streams the server ended (END_STREAM)
	closed chan struct{}
}

func dialRaw(t *testing.T, addr string, settings ...http2.Setting) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := &rawClient{t: t, c: c, closed: make(chan struct{}), ended: map[uint32]bool{}}
	r.enc = hpack.NewEncoder(&r.hb)
	r.fr = http2.NewFramer(c, c)
	c.Write([]byte(preface))
	r.fr.WriteSettings(settings...)
	rd := http2.NewFramer(io.Discard, c)
	go func() {
		defer close(r.closed)
		for {
			f, err := rd.ReadFrame()
			if err != nil {
				return
			}
			r.mu.Lock()
			switch f := f.(type) {
			case *http2.GoAwayFrame:
				code := f.ErrCode
				r.goAway = &code
			case *http2.RSTStreamFrame:
				r.rsts++
			case *http2.DataFrame:
				if f.StreamEnded() {
					r.ended[f.StreamID] = true
				}
			}
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *rawClient) block(fields []hpack.HeaderField) []byte {
	r.hb.Reset()
	for _, f := range fields {
		r.enc.WriteField(f)
	}
	return r.hb.Bytes()
}

func (r *rawClient) goAwayCode() (http2.ErrCode, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.goAway == nil {
		return 0, false
	}
	return *r.goAway, true
}

// endedWithin waits for the server to close the connection.
func (r *rawClient) endedWithin(d time.Duration) bool {
	select {
	case <-r.closed:
		return true
	case <-time.After(d):
		return false
	}
}

// honest checks that a well-behaved client on another connection is served.
func honest(t *testing.T, addr string) {
	t.Helper()
	resp, err := h2cClient().Get("http://" + addr + "/honest")
	if err != nil {
		t.Fatalf("honest client: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(b), "GET /honest") {
		t.Fatalf("honest client: %d %q", resp.StatusCode, b)
	}
}

// heapGrowth runs f and returns how much the heap in use grew (after a GC).
func heapGrowth(f func()) int64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.GC()
	runtime.ReadMemStats(&b)
	return int64(b.HeapInuse) - int64(a.HeapInuse)
}

// slowEngine is echoEngine behind a server that takes 50 ms, counting engines in flight.
type slowEngine struct{ cur, peak, total atomic.Int64 }

func (e *slowEngine) serve(c net.Conn, done func()) {
	n := e.cur.Add(1)
	e.total.Add(1)
	for {
		p := e.peak.Load()
		if n <= p || e.peak.CompareAndSwap(p, n) {
			break
		}
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		echoEngine(c, func() { e.cur.Add(-1); done() })
	}()
}

// TestRapidResetIsBounded (CVE-2023-44487): a client that opens streams and resets
// them at once cannot have more than twice tune.h2.max-concurrent-streams exchanges in
// flight; it is sent GOAWAY ENHANCE_YOUR_CALM; an honest client is served meanwhile.
func TestRapidResetIsBounded(t *testing.T) {
	eng := &slowEngine{}
	o := DefaultOptions()
	addr, _ := startServer(t, o, eng.serve)
	var r *rawClient
	grew := heapGrowth(func() {
		r = dialRaw(t, addr)
		for i := uint32(0); i < 100000; i++ {
			id := 2*i + 1
			if r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: r.block(req()), EndHeaders: true, EndStream: true}) != nil {
				break
			}
			if r.fr.WriteRSTStream(id, http2.ErrCodeCancel) != nil {
				break
			}
		}
		honest(t, addr)
		if !r.endedWithin(5 * time.Second) {
			t.Fatal("the attacking connection was not ended")
		}
	})
	if code, ok := r.goAwayCode(); !ok || code != http2.ErrCodeEnhanceYourCalm {
		t.Fatalf("GOAWAY %v (sent: %v), want ENHANCE_YOUR_CALM", code, ok)
	}
	if p := eng.peak.Load(); p > 2*int64(o.MaxConcurrentStreams)+1 { // +1: the honest client
		t.Fatalf("%d exchanges in flight at once", p)
	}
	if n := eng.total.Load(); n > 2000 {
		t.Fatalf("%d exchanges started for 100000 reset streams", n)
	}
	if grew > 64<<20 {
		t.Fatalf("heap grew by %d bytes", grew)
	}
	t.Logf("exchanges started %d, peak in flight %d, heap growth %d KiB", eng.total.Load(), eng.peak.Load(), grew>>10)
}

// TestContinuationFloodIsBounded (CVE-2024-27316 family): endless CONTINUATION frames
// after a HEADERS without END_HEADERS end the connection once the header list passes
// tune.bufsize; memory stays bounded; an honest client is served.
func TestContinuationFloodIsBounded(t *testing.T) {
	o := DefaultOptions()
	addr, _ := startServer(t, o, echoEngine)
	var r *rawClient
	sent := 0
	grew := heapGrowth(func() {
		r = dialRaw(t, addr)
		r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: r.block(req()), EndHeaders: false})
		frag := r.block(hf("x-flood", strings.Repeat("a", 1000)))
		frag = append([]byte(nil), frag...)
		for i := 0; i < 100000; i++ { // up to 100 MB
			if r.fr.WriteContinuation(1, false, frag) != nil {
				break
			}
			sent++
		}
		honest(t, addr)
		if !r.endedWithin(5 * time.Second) {
			t.Fatal("the flooding connection was not ended")
		}
	})
	if sent >= 100000 {
		t.Fatalf("server read all %d CONTINUATION frames", sent)
	}
	if grew > 32<<20 {
		t.Fatalf("heap grew by %d bytes", grew)
	}
	t.Logf("CONTINUATION frames written before the end: %d, heap growth %d KiB", sent, grew>>10)
}

// TestHPACKBombIsBounded: a header block that references one large dynamic-table
// entry many times decodes to far more than tune.bufsize; the request is refused
// (RST_STREAM), never handed to the engine, and the connection serves the next request.
func TestHPACKBombIsBounded(t *testing.T) {
	var engines atomic.Int64
	o := DefaultOptions()
	addr, _ := startServer(t, o, func(c net.Conn, done func()) { engines.Add(1); echoEngine(c, done) })
	r := dialRaw(t, addr)
	// one 4000-byte entry in the dynamic table, then 4000 one-byte references to it (index 62)
	r.hb.Reset()
	r.enc.WriteField(hpack.HeaderField{Name: "x-bomb", Value: strings.Repeat("b", 4000)})
	first := append([]byte(nil), r.hb.Bytes()...)
	block := append(r.block(req()), first...)
	for i := 0; i < 4000; i++ {
		block = append(block, 0x80|62)
	}
	grew := heapGrowth(func() {
		for off, id := 0, uint32(1); off < len(block); id += 0 {
			n := min(len(block)-off, 16000)
			var err error
			if off == 0 {
				err = r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block[:n], EndHeaders: n == len(block), EndStream: true})
			} else {
				err = r.fr.WriteContinuation(id, off+n == len(block), block[off:off+n])
			}
			if err != nil {
				t.Fatal(err)
			}
			off += n
		}
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			r.mu.Lock()
			n := r.rsts
			r.mu.Unlock()
			if n > 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	r.mu.Lock()
	rsts := r.rsts
	r.mu.Unlock()
	if rsts == 0 && !r.endedWithin(0) {
		t.Fatal("16 MB of decoded headers neither reset nor ended")
	}
	if engines.Load() != 0 {
		t.Fatal("the bomb reached the engine")
	}
	if grew > 16<<20 {
		t.Fatalf("heap grew by %d bytes", grew)
	}
	honest(t, addr)
}

// TestPingAndSettingsFloodsAreBounded: a client that sends PING or SETTINGS frames
// without end gets GOAWAY ENHANCE_YOUR_CALM after a bounded number; an honest client
// is served meanwhile.
func TestPingAndSettingsFloodsAreBounded(t *testing.T) {
	o := DefaultOptions()
	addr, _ := startServer(t, o, echoEngine)
	for _, kind := range []string{"PING", "SETTINGS"} {
		r := dialRaw(t, addr)
		sent := 0
		for i := 0; i < 100000; i++ {
			var err error
			if kind == "PING" {
				err = r.fr.WritePing(false, [8]byte{byte(i)})
			} else {
				err = r.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: uint32(i)})
			}
			if err != nil {
				break
			}
			sent++
		}
		honest(t, addr)
		if !r.endedWithin(5 * time.Second) {
			t.Fatalf("%s flood: connection not ended", kind)
		}
		if code, ok := r.goAwayCode(); !ok || code != http2.ErrCodeEnhanceYourCalm {
			t.Fatalf("%s flood: GOAWAY %v (%v), want ENHANCE_YOUR_CALM", kind, code, ok)
		}
		t.Logf("%s flood: %d frames written before the end", kind, sent)
	}
}

// TestZeroWindowStallIsBounded: a client that opens its window to nobody blocks only
// its own streams: another stream on the same connection whose window is opened gets
// its response, an honest client is served, and the stalled exchange ends when the
// engine's write deadline passes.
func TestZeroWindowStallIsBounded(t *testing.T) {
	var stalled atomic.Int64
	eng := func(c net.Conn, done func()) {
		echoEngine(&shortWrite{Conn: c, d: 300 * time.Millisecond, failed: &stalled}, done)
	}
	o := DefaultOptions()
	addr, _ := startServer(t, o, eng)
	r := dialRaw(t, addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: r.block(req2(":path", "/big/1000000")), EndHeaders: true, EndStream: true})
	r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: r.block(req2(":path", "/small")), EndHeaders: true, EndStream: true})
	r.fr.WriteWindowUpdate(3, 1<<20)
	honest(t, addr)
	deadline := time.Now().Add(5 * time.Second)
	for stalled.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if stalled.Load() == 0 {
		t.Fatal("the stalled exchange's write never timed out")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ended[3] || r.ended[1] {
		t.Fatalf("streams ended: %v; want 3 served, 1 stalled", r.ended)
	}
}

// shortWrite gives every Write of the engine a deadline, as the engine's timeout
// client does, and counts the writes that time out.
type shortWrite struct {
	net.Conn
	d      time.Duration
	failed *atomic.Int64
}

func (s *shortWrite) Write(p []byte) (int, error) {
	s.Conn.SetWriteDeadline(time.Now().Add(s.d))
	n, err := s.Conn.Write(p)
	if err != nil {
		s.failed.Add(1)
	}
	return n, err
}

// TestWindowChangesWhileStreamsWait: SETTINGS_INITIAL_WINDOW_SIZE changing while many
// streams wait for window, and WINDOW_UPDATEs arriving in small steps, never stall the
// connection (a lock-order deadlock between the two once made h2spec 6.9.2 time out).
func TestWindowChangesWhileStreamsWait(t *testing.T) {
	addr, _ := startServer(t, DefaultOptions(), echoEngine)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(preface))
	var wmu sync.Mutex
	fr := http2.NewFramer(c, c)
	fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	const streams = 20
	for i := uint32(0); i < streams; i++ {
		hb.Reset()
		for _, f := range req2(":path", "/big/300000") {
			enc.WriteField(f)
		}
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 2*i + 1, BlockFragment: hb.Bytes(), EndHeaders: true, EndStream: true})
	}
	stop := make(chan struct{})
	go func() { // the window size keeps changing
		for i := uint32(0); i < 1000; i++ { // under the control-frame budget
			select {
			case <-stop:
				return
			default:
			}
			wmu.Lock()
			err := fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1000 + i%3*1000})
			wmu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	defer close(stop)
	c.SetReadDeadline(time.Now().Add(15 * time.Second))
	ended := 0
	for ended < streams {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("%d of %d streams ended: %v", ended, streams, err)
		}
		if d, ok := f.(*http2.DataFrame); ok {
			wmu.Lock()
			if n := len(d.Data()); n > 0 {
				fr.WriteWindowUpdate(0, uint32(n))
				fr.WriteWindowUpdate(d.StreamID, uint32(n))
			}
			wmu.Unlock()
			if d.StreamEnded() {
				ended++
			}
		}
	}
}

// TestMadeYouResetIsBounded (CVE-2025-8671): a client that makes the server reset its
// streams (here by overflowing each stream's window, a stream error) cannot have more
// than twice tune.h2.max-concurrent-streams exchanges in flight, is sent GOAWAY
// ENHANCE_YOUR_CALM, and an honest client is served.
func TestMadeYouResetIsBounded(t *testing.T) {
	eng := &slowEngine{}
	o := DefaultOptions()
	addr, _ := startServer(t, o, eng.serve)
	var r *rawClient
	grew := heapGrowth(func() {
		r = dialRaw(t, addr)
		for i := uint32(0); i < 100000; i++ {
			id := 2*i + 1
			if r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: r.block(req()), EndHeaders: true, EndStream: true}) != nil {
				break
			}
			if r.fr.WriteWindowUpdate(id, 1<<31-1) != nil { // 65535 + 2^31-1 overflows: RST_STREAM FLOW_CONTROL_ERROR
				break
			}
		}
		honest(t, addr)
		if !r.endedWithin(5 * time.Second) {
			t.Fatal("the attacking connection was not ended")
		}
	})
	if code, ok := r.goAwayCode(); !ok || code != http2.ErrCodeEnhanceYourCalm {
		t.Fatalf("GOAWAY %v (sent: %v), want ENHANCE_YOUR_CALM", code, ok)
	}
	r.mu.Lock()
	rsts := r.rsts
	r.mu.Unlock()
	if rsts == 0 {
		t.Fatal("no stream was reset by the server: the attack did not run")
	}
	if p := eng.peak.Load(); p > 2*int64(o.MaxConcurrentStreams)+1 {
		t.Fatalf("%d exchanges in flight at once", p)
	}
	if n := eng.total.Load(); n > 2000 {
		t.Fatalf("%d exchanges started", n)
	}
	if grew > 64<<20 {
		t.Fatalf("heap grew by %d bytes", grew)
	}
	t.Logf("server resets %d, exchanges started %d, peak in flight %d", rsts, eng.total.Load(), eng.peak.Load())
}
