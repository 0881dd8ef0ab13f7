package httpproxy

import (
	"bufio"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"sync"
	"tandem/internal/stick"
	"testing"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/config/haproxy"
)

// namedServer answers every request with its name in the body and in X-Server.
func namedServer(t testing.TB, name string) string {
	body := name
	resp := []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nX-Server: %s\r\nContent-Length: %d\r\n\r\n%s", name, len(body), body))
	addr, _ := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			req.Body.Close()
			if _, err := c.Write(resp); err != nil {
				return
			}
		}
	})
	return addr
}

// rulesProxy parses text (where {NAME} is the address of a named test server) and serves
// its frontend "fe" on loopback (its bind line is not used).
// serveOn serves ln with h until the test ends, then closes both and waits for the
// connections.
func serveOn(t testing.TB, h *Handler, ln net.Listener) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); h.ServeConn(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); h.Close(); wg.Wait() })
}

func rulesProxy(t testing.TB, text string, files map[string]string, servers ...string) (*Handler, string) {
	t.Helper()
	for _, s := range servers {
		text = strings.ReplaceAll(text, "{"+s+"}", namedServer(t, s))
	}
	cfg, err := haproxy.Parse("t.cfg", []byte(text), haproxy.Options{
		ReadFile: func(p string) ([]byte, error) {
			if s, ok := files[p]; ok {
				return []byte(s), nil
			}
			return nil, fs.ErrNotExist
		},
		LookupEnv: func(string) (string, bool) { return "", false },
	})
	if err != nil {
		t.Fatal(err)
	}
	states := backend.NewStates()
	pools := map[string]*backend.Pool{}
	for _, b := range cfg.Backends {
		pools[b.Name] = backend.New(b, states)
	}
	fe := cfg.Frontend("fe")
	var def *backend.Pool
	if fe.DefaultBackend != nil {
		def = pools[fe.DefaultBackend.Name]
	}
	tables := map[string]*stick.Table{}
	for _, st := range cfg.Tables {
		tables[st.Def.Name] = stick.New(st.Def, time.Now())
	}
	h := NewHandler(&Route{Frontend: fe, Backends: pools, Default: def, Global: &cfg.Global, Tables: tables}, testLogger(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, h, ln)
	return h, ln.Addr().String()
}

const rulesCfg = `defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:1
    acl host_b hdr(host),field(1,:) -i b.example
    acl api path_beg /api/
    acl static path_end .css .js
    acl static path_beg /static/
    use_backend be_b if host_b
    use_backend be_api if api !host_b
    use_backend %[req.hdr(x-backend),lower,map(/m/be.map)] if { req.hdr(x-backend) -m found }
    use_backend be_static if static || { url_param(static) 1 }
    default_backend be_a
backend be_a
    server a {a}
backend be_b
    server b {b}
backend be_api
    server api {api}
backend be_static
    server static {static}
`

// TestUseBackendRouting: requests go to the backend the first matching rule names, by
// Host, by path_beg, by a dynamic name from a map, else to default_backend; the server
// that answered says which.
func TestUseBackendRouting(t *testing.T) {
	_, addr := rulesProxy(t, rulesCfg, map[string]string{"/m/be.map": "blue be_b\ngreen be_api\nred be_nope\n"},
		"a", "b", "api", "static")
	cl := &http.Client{Timeout: 5 * time.Second}
	for _, tc := range []struct {
		host, path, xbe, want string
	}{
		{"a.example", "/", "", "a"},
		{"b.example", "/", "", "b"},
		{"B.Example:8080", "/api/x", "", "b"},
		{"a.example", "/api/x", "", "api"},
		{"a.example", "/apix", "", "a"},
		{"a.example", "/x/app.css", "", "static"},
		{"a.example", "/static/x", "", "static"},
		{"a.example", "/x?static=1", "", "static"},
		{"a.example", "/x?static=2", "", "a"},
		{"a.example", "/", "BLUE", "b"},
		{"a.example", "/", "green", "api"},
		{"a.example", "/static/x", "red", "a"},     // names no backend: default_backend, later rules not tried
		{"a.example", "/static/x", "unknown", "a"}, // not in the map: empty name, default_backend
	} {
		req, _ := http.NewRequest("GET", "http://"+addr+tc.path, nil)
		req.Host = tc.host
		if tc.xbe != "" {
			req.Header.Set("X-Backend", tc.xbe)
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatalf("%s%s: %v", tc.host, tc.path, err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Server"); got != tc.want {
			t.Errorf("Host %s %s X-Backend %q: served by %q, want %q", tc.host, tc.path, tc.xbe, got, tc.want)
		}
	}
}

// TestUseBackendNoDefault: with only conditional rules and no default_backend, a request
// no rule picks gets a 503 (it does not go to the first rule's backend).
func TestUseBackendNoDefault(t *testing.T) {
	text := "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n" +
		"frontend fe\n    bind 127.0.0.1:1\n    use_backend be_a if { path_beg /a }\nbackend be_a\n    server a {a}\n"
	_, addr := rulesProxy(t, text, nil, "a")
	for path, want := range map[string]int{"/a": 200, "/b": 503} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

// TestRulesKeepAliveZeroAllocs: evaluating use_backend rules (header, path, a source
// list, a map) on the keep-alive path allocates nothing.
func TestRulesKeepAliveZeroAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts need a normal build (-race allocates)")
	}
	a, b := fastServer(t), fastServer(t)
	text := "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n" +
		"frontend fe\n    bind 127.0.0.1:1\n" +
		"    acl other hdr(host) -i other.example\n" +
		"    acl blocked src -f /m/nets.lst\n" +
		"    use_backend be_b if other || blocked\n" +
		"    use_backend be_b if { path_beg /api/ } { hdr(user-agent) -m sub bot }\n" +
		"    use_backend %[req.hdr(host),lower,map(/m/be.map)] if { req.hdr(host) -m found }\n" +
		"    default_backend be_a\n" +
		"backend be_a\n    server a " + a + "\nbackend be_b\n    server b " + b + "\n"
	var nets strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&nets, "10.%d.%d.0/24\n", i/250, i%250)
	}
	h, addr := rulesProxy(t, text, map[string]string{"/m/nets.lst": nets.String(), "/m/be.map": "bench be_b\n"})
	if rs := h.route.Load(); rs.rules == nil || rs.pool != nil {
		t.Fatal("the route does not evaluate rules per request")
	}
	k := newKAClient(t, addr, len(fixedResponse))
	for i := 0; i < 50; i++ {
		if err := k.do(); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(500, func() {
		if err := k.do(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0.05 {
		t.Fatalf("%v allocations per request with rules, want 0", allocs)
	}
}

// TestUnconditionalRuleCostsNothing: a frontend whose first use_backend always applies
// has one pool and no rule to evaluate.
func TestUnconditionalRuleCostsNothing(t *testing.T) {
	be := &config.Backend{Name: "b", Mode: config.ModeHTTP}
	pool := backend.New(be, backend.NewStates())
	fe := &config.Frontend{Name: "fe", Mode: config.ModeHTTP, UseBackends: []config.UseBackend{{Backend: be}}}
	rs := newRouteState(&Route{Frontend: fe, Backends: map[string]*backend.Pool{"b": pool}}, map[int]*sync.Pool{})
	if rs.pool != pool || rs.rules != nil {
		t.Errorf("pool %p rules %v, want the pool and no rule", rs.pool, rs.rules)
	}
}
