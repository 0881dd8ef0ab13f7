package httpproxy

import (
	"net"
	"time"

	"tandem/internal/config"
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

// MetricsService is a Service that can answer a request an `http-request use-service
// prometheus-exporter` rule chose with the metrics, whatever its path.
type MetricsService interface {
	ServeMetricsConn(c net.Conn, buffered []byte, keepAlive bool)
}

// handOffMetrics gives the client connection to the route's service for a
// use-service rule; 503 when the frontend has none (it cannot happen with a
// configuration the parser accepted).
func (cc *clientConn) handOffMetrics(be *config.Backend) bool {
	svc, ok := cc.rs.r.Service.(MetricsService)
	if !ok {
		return cc.replyError(503, be, false, 0)
	}
	ex := cc.ex
	buf := append([]byte(nil), ex.in[:ex.inLen]...)
	ex.inLen = 0
	cc.putEx()
	cc.nc.SetDeadline(time.Time{})
	svc.ServeMetricsConn(cc.nc, buf, cc.rs.pool == nil && cc.rs.rules == nil)
	return false
}

// handOff gives the client connection to svc. The connection closes once svc is done.
func (cc *clientConn) handOff(svc Service) bool {
	ex := cc.ex
	buf := append([]byte(nil), ex.in[:ex.inLen]...)
	ex.inLen = 0
	cc.putEx()
	cc.nc.SetDeadline(time.Time{})
	svc.ServeConn(cc.nc, buf, cc.rs.pool == nil)
	return false
}
