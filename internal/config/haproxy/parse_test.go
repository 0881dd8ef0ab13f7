package haproxy

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tandem/internal/config"
)

func mustParse(t *testing.T, text string, env map[string]string) *config.Config {
	t.Helper()
	cfg, err := Parse("t.cfg", []byte(text), testOptions(env))
	if err != nil {
		t.Fatalf("unexpected errors:\n%v", err)
	}
	return cfg
}

func warnings(cfg *config.Config) []string {
	var out []string
	for _, w := range cfg.Warnings {
		out = append(out, w.Error())
	}
	return out
}

func TestDefaultsInheritance(t *testing.T) {
	cfg := mustParse(t, `
defaults
    mode http
    timeout client 11s
    timeout connect 1s
    timeout server 12s
    maxconn 100
frontend first
    bind :1
    default_backend hb
defaults tcpdefs
    mode tcp
    timeout client 21s
    timeout connect 2s
    timeout server 22s
defaults child from tcpdefs
    timeout client 41s
frontend named from tcpdefs
    bind :2
    default_backend tb
frontend fromchild from child
    bind :3
    default_backend tb
defaults
    mode http
    timeout client 31s
    timeout connect 3s
    timeout server 32s
backend hb
    server s 127.0.0.1:9
defaults last
    mode tcp
    timeout client 51s
    timeout connect 5s
    timeout server 52s
backend tb
    server s 127.0.0.1:9
`, nil)
	if f := cfg.Frontend("first"); f.Mode != config.ModeHTTP || f.Timeouts.Client != 11*time.Second || f.MaxConn != 100 {
		t.Errorf("first: mode %v client %v maxconn %d", f.Mode, f.Timeouts.Client, f.MaxConn)
	}
	if f := cfg.Frontend("named"); f.Mode != config.ModeTCP || f.Timeouts.Client != 21*time.Second || f.MaxConn != config.DefaultMaxConn {
		t.Errorf("named (from tcpdefs): mode %v client %v maxconn %d", f.Mode, f.Timeouts.Client, f.MaxConn)
	}
	if f := cfg.Frontend("fromchild"); f.Mode != config.ModeTCP || f.Timeouts.Client != 41*time.Second || f.Timeouts.Connect != 2*time.Second {
		t.Errorf("fromchild (from child from tcpdefs): %v %+v", f.Mode, f.Timeouts)
	}
	if b := cfg.Backend("hb"); b.Mode != config.ModeHTTP || b.Timeouts.Server != 32*time.Second {
		t.Errorf("hb (last anonymous defaults): %v %+v", b.Mode, b.Timeouts)
	}
	if b := cfg.Backend("tb"); b.Mode != config.ModeTCP || b.Timeouts.Server != 52*time.Second {
		t.Errorf("tb (last named defaults): %v %+v", b.Mode, b.Timeouts)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %v", warnings(cfg))
	}
}

func TestDefaultsDoNotLeakBetweenSections(t *testing.T) {
	cfg := mustParse(t, `
defaults
    mode http
    option forwardfor
    timeout client 5s
    timeout connect 5s
    timeout server 5s
    log 127.0.0.1:514 local0
    errorfile 503 testdata/errors/503.http
    cookie SRV insert
backend a
    log 127.0.0.2:514 local1
    option forwardfor header X-Client
    cookie OTHER prefix
    server s 127.0.0.1:9 cookie a
backend b
    server s 127.0.0.1:9 cookie b
listen c
    bind :1
    no log
    log 127.0.0.3 local2
`, nil)
	a, b := cfg.Backend("a"), cfg.Backend("b")
	if a.ForwardFor.Header != "X-Client" || b.ForwardFor.Header != "X-Forwarded-For" {
		t.Errorf("option forwardfor: a %+v b %+v", a.ForwardFor, b.ForwardFor)
	}
	if a.Cookie.Name != "OTHER" || b.Cookie.Name != "SRV" || b.Cookie.Mode != config.CookieInsert {
		t.Errorf("cookies: a %+v b %+v", a.Cookie, b.Cookie)
	}
	c := cfg.Frontend("c")
	if len(c.Logs) != 1 || c.Logs[0].Address != "127.0.0.3" {
		t.Errorf("listen logs after no log: %+v", c.Logs)
	}
	if len(b.ErrorFiles) != 1 || len(c.ErrorFiles) != 1 {
		t.Errorf("errorfiles not inherited")
	}
}

