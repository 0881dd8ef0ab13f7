package httpproxy

import (
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// TestResumedConnHalfCloses: a connection resumed from a parked descriptor half-closes
// like a *net.TCPConn (a websocket tunnel after a park passes the client's EOF on and
// keeps the answer flowing), instead of being closed whole.
func TestResumedConnHalfCloses(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := c.(syscall.Conn).SyscallConn()
	fd, err := dupSocket(rc)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	rc2, err := attachSocket(fd)
	if err != nil {
		t.Fatal(err)
	}
	defer rc2.Close()
	cw, ok := rc2.(interface{ CloseWrite() error })
	if !ok {
		t.Fatal("a resumed connection has no CloseWrite: tunnels close it whole on one side's EOF")
	}
	if err := cw.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	peer.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := peer.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("peer read after CloseWrite: %v, want EOF", err)
	}
	peer.Write([]byte("still open"))
	rc2.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, 10)
	if _, err := io.ReadFull(rc2, got); err != nil || string(got) != "still open" {
		t.Fatalf("read after half-close: %q %v", got, err)
	}
}
