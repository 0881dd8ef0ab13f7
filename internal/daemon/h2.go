package daemon

import (
	"net"
	"time"

	"tandem/internal/config"
	"tandem/internal/h2"
	"tandem/internal/httpproxy"
)

// h2Front is an HTTP frontend's HTTP/1 engine together with its HTTP/2 connections,
// which hand their streams to the engine (internal/h2's stream adapter): draining or
// closing the frontend sends GOAWAY to, or closes, both kinds.
type h2Front struct {
	*httpproxy.Handler
	sv *h2.Server
}

func (f h2Front) Drain() {
	f.sv.Drain()
	f.Handler.Drain()
}

func (f h2Front) Close() {
	f.sv.Close()
	f.Handler.Close()
}

func (f h2Front) Active() int { return f.Handler.Active() + f.sv.Active() }

// h2Options are a frontend's HTTP/2 settings: HAProxy 2.6's defaults, the decoded
// header list bounded by tune.bufsize, the idle connection bounded by timeout client.
func h2Options(cfg *config.Config, f *config.Frontend) h2.Options {
	o := h2.DefaultOptions()
	if n := cfg.Global.BufSize; n > 0 {
		o.MaxHeaderListSize = uint32(n)
	}
	o.HeaderTableSize = uint32(cfg.Global.H2.HeaderTableSize)
	o.InitialWindowSize = uint32(cfg.Global.H2.InitialWindowSize)
	o.MaxConcurrentStreams = uint32(cfg.Global.H2.MaxConcurrentStreams)
	if t := f.Timeouts.Client; t > 0 {
		o.IdleTimeout = t
	}
	return o
}

// serveH2 serves c as an HTTP/2 connection whose streams go to the frontend's engine.
func (d *Daemon) serveH2(fr *front, c net.Conn, scheme string, release func()) {
	defer release()
	hf, ok := fr.h.(h2Front)
	if !ok {
		c.Close()
		return
	}
	serve, end, ok := hf.Handler.ServeMultiplexed(c) // the connection's tcp-request rules, once
	if !ok {
		return
	}
	defer end()
	o := *fr.h2o.Load()
	o.Scheme = scheme
	fr.stats.SessionOpen(time.Now()) // the connection is the session; streams are requests
	defer fr.stats.SessionClose()
	h2.Serve(c, o, hf.sv, serve)
}