func TestListenProducesFrontendAndBackend(t *testing.T) {
	cfg := mustParse(t, `
defaults
    mode http
    timeout client 5s
    timeout connect 5s
    timeout server 5s
listen app
    bind 127.0.0.1:80,[::1]:80
    balance leastconn
    server a 127.0.0.1:81 weight 3
    server b 127.0.0.1:82 backup
listen pool
    server a 127.0.0.1:81
`, nil)
	fe, be := cfg.Frontend("app"), cfg.Backend("app")
	if fe == nil || be == nil || fe.DefaultBackend != be || !fe.Listen || !be.Listen {
		t.Fatalf("listen halves: %+v %+v", fe, be)
	}
	if len(fe.Binds) != 2 || fe.Binds[1].Addr != netip.MustParseAddrPort("[::1]:80") {
		t.Errorf("binds = %+v", fe.Binds)
	}
	if be.Balance.Algo != config.AlgoLeastConn || be.Server("a").Weight != 3 || !be.Server("b").Backup {
		t.Errorf("backend = %+v", be)
	}
	// a listen naming a default_backend sends its traffic there
	cfg2 := mustParse(t, "listen a\n timeout client 1s\n timeout connect 1s\n timeout server 1s\n bind :80\n default_backend b\nbackend b\n timeout connect 1s\n timeout server 1s\n", nil)
	if cfg2.Frontend("a").DefaultBackend != cfg2.Backend("b") {
		t.Errorf("listen default_backend not linked")
	}
	// a listen without bind is only a backend
	if cfg.Frontend("pool") != nil || cfg.Backend("pool") == nil {
		t.Errorf("listen without bind")
	}
}

func TestBindForms(t *testing.T) {
	tests := []struct {
		bind string
		addr string
		any  bool
	}{
		{"127.0.0.1:80", "127.0.0.1:80", false},
		{"*:80", "0.0.0.0:80", true},
		{":80", "0.0.0.0:80", true},
		{":::80", "[::]:80", false},
		{"[::]:80", "[::]:80", false},
		{"::1:8080", "[::1]:8080", false},
		{"[2001:db8::1]:443", "[2001:db8::1]:443", false},
		{"ipv4@127.0.0.1:80", "127.0.0.1:80", false},
		{"ipv6@:80", "[::]:80", false},
		{"web1.example:80", "127.0.0.11:80", false},
	}
	for _, tt := range tests {
		cfg := mustParse(t, "frontend f\n timeout client 1s\n bind "+tt.bind+"\n default_backend b\nbackend b\n timeout connect 1s\n timeout server 1s\n", nil)
		b := cfg.Frontends[0].Binds[0]
		if b.Addr != netip.MustParseAddrPort(tt.addr) || b.Any != tt.any || b.Text != tt.bind {
			t.Errorf("bind %s = %+v, want %s any=%v", tt.bind, b, tt.addr, tt.any)
		}
	}
}

func TestServerResolution(t *testing.T) {
	cfg := mustParse(t, `
backend b
    timeout connect 1s
    timeout server 1s
    server a web1.example:80
    server b v6only.example:81
    server c ::1:82
    server d [::ffff:127.0.0.1]:83
`, nil)
	b := cfg.Backend("b")
	want := map[string]string{"a": "127.0.0.11:80", "b": "[::1]:81", "c": "[::1]:82", "d": "127.0.0.1:83"}
	for name, addr := range want {
		if s := b.Server(name); s.Addr != netip.MustParseAddrPort(addr) {
			t.Errorf("server %s = %v, want %s", name, s.Addr, addr)
		}
	}
	if b.Server("a").Host != "web1.example" {
		t.Errorf("host not kept: %q", b.Server("a").Host)
	}
}

