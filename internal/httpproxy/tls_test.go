package httpproxy

import (
	"bufio"
	"crypto/tls"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"tandem/internal/certgen"
)

// readLog is a TLS connection that records the buffer size of each Read that waited
// long (an idle wait for the next request).
type readLog struct {
	*tls.Conn
	mu        sync.Mutex
	longReads []int
}

func (r *readLog) Read(p []byte) (int, error) {
	start := time.Now()
	n, err := r.Conn.Read(p)
	if time.Since(start) > 100*time.Millisecond {
		r.mu.Lock()
		r.longReads = append(r.longReads, len(p))
		r.mu.Unlock()
	}
	return n, err
}

// TestTLSConnectionIdle: a TLS client connection is served through the handler on
// tls.Conn, never parks (it has no socket to give the waiter), keeps serving after an
// idle period longer than parkAfter, and while idle waits with a one-byte read: its
// exchange buffers are back in the pool.
func TestTLSConnectionIdle(t *testing.T) {
	if _, ok := any(&tls.Conn{}).(syscall.Conn); ok {
		t.Fatal("tls.Conn is a syscall.Conn: the raw read path would bypass TLS")
	}
	f, w := parkFixture(t, 10*time.Second)
	f.h.parkAfter = 20 * time.Millisecond
	cert, err := certgen.New(certgen.Spec{CN: "idle.test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := tls.X509KeyPair(cert.CertPEM, cert.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan *readLog, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		rl := &readLog{Conn: tls.Server(c, &tls.Config{Certificates: []tls.Certificate{kp}})}
		served <- rl
		f.h.Serve(rl, func() {})
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	rl := <-served
	for i := 0; i < 3; i++ {
		if got := rawRequest(t, c, r); got != "ok" {
			t.Fatalf("request %d: %q", i, got)
		}
		time.Sleep(250 * time.Millisecond) // idle, well past parkAfter
		if w.Parked() != 0 {
			t.Fatalf("a TLS connection parked")
		}
	}
	if got := rawRequest(t, c, r); got != "ok" {
		t.Fatalf("last request: %q", got)
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if len(rl.longReads) < 3 {
		t.Fatalf("idle waits seen: %v", rl.longReads)
	}
	for _, n := range rl.longReads {
		if n != 1 {
			t.Errorf("an idle wait read into %d bytes: the exchange buffers were held while idle", n)
		}
	}
}
