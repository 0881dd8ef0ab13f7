package httpproxy

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Idle server connections: HAProxy's `http-reuse safe`. A client connection keeps the
// server connection of its last exchange attached and reuses it when its next request
// goes to the same server. Otherwise the attached connection is parked in the server's
// idle list, where later (never first) requests of any client connection may take it.
const (
	maxIdlePerServer = 100
	idlePurgeDelay   = 5 * time.Second // HAProxy's pool-purge-delay default
)

// serverConn is one connection to a server.
type serverConn struct {
	nc     net.Conn
	addr   string
	idleAt time.Time
	uses   int
	// private: its PROXY header named one client connection, so it serves no other
	// (HAProxy reuses a connection only for the same proxy block): never parked
	private bool
}

type idleList struct {
	mu    sync.Mutex
	conns []*serverConn
}

type idlePools struct {
	mu     sync.RWMutex
	byAddr map[string]*idleList
	closed atomic.Bool // after Drain or Close: nothing is parked any more
}

func (p *idlePools) init() { p.byAddr = map[string]*idleList{} }

func (p *idlePools) list(addr string, create bool) *idleList {
	p.mu.RLock()
	l := p.byAddr[addr]
	p.mu.RUnlock()
	if l != nil || !create {
		return l
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if l = p.byAddr[addr]; l == nil {
		l = &idleList{}
		p.byAddr[addr] = l
	}
	return l
}

// get takes the most recently parked connection to addr, dropping stale ones.
func (p *idlePools) get(addr string, now time.Time) *serverConn {
	l := p.list(addr, false)
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for n := len(l.conns); n > 0; n = len(l.conns) {
		sc := l.conns[n-1]
		l.conns[n-1] = nil
		l.conns = l.conns[:n-1]
		if now.Sub(sc.idleAt) < idlePurgeDelay {
			return sc
		}
		sc.nc.Close()
	}
	return nil
}

// put parks sc; the oldest connection is closed when the list is full or stale.
func (p *idlePools) put(sc *serverConn, now time.Time) {
	if sc.private {
		sc.nc.Close()
		return
	}
	sc.idleAt = now
	l := p.list(sc.addr, true)
	l.mu.Lock()
	if p.closed.Load() {
		l.mu.Unlock()
		sc.nc.Close()
		return
	}
	if len(l.conns) > 0 && (len(l.conns) >= maxIdlePerServer || now.Sub(l.conns[0].idleAt) >= idlePurgeDelay) {
		l.conns[0].nc.Close()
		copy(l.conns, l.conns[1:])
		l.conns[len(l.conns)-1] = nil
		l.conns = l.conns[:len(l.conns)-1]
	}
	l.conns = append(l.conns, sc)
	l.mu.Unlock()
}

func (p *idlePools) closeAll() {
	p.closed.Store(true)
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, l := range p.byAddr {
		l.mu.Lock()
		for i, sc := range l.conns {
			sc.nc.Close()
			l.conns[i] = nil
		}
		l.conns = l.conns[:0]
		l.mu.Unlock()
	}
}

// idleCount is the number of parked connections (tests).
func (p *idlePools) idleCount() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	n := 0
	for _, l := range p.byAddr {
		l.mu.Lock()
		n += len(l.conns)
		l.mu.Unlock()
	}
	return n
}

// alive reports whether a parked connection still looks usable: the server has neither
// closed it nor sent stray bytes. It costs one non-blocking read.
func (sc *serverConn) alive() bool {
	s, ok := sc.nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := s.SyscallConn()
	if err != nil {
		return true
	}
	alive := true
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, rerr := syscall.Read(int(fd), b[:])
		alive = rerr == syscall.EAGAIN
		return true
	})
	return alive && err == nil
}
