package haproxy

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"tandem/internal/config"
)

// serverOpts are the options a server or default-server line may carry. Unset
// values are -1 (numbers) or zero (times); resolve fills the documented defaults.
type serverOpts struct {
	weight   int // -1: not set
	backup   bool
	disabled bool
	maxConn  int
	minConn  int
	maxQueue int
	check    bool
	inter    time.Duration
	rise     int
	fall     int
	port     int
	cookie   string

	// issue 3: health checks and fault handling
	fastInter, downInter, slowStart, agentInter time.Duration
	checkAddr, agentAddr                        netip.Addr
	observe, onError, onMarkedDown, initAddr    string
	errorLimit, agentPort                       int
	agent                                       bool
	agentSend                                   string

	tls srvTLS // issue 11 (tls.go)

	// PROXY protocol: HAProxy's SRV_PP_V1, SRV_PP_V2 and SRV_PP_V2_SSL flags
	ppV1, ppV2, ppSSL bool
}

// timeOptions are the server options that take a time.
var timeOptions = map[string]bool{"inter": true, "fastinter": true, "downinter": true, "agent-inter": true, "slowstart": true}

// serverOptions are the server options tandem knows and how many arguments each takes.
var serverOptions = map[string]int{
	"weight": 1, "backup": 0, "no-backup": 0, "disabled": 0, "enabled": 0, "maxconn": 1, "minconn": 1,
	"maxqueue": 1, "cookie": 1, "check": 0, "no-check": 0, "inter": 1, "rise": 1, "fall": 1, "port": 1,
	"fastinter": 1, "downinter": 1, "addr": 1, "slowstart": 1, "observe": 1, "error-limit": 1,
	"on-error": 1, "on-marked-down": 1, "agent-check": 0, "no-agent-check": 0, "agent-port": 1,
	"agent-inter": 1, "agent-send": 1, "agent-addr": 1, "init-addr": 1,
	"send-proxy": 0, "send-proxy-v2": 0, "send-proxy-v2-ssl": 0,
	"no-send-proxy": 0, "no-send-proxy-v2": 0, "no-send-proxy-v2-ssl": 0,
}

func kwServer(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	if len(args) < 2 {
		p.errorf(st.pos, "\"server\": expected server NAME ADDR:PORT [options]")
		return
	}
	name, addr := args[0], args[1]
	label := fmt.Sprintf("server %q", name)
	if bad := badNameChar(name); bad != 0 {
		p.errorf(st.pos, "%s: invalid character %q in name", label, bad)
	}
	for _, s := range px.servers {
		if s.Name == name {
			p.errorf(st.pos, "%s: another server with this name was defined at line %d", label, s.Pos.Line)
			return
		}
	}
	o := px.defaultServer
	if !p.serverOpts(st, label, args[2:], &o) {
		return
	}
	srv := &config.Server{Pos: st.pos, Name: name, Cookie: o.cookie}
	var ok bool
	host, ap, err := p.serverAddr(addr)
	if err != nil && o.initAddr != "" {
		host, ap, err = p.initAddrFallback(st, label, addr, o.initAddr, err, &o)
	}
	if err != nil {
		p.errorf(st.pos, "%s: %v", label, err)
		return
	}
	srv.Host, srv.Addr = host, ap
	srv.Weight = o.weight
	if srv.Weight < 0 {
		srv.Weight = config.DefaultWeight
	}
	srv.Backup, srv.Disabled, srv.MaxConn = o.backup, o.disabled, o.maxConn
	p.minConn(st, label, srv, o.minConn)
	srv.MaxQueue = o.maxQueue
	srv.Check = config.ServerCheck{Enabled: o.check, Inter: o.inter, Rise: o.rise, Fall: o.fall, Port: o.port}
	if srv.Check.Inter == 0 {
		srv.Check.Inter = config.DefaultInter
	}
	if srv.Check.Rise == 0 {
		srv.Check.Rise = config.DefaultRise
	}
	if srv.Check.Fall == 0 {
		srv.Check.Fall = config.DefaultFall
	}
	applyCheckOpts(&srv.Check, &o)
	switch { // as HAProxy 2.6: v2 when asked, else v1 when any flag is left (the SSL
	// one alone after no-send-proxy-v2 sends a v1 header)
	case o.ppV2:
		srv.SendProxy, srv.SendProxySSL = 2, o.ppSSL
	case o.ppV1 || o.ppSSL:
		srv.SendProxy = 1
	}
	srv.CheckSendProxy = srv.SendProxy != 0 && o.port == 0 && !o.checkAddr.IsValid()
	if srv.TLS, ok = p.serverTLS(st, label, &o.tls, o.port != 0 || o.checkAddr.IsValid()); !ok {
		return
	}
	if o.agent && o.agentPort == 0 {
		p.errorf(st.pos, "%s: agent-check needs agent-port", label)
	}
	px.servers = append(px.servers, srv)
}

func kwDefaultServer(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	o := px.defaultServer
	if p.serverOpts(st, "default-server", args, &o) {
		px.defaultServer = o
	}
}