func TestDefaultServer(t *testing.T) {
	cfg := mustParse(t, `
backend b
    timeout connect 1s
    timeout server 1s
    server a 127.0.0.1:80
    default-server check inter 3s rise 4 fall 5 weight 7 maxconn 10
    server b 127.0.0.1:80
    default-server backup port 9000
    server c 127.0.0.1:80 weight 2 no-check no-backup
    server d 127.0.0.1:80 disabled
`, nil)
	b := cfg.Backend("b")
	a, sb, c, d := b.Server("a"), b.Server("b"), b.Server("c"), b.Server("d")
	if a.Check.Enabled || a.Weight != 1 || a.MaxConn != 0 || a.Check.Inter != config.DefaultInter {
		t.Errorf("a (before default-server) = %+v", a)
	}
	if want := (config.ServerCheck{Enabled: true, Inter: 3 * time.Second, Rise: 4, Fall: 5, ErrorLimit: DefaultErrorLimit, OnError: "fastinter"}); sb.Check != want || sb.Weight != 7 || sb.MaxConn != 10 {
		t.Errorf("b = %+v", sb)
	}
	if c.Check.Enabled || c.Backup || c.Weight != 2 || c.Check.Port != 9000 {
		t.Errorf("c = %+v", c)
	}
	if !d.Backup || !d.Disabled || !d.Check.Enabled {
		t.Errorf("d = %+v", d)
	}
}

