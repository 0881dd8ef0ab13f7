package haproxy

import "testing"

// TestProxyProtocolOptions: bind accept-proxy, and send-proxy, send-proxy-v2,
// send-proxy-v2-ssl and their no- forms on servers and default-server (HAProxy 2.6
// §5.1, §5.2: v2 wins over v1; checks send the header unless they have a port or addr
// of their own).
func TestProxyProtocolOptions(t *testing.T) {
	cfg := mustParse(t, `defaults
    mode tcp
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend f
    bind 127.0.0.1:8000 accept-proxy
    bind 127.0.0.1:8001
    default_backend b
backend b
    default-server send-proxy
    server inherits 127.0.0.1:9000
    server v2 127.0.0.1:9001 send-proxy-v2
    server ssl 127.0.0.1:9002 no-send-proxy send-proxy-v2-ssl check
    server none 127.0.0.1:9003 no-send-proxy
    server v1port 127.0.0.1:9004 check port 9999
    server sslnot 127.0.0.1:9005 no-send-proxy send-proxy-v2-ssl no-send-proxy-v2-ssl
    server sslv1 127.0.0.1:9006 no-send-proxy send-proxy-v2-ssl no-send-proxy-v2
`, nil)
	fe := cfg.Frontends[0]
	if !fe.Binds[0].AcceptProxy || fe.Binds[1].AcceptProxy {
		t.Errorf("accept-proxy: %v %v", fe.Binds[0].AcceptProxy, fe.Binds[1].AcceptProxy)
	}
	want := map[string]struct {
		v          int
		ssl, check bool
	}{
		"inherits": {1, false, true}, "v2": {2, false, true}, "ssl": {2, true, true}, "none": {0, false, false},
		// what Debian's haproxy sends for the last two: nothing, and a v1 header
		"v1port": {1, false, false}, "sslnot": {0, false, false}, "sslv1": {1, false, true},
	}
	for _, s := range cfg.Backends[0].Servers {
		w := want[s.Name]
		if s.SendProxy != w.v || s.SendProxySSL != w.ssl || s.CheckSendProxy != w.check {
			t.Errorf("server %s: send-proxy %d ssl %v check %v, want %+v", s.Name, s.SendProxy, s.SendProxySSL, s.CheckSendProxy, w)
		}
	}
}
