package config

// HAProxy's dynamic maxconn: a server with `minconn` below its `maxconn` takes at most a
// number of concurrent sessions that follows its backend's load, from minconn when the
// backend is idle up to maxconn when it holds `fullconn` sessions or more.
//
// How the rules below read configuration.txt (HAProxy 2.6, "fullconn", server "minconn"
// and "maxconn"), checked against HAProxy 2.6.12 on loopback:
//
//   - "The server will then always accept at least <minconn> connections, never more
//     than <maxconn>, and the limit will be on the ramp between both values when the
//     backend has less than <conns> concurrent connections": the ramp is the straight
//     line from 0 to maxconn over 0..fullconn, floored at minconn. Its value is rounded
//     down: with minconn 1, maxconn 3, fullconn 4 and two sessions on the backend
//     (3*2/4 = 1.5), HAProxy 2.6 serves one and queues the other.
//   - The backend's load counts every session attached to it, the one being placed and
//     those waiting in a queue included (the stats page's backend scur).
//   - minconn above maxconn, or minconn without maxconn: HAProxy then uses minconn as a
//     fixed maxconn (its stats show slim = minconn). The haproxy parser does the same by
//     raising Server.MaxConn to MinConn, so a limit is dynamic only while
//     0 < minconn < maxconn.
//   - maxconn without minconn, or minconn equal to maxconn: a fixed limit, as before.
//   - fullconn unset: 10% of the sum of the maxconn of the frontends that may branch to
//     the backend (default_backend and use_backend rules, each frontend counted once),
//     rounded up, at least 1 (DefaultFullConn). HAProxy 2.6 shows 530 for a backend
//     reached by frontends of maxconn 5000 and 300, 6 for a listen of maxconn 55, and 1
//     for a backend that no frontend reaches.

// DefaultFullConn is HAProxy's fullconn when none is set: a tenth of feMaxConn, the sum
// of the maxconn of the frontends that reach the backend, rounded up, at least 1.
func DefaultFullConn(feMaxConn int) int {
	return max((feMaxConn+9)/10, 1)
}

// DynamicMaxConn is the limit in force on a server with minconn and maxconn (maxconn
// > 0, the one in force: configured or set at run time) when its backend holds sess
// sessions and has the given fullconn: maxconn*sess/fullconn rounded down, but at least
// minconn and at most maxconn. When the limit is not dynamic (minconn 0, or not below
// maxconn, or fullconn 0) it is maxconn itself.
func DynamicMaxConn(minConn, maxConn, sess, fullConn int64) int64 {
	if minConn <= 0 || minConn >= maxConn || fullConn <= 0 || sess >= fullConn {
		return maxConn
	}
	// sess < fullConn, so the product stays below maxConn*fullConn: both are int32 at
	// most in a parsed config, no overflow.
	l := maxConn * max(sess, 0) / fullConn
	return max(l, minConn)
}