func TestSafeDefaults(t *testing.T) {
	cfg := mustParse(t, `
global
    maxconn 500
frontend f
    bind :80
    default_backend b
backend b
    timeout connect 2s
    server s 127.0.0.1:81
listen l
    bind :82
    timeout client 1s
    timeout connect 1s
    timeout server 1s
    maxconn 7
`, nil)
	f, b, l := cfg.Frontend("f"), cfg.Backend("b"), cfg.Frontend("l")
	if f.Timeouts.Client != SafeTimeoutClient || f.Timeouts.HTTPRequest != SafeTimeoutHTTPRequest || f.MaxConn != 500 {
		t.Errorf("f = %+v maxconn %d", f.Timeouts, f.MaxConn)
	}
	if b.Timeouts.Connect != 2*time.Second || b.Timeouts.Server != SafeTimeoutServer || b.Retries != config.DefaultRetries {
		t.Errorf("b = %+v", b.Timeouts)
	}
	if l.MaxConn != 7 || cfg.Global.BufSize != config.DefaultBufSize || cfg.Global.MaxRewrite != config.DefaultMaxRewrite {
		t.Errorf("l maxconn %d, global %+v", l.MaxConn, cfg.Global)
	}
	want := []string{
		`t.cfg:4: frontend "f": missing timeouts (client): tandem uses client 50s; set them to silence this warning`,
		`t.cfg:7: backend "b": missing timeouts (server): tandem uses server 50s; set them to silence this warning`,
	}
	if got := warnings(cfg); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestEnvironmentVariables(t *testing.T) {
	env := map[string]string{"LB_PORT": "8080", "APP": "127.0.0.1:9000", "BACKENDS": "app"}
	cfg := mustParse(t, `
defaults
    timeout client 1s
    timeout connect 1s
    timeout server 1s
frontend f
    bind "127.0.0.1:${LB_PORT}"
    default_backend "$BACKENDS"
backend app
    server s1 "$APP" weight "${WEIGHT-5}"
`, env)
	if cfg.Frontends[0].Binds[0].Addr.Port() != 8080 || cfg.Backend("app").Servers[0].Weight != 5 ||
		cfg.Backend("app").Servers[0].Addr != netip.MustParseAddrPort("127.0.0.1:9000") {
		t.Errorf("env not expanded: %+v %+v", cfg.Frontends[0].Binds, cfg.Backend("app").Servers[0])
	}
}

func TestMultipleFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.cfg", "global\n    maxconn 100\ndefaults\n    mode http\n    timeout client 1s\n    timeout connect 1s\n    timeout server 1s\n")
	b := write("b.cfg", "frontend f\n    bind :80\n    default_backend app\n")
	c := write("c.cfg", "backend app\n    server s 127.0.0.1:81\n")
	cfg, err := ParseFiles([]string{a, b, c}, testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	if f := cfg.Frontend("f"); f.Mode != config.ModeHTTP || f.DefaultBackend != cfg.Backend("app") || f.MaxConn != 100 {
		t.Errorf("f = %+v", f)
	}
	// A file ends its section: a keyword at the top of the next file is outside any section.
	d := write("d.cfg", "    server t 127.0.0.1:82\n")
	_, err = ParseFiles([]string{c, d, filepath.Join(dir, "missing.cfg")}, testOptions(nil))
	checkErrors(t, err, []string{
		"read " + filepath.Join(dir, "missing.cfg") + ": open " + filepath.Join(dir, "missing.cfg") + ": no such file or directory",
		d + `:1: unknown keyword "server" outside of any section`,
	})
}

func TestProxyOptions(t *testing.T) {
	cfg := mustParse(t, `
defaults
    mode http
    timeout client 1s
    timeout connect 1s
    timeout server 1s
    option httpclose
backend b
    balance hdr(Host)
    hash-type consistent
    option forwardfor except 10.0.0.0/255.0.0.0 header X-Real-IP
    option http-server-close
    option httpchk GET /health HTTP/1.1\r\nHost:\ example.com
    http-check send hdr User-Agent tandem
    http-check expect status 200-399
    option log-health-checks
    cookie SRV insert indirect nocache preserve httponly secure domain .a.com domain b.com maxidle 30m maxlife 8h
    fullconn 1000
    retries 0
    option redispatch
    timeout queue 30s
    timeout tunnel 1h
    timeout check 2s
    server s 127.0.0.1:80
backend u
    balance url_param id
    no option httpclose
backend t
    mode tcp
    option tcp-check
    balance source
frontend st
    bind :8404
    stats enable
    stats uri /s
    stats realm Tandem\ Stats
    stats auth admin:secret
    stats auth ops:ops
    stats admin if LOCALHOST
    stats hide-version
    stats show-legends
    stats show-node
    option tcplog
    log-format "%ci %b"
`, nil)
	b := cfg.Backend("b")
	if b.Balance != (config.Balance{Algo: config.AlgoHdr, Param: "Host"}) || b.HashType != config.HashConsistent || b.ConnMode != config.HTTPServerClose {
		t.Errorf("b balance/conn = %+v %v %v", b.Balance, b.HashType, b.ConnMode)
	}
	if *b.ForwardFor != (config.ForwardFor{Except: netip.MustParsePrefix("10.0.0.0/8"), Header: "X-Real-IP"}) {
		t.Errorf("forwardfor = %+v", b.ForwardFor)
	}
	wantCheck := config.HealthCheck{HTTP: true, Method: "GET", URI: "/health", Version: "HTTP/1.1",
		Expect: "status 200-399", LogHealth: true}
	if c := b.Check; c.HTTP != wantCheck.HTTP || c.Method != "GET" || c.URI != "/health" || c.Version != "HTTP/1.1" ||
		c.Expect != wantCheck.Expect || !c.LogHealth || strings.Join(c.Headers, "|") != "Host: example.com|User-Agent: tandem" {
		t.Errorf("check = %+v", c)
	}
	ck := b.Cookie
	if !ck.Preserve || !ck.HTTPOnly || !ck.Secure || len(ck.Domains) != 2 || ck.MaxIdle != 30*time.Minute || ck.MaxLife != 8*time.Hour {
		t.Errorf("cookie = %+v", ck)
	}
	if b.FullConn != 1000 || b.Retries != 0 || !b.Redispatch || b.Timeouts.Queue != 30*time.Second || b.Timeouts.Tunnel != time.Hour || b.Timeouts.Check != 2*time.Second {
		t.Errorf("b = %+v", b)
	}
	if u := cfg.Backend("u"); u.Balance != (config.Balance{Algo: config.AlgoURLParam, Param: "id"}) || u.ConnMode != config.HTTPKeepAlive {
		t.Errorf("u = %+v", u)
	}
	if tb := cfg.Backend("t"); !tb.Check.TCPCheck || tb.Balance.Algo != config.AlgoSource || tb.Mode != config.ModeTCP {
		t.Errorf("t = %+v", tb)
	}
	st := cfg.Frontend("st")
	want := config.Stats{URI: "/s", Realm: "Tandem Stats", Auth: []string{"admin:secret", "ops:ops"}, Admin: "LOCALHOST", HideVersion: true}
	if s := st.Stats; s.URI != want.URI || s.Realm != want.Realm || strings.Join(s.Auth, ",") != "admin:secret,ops:ops" || s.Admin != want.Admin || !s.HideVersion {
		t.Errorf("stats = %+v", st.Stats)
	}
	if !st.TCPLog || st.HTTPLog || st.LogFormat != "%ci %b" || st.DefaultBackend != nil {
		t.Errorf("st = %+v", st)
	}
}

func TestHTTPCheckOrder(t *testing.T) {
	// Before option httpchk, HAProxy does not mind the order of send and expect.
	cfg := mustParse(t, "backend b\n timeout connect 1s\n timeout server 1s\n http-check expect status 200\n http-check send meth HEAD\n option httpchk\n", nil)
	if c := cfg.Backend("b").Check; !c.HTTP || c.Expect != "status 200" {
		t.Errorf("check = %+v", c)
	}
}

func TestGlobal(t *testing.T) {
	cfg := mustParse(t, `
global
    nbthread 2
    hard-stop-after 30s
    tune.bufsize 32768
    tune.maxrewrite 4096
    spread-checks 5
    log stdout format raw local0 info notice
    log udp@127.0.0.1:514 len 4096 local7
    stats socket ipv4@127.0.0.1:9999 level user
    stats socket /run/t.sock mode 600 expose-fd listeners
    stats timeout 2m
global
    maxconn 10
`, nil)
	g := cfg.Global
	if g.NbThread != 2 || g.HardStopAfter != 30*time.Second || g.BufSize != 32768 || g.MaxRewrite != 4096 || g.SpreadChecks != 5 || g.MaxConn != 10 {
		t.Errorf("global = %+v", g)
	}
	if l := g.Logs[0]; l.Address != "stdout" || l.Format != "raw" || l.Level != "info" || l.MinLevel != "notice" {
		t.Errorf("log 0 = %+v", l)
	}
	if l := g.Logs[1]; l.Len != 4096 || l.Facility != "local7" {
		t.Errorf("log 1 = %+v", l)
	}
	if s := g.StatsSockets; s[0].Level != "user" || s[1].Mode != 0o600 || s[1].Level != "operator" {
		t.Errorf("sockets = %+v", s)
	}
	if g.Pos.Line != 2 {
		t.Errorf("global pos = %v", g.Pos)
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"5000", 5 * time.Second, true}, {"10us", time.Millisecond, true}, {"1500us", 2 * time.Millisecond, true}, {"10ms", 10 * time.Millisecond, true},
		{"3s", 3 * time.Second, true}, {"2m", 2 * time.Minute, true}, {"1h", time.Hour, true}, {"1d", 24 * time.Hour, true},
		{"0", 0, true}, {"24d", 24 * 24 * time.Hour, true}, {"25d", 0, false}, {"", 0, false}, {"s", 0, false},
		{"-1s", 0, false}, {"1.5s", 0, false}, {"5 s", 0, false}, {"99999999999999999999", 0, false},
		// As HAProxy 2.6: what follows a valid unit is ignored (with a warning); "u" alone is no unit.
		{"15min", 15 * time.Minute, true}, {"1s[", time.Second, true}, {"10msx", 10 * time.Millisecond, true},
		{"1u", 0, false}, {"5x", 0, false},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseTime(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestOtherSideKeywordsWarn(t *testing.T) {
	// HAProxy ignores, with a warning, what only the other side of a proxy uses.
	cfg := mustParse(t, `frontend f
    bind :80
    timeout client 1s
    timeout server 5s
    balance source
    default_backend b
backend b
    timeout connect 1s
    timeout server 1s
    bind :81
    maxconn 10
    server s 127.0.0.1:80
`, nil)
	want := []string{
		`t.cfg:4: frontend "f": keyword "timeout server" is ignored in a frontend section (allowed in: defaults, listen, backend)`,
		`t.cfg:5: frontend "f": keyword "balance" is ignored in a frontend section (allowed in: defaults, listen, backend)`,
		`t.cfg:10: backend "b": keyword "bind" is ignored in a backend section (allowed in: frontend, listen)`,
		`t.cfg:11: backend "b": keyword "maxconn" is ignored in a backend section (allowed in: defaults, frontend, listen) (did you mean "fullconn"?)`,
	}
	if got := warnings(cfg); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if cfg.Backend("b").Balance.Algo != config.AlgoRoundRobin || cfg.Frontend("f").Timeouts.Server != SafeTimeoutServer {
		t.Errorf("ignored keywords had an effect")
	}
}

func TestTLSDefaultsWarn(t *testing.T) {
	cfg := mustParse(t, "global\n    tune.ssl.default-dh-param 2048\n    ssl-server-verify none\n    ssl-default-server-options no-sslv3 ssl-min-ver TLSv1.2\n", nil)
	// Only default-dh-param warns (it has no effect, and says why); the others have
	// their meaning when a TLS bind or server uses them.
	if w := warnings(cfg); len(w) != 1 || !strings.Contains(w[0], "tune.ssl.default-dh-param has no effect: Go's crypto/tls has no DHE suites") {
		t.Errorf("warnings: %v", w)
	}
	_, err := Parse("t.cfg", []byte("global\n    ssl-default-bind-options ssl-min-ver TLSv9 no-sslv3\n    ssl-default-bind-options no-sslv4\n"), testOptions(nil))
	checkErrors(t, err, []string{
		`t.cfg:2: global: ssl-default-bind-options: unknown version "TLSv9" (expected TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3)`,
		`t.cfg:3: global: ssl-default-bind-options: unknown option "no-sslv4" (did you mean "no-sslv3"?)`,
	})
}

func TestAcceptedWithWarnings(t *testing.T) {
	cfg := mustParse(t, "global\n    tune.bufsize 4096\n    tune.maxrewrite 3000\ndefaults d\n    mode tcp\n    timeout client 1s\n    timeout connect 1s\n    timeout server 1s\nbackend a\nbackend b from d\n", nil)
	want := []string{
		`t.cfg:2: global: tune.maxrewrite (3000) is more than half of tune.bufsize (4096): using 2048`,
		`t.cfg:10: backend "b": defaults section "d" (t.cfg:4) is both referenced with "from" and used implicitly as the last defaults section: use "from" everywhere, or add a last defaults section that is never referenced`,
	}
	if got := warnings(cfg); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if cfg.Global.MaxRewrite != 2048 {
		t.Errorf("maxrewrite = %d", cfg.Global.MaxRewrite)
	}
}

func TestTCPModeIgnoresHTTPSettings(t *testing.T) {
	cfg, err := ParseFiles([]string{"testdata/compat/ok-tcp-mode-ignores-http-settings.cfg"}, testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	fe, be := cfg.Frontend("l"), cfg.Backend("l")
	if fe.Stats != nil || fe.ForwardFor != nil || fe.HTTPLog || !fe.TCPLog || be.Cookie != nil || be.Balance.Algo != config.AlgoRoundRobin {
		t.Errorf("http settings kept in tcp mode: %+v %+v", fe, be)
	}
	want := []string{
		`testdata/compat/ok-tcp-mode-ignores-http-settings.cfg:5: listen "l": balance uri needs mode http: using roundrobin`,
		`testdata/compat/ok-tcp-mode-ignores-http-settings.cfg:5: listen "l": option httplog needs mode http: using option tcplog`,
		`testdata/compat/ok-tcp-mode-ignores-http-settings.cfg:9: listen "l": cookie "S" is ignored in mode tcp`,
		`testdata/compat/ok-tcp-mode-ignores-http-settings.cfg:10: listen "l": option forwardfor is ignored in mode tcp`,
		`testdata/compat/ok-tcp-mode-ignores-http-settings.cfg:12: listen "l": stats is ignored in mode tcp (add "mode http")`,
	}
	if got := warnings(cfg); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestTarpitTimeoutResolved: timeout tarpit defaults to the proxy's timeout connect
// (configuration.txt), resolved once by the parser; the data path reads the value.
func TestTarpitTimeoutResolved(t *testing.T) {
	tests := []struct {
		name, defaults string
		want           time.Duration
	}{
		{"from timeout connect", "timeout connect 3s\n timeout client 1s\n timeout server 1s\n", 3 * time.Second},
		{"set", "timeout connect 3s\n timeout client 1s\n timeout server 1s\n timeout tarpit 7s\n", 7 * time.Second},
		{"neither", "", SafeTimeoutConnect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("t.cfg", []byte("defaults\n mode http\n "+tt.defaults+"frontend f\n bind :80\n default_backend b\nbackend b\n"), testOptions(nil))
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Frontends[0].Timeouts.Tarpit; got != tt.want {
				t.Errorf("frontend tarpit %v, want %v", got, tt.want)
			}
			if got := cfg.Backends[0].Timeouts.Tarpit; got != tt.want {
				t.Errorf("backend tarpit %v, want %v", got, tt.want)
			}
		})
	}
}
