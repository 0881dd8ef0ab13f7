package haproxy

import "tandem/internal/config"

// The HTTP/2 tunables of the global section (internal/h2 serves them): HAProxy 2.6's
// ranges, resolved to their defaults in resolveH2 when not written.

func gH2(set func(g *config.Global, n int), mark func(s *globalSet) *bool, lo, hi int) handler {
	inner := gInt(set, lo, hi)
	return func(p *parser, px *proxyState, st *stmt, args []string, b bool) {
		inner(p, px, st, args, b)
		*mark(&p.globalSet) = true
	}
}

var (
	gH2HeaderTable = gH2(func(g *config.Global, n int) { g.H2.HeaderTableSize = n },
		func(s *globalSet) *bool { return &s.h2Table }, 4096, 65536)
	gH2Window = gH2(func(g *config.Global, n int) { g.H2.InitialWindowSize = n },
		func(s *globalSet) *bool { return &s.h2Window }, 0, 1<<31-1)
	gH2Streams = gH2(func(g *config.Global, n int) { g.H2.MaxConcurrentStreams = n },
		func(s *globalSet) *bool { return &s.h2Streams }, 0, 1<<31-1)
)

// resolveH2 gives the tunables not written their HAProxy 2.6 defaults.
func (p *parser) resolveH2(g *config.Global) {
	if !p.globalSet.h2Table {
		g.H2.HeaderTableSize = config.DefaultH2HeaderTableSize
	}
	if !p.globalSet.h2Window {
		g.H2.InitialWindowSize = config.DefaultH2InitialWindowSize
	}
	if !p.globalSet.h2Streams {
		g.H2.MaxConcurrentStreams = config.DefaultH2MaxConcurrentStreams
	}
}
