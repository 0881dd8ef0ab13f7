package httpproxy

import (
	"net"
	"time"
)

// Service answers some requests of a frontend itself instead of a backend: the stats
// page and the Prometheus metrics (issue 5). Match sees each request's target and must
// not allocate (it runs on the data path); a request it claims hands the whole client
// connection to ServeConn.
type Service interface {
	// Match reports whether the service answers a request for target (path and query).
	Match(target []byte) bool
	// ServeConn serves c, whose first bytes (the matched request and anything pipelined
	// after it) were already read into buffered. keepAlive says whether later requests
	// on c may be served too (the frontend has no backend they could be meant for);
	// otherwise the service closes c after its response. It returns when done with c.
	ServeConn(c net.Conn, buffered []byte, keepAlive bool)
}

// handOff gives the client connection to svc. The connection closes once svc is done;
// keepAlive says whether svc may serve later requests on it.
func (cc *clientConn) handOff(svc Service, keepAlive bool) bool {
	ex := cc.ex
	buf := append([]byte(nil), ex.in[:ex.inLen]...)
	ex.inLen = 0
	cc.putEx()
	cc.nc.SetDeadline(time.Time{})
	svc.ServeConn(cc.nc, buf, keepAlive)
	return false
}
