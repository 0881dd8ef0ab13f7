package httpproxy

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/http1"
)

// FuzzRewriteRequest checks that what the proxy sends a server is itself a strict,
// valid head with the same framing, without hop-by-hop headers, and without the
// persistence cookie when it must be hidden.
func FuzzRewriteRequest(f *testing.F) {
	data, err := os.ReadFile("../http1/testdata/smuggling.txt")
	if err != nil {
		f.Fatal(err)
	}
	vs, err := http1.LoadCorpus(data)
	if err != nil {
		f.Fatal(err)
	}
	for _, v := range vs {
		f.Add(v.Raw, uint8(0))
	}
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nCookie: a=1; SRV=s1; b=2\r\nConnection: keep-alive, X-A\r\nX-A: 1\r\nTE: trailers\r\n\r\n"), uint8(1))
	f.Add([]byte("GET / HTTP/1.0\r\nCookie: JSESSIONID=s2~abc\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"), uint8(2))
	f.Fuzz(func(t *testing.T, raw []byte, mode uint8) {
		end := http1.EndOfHead(raw)
		if end < 0 || end > 8000 {
			return
		}
		ex := newExchange(16384, nil)
		ex.inLen = copy(ex.in, raw[:end])
		req := &ex.req
		if req.Parse(ex.in[:end]) != nil {
			return
		}
		ck := &config.Cookie{Name: "SRV", Mode: config.CookieInsert, Indirect: true}
		if mode%3 == 2 {
			ck = &config.Cookie{Name: "JSESSIONID", Mode: config.CookiePrefix}
		}
		be := &config.Backend{Name: "b", ForwardFor: &config.ForwardFor{}, Cookie: ck, ConnMode: config.HTTPConnMode(mode % 3)}
		cc := &clientConn{ex: ex, rs: &routeState{fe: &config.Frontend{}}, client: netip.MustParseAddr("192.0.2.1")}
		x := &xfer{be: be, mode: be.ConnMode, tunnelReq: req.Has(http1.FConnUpgrade | http1.FUpgrade),
			srv: &backend.Server{Cfg: &config.Server{Cookie: "s1"}}}
		if req.Has(http1.FCookie) {
			cc.analyzeCookies(ck)
		}
		out := cc.rewriteRequest(nil, x)
		var r2 http1.Request
		if err := r2.Parse(out); err != nil {
			t.Fatalf("rewritten head refused: %v\nin:  %q\nout: %q", err, raw[:end], out)
		}
		if r2.Len != len(out) {
			t.Fatalf("rewritten head has trailing bytes: %q", out)
		}
		if r2.Framing != req.Framing || (req.Framing == http1.FrameLength && r2.ContentLength != req.ContentLength) {
			t.Fatalf("framing changed: %v/%d -> %v/%d", req.Framing, req.ContentLength, r2.Framing, r2.ContentLength)
		}
		if r2.Has(http1.FCLMulti) || r2.Has(http1.FCLAndTE) {
			t.Fatalf("ambiguous framing forwarded: %q", out)
		}
		ncon := 0
		for i := 0; i < r2.NHeaders; i++ {
			hd := &r2.Headers[i]
			switch hd.Kind {
			case http1.KKeepAlive, http1.KProxyConnection:
				t.Fatalf("hop-by-hop header forwarded: %q", out)
			case http1.KConnection:
				ncon++
			case http1.KTE:
				if !http1.EqualFold(hd.Value.Of(out), "trailers") {
					t.Fatalf("TE forwarded: %q", out)
				}
			case http1.KUpgrade:
				if !x.tunnelReq {
					t.Fatalf("Upgrade forwarded without tunnelling: %q", out)
				}
			case http1.KCookie:
				v := string(hd.Value.Of(out))
				if ck.Mode == config.CookieInsert && strings.Contains(";"+strings.ReplaceAll(v, " ", ""), ";SRV=") {
					t.Fatalf("persistence cookie reached the server: %q", v)
				}
			}
		}
		if ncon > 1 {
			t.Fatalf("%d Connection headers: %q", ncon, out)
		}
	})
}

// FuzzRewriteResponse checks the same of what the proxy sends a client.
func FuzzRewriteResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nSet-Cookie: SRV=x; Path=/\r\nConnection: keep-alive, X-A\r\nX-A: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\nSet-Cookie: JSESSIONID=abc; HttpOnly\r\n\r\n",
		"HTTP/1.0 304 Not Modified\r\nCache-Control: private\r\nKeep-Alive: 5\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
	} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, raw []byte, mode uint8) {
		end := http1.EndOfHead(raw)
		if end < 0 || end > 8000 {
			return
		}
		ex := newExchange(16384, nil)
		ex.sinLen = copy(ex.sin, raw[:end])
		resp := &ex.resp
		if resp.Parse(ex.sin[:end]) != nil {
			return
		}
		ck := &config.Cookie{Name: "SRV", Mode: config.CookieInsert, NoCache: true, Domains: []string{"a.example"}}
		switch mode % 4 {
		case 1:
			ck = &config.Cookie{Name: "JSESSIONID", Mode: config.CookiePrefix, Indirect: true}
		case 2:
			ck = &config.Cookie{Name: "SRV", Mode: config.CookieRewrite}
		case 3:
			ck = nil
		}
		ex.req.Minor = mode & 4 >> 2
		ex.ckDirect = mode&8 != 0
		cc := &clientConn{ex: ex, rs: &routeState{fe: &config.Frontend{}}}
		x := &xfer{be: &config.Backend{Cookie: ck}, clientKeep: mode&16 != 0, srv: &backend.Server{Cfg: &config.Server{Cookie: "s1"}}}
		tunnel := resp.Status == 101
		out := cc.rewriteResponse(nil, x, tunnel)
		var r2 http1.Response
		if err := r2.Parse(out); err != nil {
			t.Fatalf("rewritten head refused: %v\nin:  %q\nout: %q", err, raw[:end], out)
		}
		if r2.Len != len(out) || r2.Status != resp.Status {
			t.Fatalf("rewritten head differs: %q", out)
		}
		if r2.Framing != resp.Framing || r2.Has(http1.FCLAndTE) || r2.Has(http1.FCLMulti) {
			t.Fatalf("framing %v -> %v: %q", resp.Framing, r2.Framing, out)
		}
		for i := 0; i < r2.NHeaders; i++ {
			switch r2.Headers[i].Kind {
			case http1.KKeepAlive, http1.KProxyConnection, http1.KTE:
				t.Fatalf("hop-by-hop header forwarded: %q", out)
			case http1.KUpgrade:
				if !tunnel {
					t.Fatalf("Upgrade forwarded: %q", out)
				}
			}
		}
		if !x.clientKeep && !tunnel && !r2.Has(http1.FConnClose) {
			t.Fatalf("closing without Connection: close: %q", out)
		}
	})
}
