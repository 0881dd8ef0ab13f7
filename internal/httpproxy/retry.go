package httpproxy

import (
	"tandem/internal/config"
)

// retry takes one retry from the backend's `retries` budget when allowed, moving the
// exchange to another server when `option redispatch` says this retry redispatches
// (HAProxy avoids the server that failed). It reports whether the caller may try again.
func (cc *clientConn) retry(x *xfer, allowed bool) bool {
	be := x.be
	if !allowed || x.retries >= be.Retries || cc.h.ctx.Err() != nil {
		return false
	}
	x.retries++
	x.srv.Retries.Add(1)
	if be.RedispatchOn(x.retries) {
		if s, err := x.pool.AcquireOther(cc.h.ctx, cc.balanceRequest(x.pool), x.srv); err == nil {
			x.srv.Redisp.Add(1)
			x.redisp = true
			x.pool.Release(x.srv)
			x.srv = s
			cc.ex.ckDirect = false
		}
	}
	return true
}

// retryOnError reports whether a failed exchange is replayed under `retry-on`, and takes
// the retry if so. The request must have been read whole (it is still in the buffers).
func (cc *clientConn) retryOnError(x *xfer, err error) bool {
	var c config.RetryOn
	switch err {
	case errServerRead, errRetry:
		c = config.RetryJunkResponse
		if cc.ex.sinLen == 0 {
			c = config.RetryEmptyResponse
		}
		x.srv.ObserveStatus(502)
	case errServerTimeout:
		c = config.RetryResponseTimeout
		x.srv.ObserveStatus(504)
	case errServerWrite:
		c = config.RetryConnFailure
		x.srv.ObserveConnError()
	default:
		return false
	}
	if !x.be.RetryOn.Has(c) || x.noL7Retry && c != config.RetryConnFailure {
		return false
	}
	if !cc.retry(x, true) {
		return false
	}
	x.srv.RespErr.Add(1)
	return true
}
