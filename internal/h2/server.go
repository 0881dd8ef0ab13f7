package h2

import (
	"sync"

	"golang.org/x/net/http2"
)

// Server serves HTTP/2 connections for a frontend and drains them on reload and stop.
type Server struct {
	mu       sync.Mutex
	conns    map[*conn]struct{}
	draining bool
}

// NewServer returns a Server with no connection.
func NewServer() *Server { return &Server{conns: map[*conn]struct{}{}} }

// Active is the number of HTTP/2 connections open.
func (sv *Server) Active() int {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return len(sv.conns)
}

// Drain sends GOAWAY to every connection: streams already opened are served to their
// end, then the connections close.
func (sv *Server) Drain() {
	sv.mu.Lock()
	sv.draining = true
	cs := make([]*conn, 0, len(sv.conns))
	for c := range sv.conns {
		cs = append(cs, c)
	}
	sv.mu.Unlock()
	for _, c := range cs {
		c.goAway(http2.ErrCodeNo)
	}
}

// Close ends every connection now.
func (sv *Server) Close() {
	sv.mu.Lock()
	sv.draining = true
	cs := make([]*conn, 0, len(sv.conns))
	for c := range sv.conns {
		cs = append(cs, c)
	}
	sv.mu.Unlock()
	for _, c := range cs {
		c.nc.Close()
	}
}
