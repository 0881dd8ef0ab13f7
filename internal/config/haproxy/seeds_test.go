package haproxy

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tandem/internal/config"
)

// fakeResolver answers from a table and fails for every other name: tests never use DNS.
func fakeResolver(table map[string][]string) func(string) ([]netip.Addr, error) {
	return func(host string) ([]netip.Addr, error) {
		var out []netip.Addr
		for _, s := range table[host] {
			out = append(out, netip.MustParseAddr(s))
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("no such host %q", host)
		}
		return out, nil
	}
}

// testOptions reads files from testdata, maps Debian's /etc/haproxy/errors to
// testdata/errors, resolves only "web1.example" and "v6only.example", and sees only env.
func testOptions(env map[string]string) Options {
	return Options{
		Resolve: fakeResolver(map[string][]string{
			"web1.example":   {"2001:db8::1", "127.0.0.11"},
			"v6only.example": {"::1"},
		}),
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		ReadFile: func(path string) ([]byte, error) {
			if rest, ok := strings.CutPrefix(path, "/etc/haproxy/errors/"); ok {
				path = filepath.Join("testdata", "errors", rest)
			}
			return os.ReadFile(path)
		},
	}
}

func mustParseFiles(t *testing.T, paths ...string) *config.Config {
	t.Helper()
	cfg, err := ParseFiles(paths, testOptions(nil))
	if err != nil {
		t.Fatalf("ParseFiles(%v): unexpected errors:\n%v", paths, err)
	}
	return cfg
}

func TestSeedConfigsParse(t *testing.T) {
	for _, name := range []string{"seed-001.cfg", "seed-003.cfg", "seed-003-cookie-insert.cfg", "seed-003-cookie-prefix.cfg", "seed-004.cfg", "debian.cfg"} {
		t.Run(name, func(t *testing.T) {
			cfg := mustParseFiles(t, filepath.Join("testdata", name))
			for _, fe := range cfg.Frontends {
				if len(fe.Binds) == 0 {
					t.Errorf("frontend %q has no bind", fe.Name)
				}
				if fe.DefaultBackend == nil && fe.Stats == nil {
					t.Errorf("frontend %q has no backend", fe.Name)
				}
			}
		})
	}
}

