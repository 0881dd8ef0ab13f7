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
	svc.ServeMetricsConn(cc.nc, cc.handOver(), cc.rs.noBackend())
	return false
}

// handOff gives the client connection to svc. The connection closes once svc is done;
// keepAlive says whether svc may serve later requests on it.
func (cc *clientConn) handOff(svc Service, keepAlive bool) bool {
	svc.ServeConn(cc.nc, cc.handOver(), keepAlive)
	return false
}

// handOver readies the connection for a service: it returns a copy of the bytes read
// (the request and any that followed), gives the exchange back and clears deadlines.
func (cc *clientConn) handOver() []byte {
	ex := cc.ex
	buf := append([]byte(nil), ex.in[:ex.inLen]...)
	ex.inLen = 0
	cc.putEx()
	cc.nc.SetDeadline(time.Time{})
	return buf
}

// noBackend reports whether the frontend sends no request to a backend (neither a
// fixed one nor use_backend rules): a service it hands a connection to may then keep
// it for later requests.
func (rs *routeState) noBackend() bool { return rs.pool == nil && rs.rules == nil }
