package httpproxy

import (
	"net"
	"syscall"
	"testing"
)

// BenchmarkDetachAttach: what giving up a client socket's Go object and making it
// again costs (dup, close, NewFile, addresses).
func BenchmarkDetachAttach(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var s net.Conn
	s, err = ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		rc, err := s.(syscall.Conn).SyscallConn()
		if err != nil {
			b.Fatal(err)
		}
		fd, err := dupSocket(rc)
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
		if s, err = attachSocket(fd); err != nil {
			b.Fatal(err)
		}
	}
	s.Close()
}
