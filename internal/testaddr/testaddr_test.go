package testaddr

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

func TestDeadRefusesAndCannotBeTaken(t *testing.T) {
	a := Dead(t)
	for i := 0; i < 3; i++ {
		c, err := net.DialTimeout("tcp", a, time.Second)
		if err == nil {
			c.Close()
			t.Fatalf("dial %s succeeded, want refused", a)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dial %s: %v, want connection refused", a, err)
		}
	}
	if ln, err := net.Listen("tcp4", a); err == nil {
		ln.Close()
		t.Fatalf("another socket could listen on %s", a)
	}
}