// minConn sets srv.MinConn. A minconn that is not below maxconn (or has no maxconn)
// leaves nothing to ramp: as HAProxy, the server's fixed limit is then minconn (see
// config.DynamicMaxConn), and tandem says so.
func (p *parser) minConn(st *stmt, label string, srv *config.Server, n int) {
	srv.MinConn = n
	switch {
	case n == 0 || n == srv.MaxConn:
	case srv.MaxConn == 0:
		p.warnf(st.pos, "%s: minconn %d without maxconn: the server's limit is fixed at %d (as HAProxy); add a greater maxconn for a dynamic limit", label, n, n)
		srv.MaxConn = n
	case n > srv.MaxConn:
		p.warnf(st.pos, "%s: minconn %d is above maxconn %d: the server's limit is fixed at %d (as HAProxy)", label, n, srv.MaxConn, n)
		srv.MaxConn = n
	}
}

// serverAddr reads "HOST:PORT" (HOST a literal or a name to resolve).
func (p *parser) serverAddr(s string) (string, netip.AddrPort, error) {
	text := s
	if i := strings.IndexByte(s, '@'); i >= 0 {
		fam := s[:i]
		if fam != "ipv4" && fam != "ipv6" {
			return "", netip.AddrPort{}, fmt.Errorf("address family %q in %q is not supported by tandem", fam+"@", text)
		}
		s = s[i+1:]
	}
	host, port, err := splitHostPort(s)
	if err != nil && !errors.Is(err, errNoPort) {
		return "", netip.AddrPort{}, err
	}
	if strings.HasPrefix(port, "+") || strings.HasPrefix(port, "-") {
		return "", netip.AddrPort{}, fmt.Errorf("relative port %q is not supported by tandem", port)
	}
	var pn uint16 // none (0): the port the client connected to, as HAProxy
	if port != "" {
		if pn, err = parsePort(port, false); err != nil {
			return "", netip.AddrPort{}, err
		}
	}
	a := netip.IPv4Unspecified() // "", "*" (and 0.0.0.0): the address the client connected to, as HAProxy
	if host != "" && host != "*" {
		if a, err = p.hostAddr(host); err != nil {
			return "", netip.AddrPort{}, err
		}
	}
	return host, netip.AddrPortFrom(a, pn), nil
}

// serverOpts applies the options of a server or default-server line to o.
func (p *parser) serverOpts(st *stmt, label string, args []string, o *serverOpts) bool {
	ok := true
	fail := func(format string, a ...any) {
		p.errorf(st.pos, label+": "+format, a...)
		ok = false
	}
	for i := 0; i < len(args); i++ {
		opt := args[i]
		if n, err := serverTLSOption(args[i:], &o.tls); n > 0 || err != nil {
			if err != nil {
				fail("%v", err)
				return false
			}
			i += n - 1
			continue
		}
		n, known := serverOptions[opt]
		if !known {
			if knownServerOptions[opt] {
				fail("keyword %q is not supported by tandem%s", opt, planHint(opt))
			} else {
				names := make([]string, 0, len(serverOptions))
				for k := range serverOptions {
					names = append(names, k)
				}
				fail("unknown keyword %q%s", opt, didYouMean(closest(opt, names)))
			}
			return false
		}
		if i+n >= len(args) {
			fail("%q needs an argument", opt)
			return false
		}
		var v string
		if n == 1 {
			i++
			v = args[i]
		}
		var err error
		switch opt {
		case "weight":
			o.weight, err = parseInt(v, 0, config.MaxWeight)
		case "backup", "no-backup":
			o.backup = opt == "backup"
		case "disabled", "enabled":
			o.disabled = opt == "disabled"
		case "maxconn":
			o.maxConn, err = parseInt(v, 0, maxInt32)
		case "minconn":
			o.minConn, err = parseInt(v, 0, maxInt32)
		case "maxqueue":
			o.maxQueue, err = parseInt(v, 0, maxInt32)
		case "cookie":
			o.cookie = v // HAProxy accepts it on default-server too
		case "check", "no-check":
			o.check = opt == "check"
		case "inter":
			o.inter, err = parseTime(v)
			if err == nil && o.inter == 0 {
				err = errors.New("must be greater than 0")
			}
		case "rise":
			o.rise, err = parseInt(v, 1, maxInt32)
		case "fall":
			o.fall, err = parseInt(v, 1, maxInt32)
		case "send-proxy", "no-send-proxy":
			o.ppV1 = opt == "send-proxy"
		case "send-proxy-v2", "no-send-proxy-v2":
			o.ppV2 = opt == "send-proxy-v2"
		case "send-proxy-v2-ssl":
			o.ppV2, o.ppSSL = true, true
		case "no-send-proxy-v2-ssl": // clears send-proxy-v2 too (HAProxy 2.6)
			o.ppV2, o.ppSSL = false, false
		case "port":
			var pn uint16
			pn, err = parsePort(v, false)
			o.port = int(pn)
		default:
			err = checkOpt(opt, v, o)
		}
		if err != nil {
			fail("%s: %v", opt, err)
		} else if timeOptions[opt] {
			p.warnTimeJunk(st, label+": "+opt, v)
		}
	}
	return ok
}