func TestSeed001(t *testing.T) {
	cfg := mustParseFiles(t, "testdata/seed-001.cfg")
	g := cfg.Global
	if g.MaxConn != 4000 || g.User != "haproxy" || g.Group != "haproxy" || g.Chroot != "/var/lib/haproxy" ||
		g.PidFile != "/var/run/haproxy.pid" || !g.Daemon {
		t.Errorf("global = %+v", g)
	}
	if len(g.Logs) != 1 || g.Logs[0].Address != "127.0.0.1" || g.Logs[0].Facility != "local2" {
		t.Errorf("global logs = %+v", g.Logs)
	}
	if len(g.StatsSockets) != 1 || g.StatsSockets[0].Address != "/var/lib/haproxy/stats" || g.StatsSockets[0].Level != "operator" {
		t.Errorf("stats sockets = %+v", g.StatsSockets)
	}
	fe := cfg.Frontend("http-in")
	if fe == nil || len(cfg.Frontends) != 1 || len(cfg.Backends) != 1 {
		t.Fatalf("frontends %d, backends %d", len(cfg.Frontends), len(cfg.Backends))
	}
	if fe.Binds[0].Addr != netip.MustParseAddrPort("127.0.0.1:80") || fe.Binds[0].Any {
		t.Errorf("bind = %+v", fe.Binds[0])
	}
	be := cfg.Backend("backend_servers")
	if fe.DefaultBackend != be {
		t.Errorf("default backend not linked")
	}
	// the frontend's own "option forwardfor" replaces the defaults' "except 127.0.0.0/8"
	if fe.ForwardFor == nil || fe.ForwardFor.Except.IsValid() || fe.ForwardFor.Header != "X-Forwarded-For" {
		t.Errorf("frontend forwardfor = %+v", fe.ForwardFor)
	}
	if be.ForwardFor == nil || be.ForwardFor.Except != netip.MustParsePrefix("127.0.0.0/8") {
		t.Errorf("backend forwardfor = %+v", be.ForwardFor)
	}
	if fe.MaxConn != 3000 || fe.ConnMode != config.HTTPServerClose || !fe.HTTPLog || !fe.DontLogNull || fe.Mode != config.ModeHTTP {
		t.Errorf("frontend = %+v", fe)
	}
	wantT := config.Timeouts{Connect: 10 * time.Second, Client: time.Minute, Server: time.Minute, Queue: time.Minute,
		HTTPRequest: 10 * time.Second, HTTPKeepAlive: 10 * time.Second, Check: 10 * time.Second, Tarpit: 10 * time.Second}
	if be.Timeouts != wantT {
		t.Errorf("backend timeouts = %+v, want %+v", be.Timeouts, wantT)
	}
	if !be.Redispatch || be.Retries != 3 || be.Balance.Algo != config.AlgoRoundRobin || len(be.Servers) != 2 {
		t.Errorf("backend = %+v", be)
	}
	s := be.Server("node02")
	if s == nil || s.Addr != netip.MustParseAddrPort("127.0.0.1:8082") || !s.Check.Enabled || s.Weight != 1 ||
		s.Check.Inter != config.DefaultInter || s.Check.Rise != config.DefaultRise || s.Check.Fall != config.DefaultFall {
		t.Errorf("node02 = %+v", s)
	}
	// warnings: daemon; no missing-timeout warning (the TLS defaults are used by no TLS bind)
	var msgs []string
	for _, w := range cfg.Warnings {
		msgs = append(msgs, w.Error())
	}
	want := []string{
		"testdata/seed-001.cfg:36: global: daemon: accepted, but tandem stays in the foreground",
	}
	if strings.Join(msgs, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
}

func TestSeed001StockConfigACLs(t *testing.T) {
	// CentOS's stock file, without the tutorial's sed: static files by path_beg or
	// path_end go to backend static, the rest to app.
	cfg := mustParseFiles(t, "testdata/seed-001-centos-stock.cfg")
	fe := cfg.Frontend("main")
	if fe == nil || len(fe.UseBackends) != 1 || fe.UseBackends[0].Backend != cfg.Backend("static") || fe.UseBackends[0].Cond == nil {
		t.Fatalf("frontend main: use_backends %+v", fe.UseBackends)
	}
	if got := fe.UseBackends[0].Cond.String(); got != "if url_static" {
		t.Errorf("condition %q", got)
	}
	if len(fe.ACLs.Lookup("url_static")) != 2 {
		t.Errorf("acl url_static: want two lines ORed")
	}
}

func TestSeed003(t *testing.T) {
	cfg := mustParseFiles(t, "testdata/seed-003.cfg")
	if cfg.Global.MaxConn != 50000 {
		t.Errorf("global maxconn = %d", cfg.Global.MaxConn)
	}
	st := cfg.Frontend("stats")
	if st == nil || !st.Listen || st.Stats == nil || st.Stats.URI != "/monitor" || st.Stats.Refresh != 5*time.Second {
		t.Fatalf("listen stats = %+v", st)
	}
	if st.DefaultBackend != cfg.Backend("stats") || !st.DefaultBackend.Listen || !st.Binds[0].Any || st.Binds[0].Addr.Port() != 8404 {
		t.Errorf("listen stats halves = %+v", st)
	}
	web := cfg.Frontend("haproxy_web")
	if web.MaxConn != 3000 || web.Timeouts.Client != 30*time.Second {
		t.Errorf("haproxy_web = %+v", web)
	}
	be := cfg.Backend("web_servers")
	if !be.Check.HTTP || be.Check.Method != "HEAD" || be.Check.URI != "/" || be.Check.Version != "HTTP/1.0" {
		t.Errorf("check = %+v", be.Check)
	}
	for _, s := range be.Servers {
		if s.MaxConn != 20 || !s.Check.Enabled {
			t.Errorf("server %s: default-server maxconn not applied: %+v", s.Name, s)
		}
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
}

func TestSeed003Cookies(t *testing.T) {
	ins := mustParseFiles(t, "testdata/seed-003-cookie-insert.cfg").Backend("web_servers")
	want := &config.Cookie{Name: "SERVERUSED", Mode: config.CookieInsert, Indirect: true, NoCache: true}
	if c := ins.Cookie; c == nil || c.Name != want.Name || c.Mode != want.Mode || !c.Indirect || !c.NoCache || c.Preserve {
		t.Errorf("insert cookie = %+v", ins.Cookie)
	}
	if ins.Server("server1").Cookie != "server1" || ins.Server("server2").Cookie != "server2" {
		t.Errorf("server cookies not set")
	}
	pre := mustParseFiles(t, "testdata/seed-003-cookie-prefix.cfg").Backend("web_servers")
	if c := pre.Cookie; c == nil || c.Name != "JSESSIONID" || c.Mode != config.CookiePrefix || !c.Indirect || !c.NoCache {
		t.Errorf("prefix cookie = %+v", pre.Cookie)
	}
}

func TestSeed004(t *testing.T) {
	cfg := mustParseFiles(t, "testdata/seed-004.cfg")
	ss := cfg.Global.StatsSockets
	if len(ss) != 1 || ss[0].Address != "/run/haproxy/admin.sock" || ss[0].Mode != 0o660 || ss[0].Level != "admin" {
		t.Errorf("stats socket = %+v", ss)
	}
	fe := cfg.Frontend("http_front")
	if fe.Timeouts.Connect != 5*time.Second || fe.Timeouts.Client != 50*time.Second || fe.MaxConn != config.DefaultMaxConn {
		t.Errorf("frontend = %+v", fe)
	}
	if len(fe.Logs) != 1 || !fe.Logs[0].Global {
		t.Errorf("frontend logs = %+v", fe.Logs)
	}
	be := cfg.Backend("http_back")
	if be.Check.Method != "GET" || be.Servers[1].Name != "web-2" || be.Servers[1].Addr.Port() != 8082 {
		t.Errorf("backend = %+v", be)
	}
}

func TestDebianStockConfig(t *testing.T) {
	cfg := mustParseFiles(t, "testdata/debian.cfg")
	if len(cfg.Global.Logs) != 2 || cfg.Global.Logs[1].Level != "notice" || cfg.Global.Logs[1].Facility != "local1" {
		t.Errorf("logs = %+v", cfg.Global.Logs)
	}
	if len(cfg.Frontends) != 0 || len(cfg.Backends) != 0 {
		t.Errorf("stock file has no proxies")
	}
	if len(cfg.Warnings) != 1 { // daemon (the TLS defaults are checked where a TLS bind uses them)
		t.Errorf("warnings (%d): %v", len(cfg.Warnings), cfg.Warnings)
	}
	// The defaults' errorfiles reach a proxy declared in a second file.
	extra := []byte("frontend web\n bind :8080\n default_backend app\nbackend app\n server a 127.0.0.1:8081\n")
	dir := t.TempDir()
	p := filepath.Join(dir, "extra.cfg")
	if err := os.WriteFile(p, extra, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg = mustParseFiles(t, "testdata/debian.cfg", p)
	fe := cfg.Frontend("web")
	want, _ := os.ReadFile("testdata/errors/503.http")
	if len(fe.ErrorFiles) != 7 || string(fe.ErrorFiles[503]) != string(want) || len(cfg.Backend("app").ErrorFiles) != 7 {
		t.Errorf("errorfiles: %d", len(fe.ErrorFiles))
	}
	if !fe.HTTPLog || !fe.DontLogNull || fe.Mode != config.ModeHTTP || fe.Timeouts.Server != 50*time.Second {
		t.Errorf("frontend from defaults = %+v", fe)
	}
}

func TestDebianConfigOnThisMachine(t *testing.T) {
	const path = "/etc/haproxy/haproxy.cfg"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not installed", path)
	}
	if _, err := ParseFiles([]string{path}, Options{Resolve: fakeResolver(nil)}); err != nil {
		t.Fatalf("Debian's stock config: %v", err)
	}
}

// checkErrors asserts that err is a config.ErrorList with exactly the messages want.
func checkErrors(t *testing.T, err error, want []string) {
	t.Helper()
	var list config.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %v (%T) is not a config.ErrorList; want:\n%s", err, err, strings.Join(want, "\n"))
	}
	var got []string
	for _, e := range list {
		got = append(got, e.Error())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestTestdataIsValidHAProxy checks the fixtures themselves with Debian's haproxy, when
// installed, so that "tandem accepts what HAProxy accepts" is tested on real configs.
func TestTestdataIsValidHAProxy(t *testing.T) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy not installed")
	}
	for _, name := range []string{"seed-001.cfg", "seed-003.cfg", "seed-003-cookie-insert.cfg", "seed-003-cookie-prefix.cfg", "seed-004.cfg", "debian.cfg"} {
		out, err := exec.Command(bin, "-c", "-f", filepath.Join("testdata", name)).CombinedOutput()
		if err != nil {
			t.Errorf("haproxy -c %s: %v\n%s", name, err, out)
		}
	}
}

// TestAgreesWithHAProxy parses testdata/compat/ok-*.cfg (both must accept),
// bad-*.cfg (both must reject) and strict-*.cfg (tandem rejects on purpose what
// HAProxy 2.6 accepts: the documented differences) with tandem and, when installed,
// with haproxy -c.
func TestAgreesWithHAProxy(t *testing.T) {
	files, err := filepath.Glob("testdata/compat/*.cfg")
	if err != nil || len(files) == 0 {
		t.Fatalf("no compat fixtures: %v", err)
	}
	bin, _ := exec.LookPath("haproxy")
	for _, path := range files {
		name := filepath.Base(path)
		wantOK := strings.HasPrefix(name, "ok-")
		haproxyOK := wantOK || strings.HasPrefix(name, "strict-")
		t.Run(name, func(t *testing.T) {
			_, err := ParseFiles([]string{path}, testOptions(nil))
			if (err == nil) != wantOK {
				t.Errorf("tandem: accepted=%v, want %v (%v)", err == nil, wantOK, err)
			}
			if bin == "" {
				return
			}
			out, err := exec.Command(bin, "-c", "-f", path).CombinedOutput()
			var exit *exec.ExitError
			if errors.As(err, &exit) && exit.ExitCode() == 2 && strings.Contains(string(out), "has no error") {
				err = nil // valid, but nothing to listen on
			}
			if (err == nil) != haproxyOK {
				t.Errorf("haproxy: accepted=%v, want %v:\n%s", err == nil, haproxyOK, out)
			}
		})
	}
	if bin == "" {
		t.Log("haproxy not installed: only tandem's side was checked")
	}
}
