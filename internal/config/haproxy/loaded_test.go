package haproxy

import (
	"strings"
	"testing"
	"time"

	"tandem/internal/config"
)

// TestLoadedAsHAProxy covers issue 10's "also refused today although HAProxy 2.6 loads
// them": each input is one testdata/compat/ok-*.cfg fixture as well (haproxy -c accepts
// it, see TestAgreesWithHAProxy); here the values and the warnings are checked.
func TestLoadedAsHAProxy(t *testing.T) {
	const head = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n"
	tests := []struct {
		name  string
		text  string
		check func(t *testing.T, cfg *config.Config)
		warn  string // a warning that must be given, "" for none on line 7
	}{
		{"bare balance is roundrobin", head + "backend b\n    balance static-rr\n    balance\n    server s 127.0.0.1:80\n",
			func(t *testing.T, cfg *config.Config) {
				if a := cfg.Backend("b").Balance.Algo; a != config.AlgoRoundRobin {
					t.Errorf("algo %v, want roundrobin", a)
				}
			}, ""},
		{"timeout client 15min is 15 minutes", "defaults\n    mode http\n    timeout connect 5s\n    timeout server 5s\nfrontend f\n    bind :80\n    timeout client 15min\n    default_backend b\nbackend b\n",
			func(t *testing.T, cfg *config.Config) {
				if d := cfg.Frontend("f").Timeouts.Client; d != 15*time.Minute {
					t.Errorf("timeout client %v, want 15m", d)
				}
			}, `t.cfg:7: frontend "f": timeout client: unexpected "in" after the time value in "15min", read as 15m0s (as HAProxy 2.6, which will refuse it in later versions): write "15m"`},
		{"inter 1s[ is one second", head + "backend b\n    server s 127.0.0.1:80 check inter 1s[\n",
			func(t *testing.T, cfg *config.Config) {
				if d := cfg.Backend("b").Servers[0].Check.Inter; d != time.Second {
					t.Errorf("inter %v, want 1s", d)
				}
			}, `t.cfg:7: backend "b": server "s": inter: unexpected "[" after the time value in "1s[", read as 1s (as HAProxy 2.6, which will refuse it in later versions): write "1s"`},
		{"a frontend without a backend answers 503", head + "frontend f\n    bind :80\n",
			func(t *testing.T, cfg *config.Config) {
				if f := cfg.Frontend("f"); f.DefaultBackend != nil || len(f.UseBackends) != 0 {
					t.Errorf("frontend has a backend: %+v", f)
				}
			}, `t.cfg:6: frontend "f": no backend: every HTTP request gets a 503 and every TCP connection is closed, as HAProxy does; add a default_backend line`},
		{"option httpchk with one argument is the URI", head + "backend b\n    option httpchk GET\n    server s 127.0.0.1:80 check\n",
			func(t *testing.T, cfg *config.Config) {
				c := cfg.Backend("b").Check
				if !c.HTTP || c.Method != "OPTIONS" || c.URI != "GET" || c.Version != "HTTP/1.0" {
					t.Errorf("check %s %s %s (http %v), want HAProxy's OPTIONS GET HTTP/1.0", c.Method, c.URI, c.Version, c.HTTP)
				}
			}, `t.cfg:7: backend "b": option httpchk: URI "GET" does not start with "/": the check sends "OPTIONS GET HTTP/1.0", as HAProxy does (a single argument is the URI; for a GET, write "option httpchk GET /")`},
		{"stats realm keeps its first word", head + "listen st\n    stats realm Hello World\n    bind :8404\n    stats enable\n",
			func(t *testing.T, cfg *config.Config) {
				if r := cfg.Frontend("st").Stats.Realm; r != "Hello" {
					t.Errorf("realm %q, want HAProxy's %q", r, "Hello")
				}
			}, `t.cfg:7: listen "st": stats realm: only the first word is used, as HAProxy does (the realm is "Hello"): quote the realm or escape its spaces to keep them`},
		{"description", head + "frontend f\n    description public  site\n    bind :80\n    default_backend b\nbackend b\n",
			nil, `t.cfg:7: frontend "f": description is accepted but not shown by tandem yet (its stats page has no description)`},
		{"stats show-desc", head + "listen st\n    stats show-desc the pool\n    bind :8404\n",
			nil, `t.cfg:7: listen "st": stats show-desc is accepted but tandem's stats page shows no description yet`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("t.cfg", []byte(tt.text), testOptions(nil))
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tt.check != nil {
				tt.check(t, cfg)
			}
			got := warnings(cfg)
			found := tt.warn == ""
			for _, w := range got {
				found = found || w == tt.warn
			}
			if !found {
				t.Errorf("warnings:\n%s\nwant among them:\n%s", strings.Join(got, "\n"), tt.warn)
			}
		})
	}
}

// TestUnsetVariableIsNamed: HAProxy expands an unset "$VAR" to an empty string; when
// that makes a line invalid, the error names the variable instead of only `invalid port ""`.
func TestUnsetVariableIsNamed(t *testing.T) {
	text := "frontend f\n    bind \":$FE_PORT\"\n    bind \"127.0.0.1:${FE_PORT-8080}\"\n    bind \"$FE_HOST:$FE_PORT\"\n"
	_, err := Parse("t.cfg", []byte(text), testOptions(nil))
	checkErrors(t, err, []string{
		`t.cfg:2: frontend "f": bind: invalid port "" (environment variable "FE_PORT" is not set: it expands to an empty string; set it, or write ${NAME-default})`,
		`t.cfg:4: frontend "f": bind: invalid port "" (environment variables "FE_HOST", "FE_PORT" are not set: they expand to empty strings; set them, or write ${NAME-default})`,
	})
	// A line the empty value leaves valid is taken, as HAProxy does ("127.0.0.1:" has no
	// port: the client's), with a warning HAProxy does not give.
	cfg, err := Parse("t.cfg", []byte("backend b\n    timeout connect 1s\n    timeout server 1s\n    server s \"127.0.0.1:$SRV_PORT\"\n"), testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := `t.cfg:4: backend "b": environment variable "SRV_PORT" is not set: it expands to an empty string; set it, or write ${NAME-default}`
	if got := warnings(cfg); strings.Join(got, "\n") != want {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
	if p := cfg.Backend("b").Servers[0].Addr.Port(); p != 0 {
		t.Errorf("port %d, want 0 (the client's)", p)
	}
}

// TestServerWithoutPort: HAProxy 2.6 takes "server NAME ADDR" and connects to the port
// the client connected to (port 0 in the model); checks then need "port N". An address
// "*", "" or 0.0.0.0 is the address the client connected to (0.0.0.0 in the model).
func TestServerWithoutPort(t *testing.T) {
	text := "defaults\n    timeout connect 1s\n    timeout server 1s\n    timeout client 1s\nbackend b\n" +
		"    server a 192.0.2.1 check port 80\n    server b [2001:db8::1]\n    server c 192.0.2.3:\n    server d 192.0.2.4:8080\n" +
		"    server e *:81\n    server f :82\n    server g 0.0.0.0:83\n    server h \"$NOT_SET:\"\n"
	cfg, err := Parse("t.cfg", []byte(text), testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"192.0.2.1:0", "[2001:db8::1]:0", "192.0.2.3:0", "192.0.2.4:8080", "0.0.0.0:81", "0.0.0.0:82", "0.0.0.0:83", "0.0.0.0:0"}
	for i, s := range cfg.Backend("b").Servers {
		if s.Addr.String() != want[i] {
			t.Errorf("server %s: %s, want %s", s.Name, s.Addr, want[i])
		}
	}
	if c := cfg.Backend("b").Servers[0].Check; !c.Enabled || c.Port != 80 {
		t.Errorf("check %+v, want enabled on port 80", c)
	}
	// The first tcp-check rule may give the port instead (written after the servers).
	text = "defaults\n    timeout connect 1s\n    timeout server 1s\n    timeout client 1s\nbackend b\n    mode tcp\n" +
		"    server a 192.0.2.1 check\n    option tcp-check\n    tcp-check connect port 6443\n"
	if _, err := Parse("t.cfg", []byte(text), testOptions(nil)); err != nil {
		t.Errorf("tcp-check connect port: %v", err)
	}
}

// TestMissingFinalNewline: HAProxy 2.6 refuses a file whose last line has no newline
// ("Missing LF on last line, file might have been truncated"); so does tandem.
func TestMissingFinalNewline(t *testing.T) {
	files := map[string]string{
		"cut.cfg":   "backend b\n    server s 127.0.0.1:80\n    retries 3",
		"whole.cfg": "backend b2\n    server s 127.0.0.1:80\n",
		"blank.cfg": "backend b3\n    server s 127.0.0.1:80\n   ",
	}
	opt := testOptions(nil)
	opt.ReadFile = func(p string) ([]byte, error) { return []byte(files[p]), nil }
	_, err := ParseFiles([]string{"cut.cfg", "whole.cfg", "blank.cfg"}, opt)
	checkErrors(t, err, []string{
		"cut.cfg:3: missing newline at the end of the last line: the file may have been truncated (HAProxy 2.6 refuses it too); check its end and add a newline",
		"blank.cfg:3: missing newline at the end of the last line: the file may have been truncated (HAProxy 2.6 refuses it too); check its end and add a newline",
	})
}

// TestStatsInBackend: HAProxy 2.6 takes stats lines in a backend; the page answers the
// requests that reach the backend (the daemon's TestStatsInBackend serves it).
func TestStatsInBackend(t *testing.T) {
	const head = "defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n"
	cfg, err := Parse("t.cfg", []byte(head+"backend app\n    stats enable\n    stats uri /st\n    stats realm Pool\n    server s 127.0.0.1:80\n"), testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Backend("app").Stats; s == nil || s.URI != "/st" || s.Realm != "Pool" || s.Pos.Line != 7 {
		t.Errorf("backend stats %+v", s)
	}
	cfg, err = Parse("t.cfg", []byte(head+"backend app\n    mode tcp\n    stats enable\n"), testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Backend("app").Stats != nil || !strings.Contains(strings.Join(warnings(cfg), "\n"), "stats is ignored in mode tcp") {
		t.Errorf("mode tcp backend: stats %+v, warnings %q", cfg.Backend("app").Stats, warnings(cfg))
	}
}

// TestBindProcess: HAProxy 2.6 takes "bind-process" and "stats bind-process" for process 1
// (no effect, one process) and refuses other processes (checked with haproxy -c).
func TestBindProcess(t *testing.T) {
	for _, v := range []string{"all", "odd", "even", "1", "1-1", "1-", "1 all"} {
		text := "global\n    stats bind-process " + v + "\nbackend b\n    bind-process " + v + "\n    server s 127.0.0.1:80\n"
		cfg, err := Parse("t.cfg", []byte(text), testOptions(nil))
		if err != nil {
			t.Errorf("%q: %v", v, err)
			continue
		}
		w := strings.Join(warnings(cfg), "\n")
		if !strings.Contains(w, "t.cfg:2: global: stats bind-process has no effect") || !strings.Contains(w, `t.cfg:4: backend "b": bind-process has no effect`) {
			t.Errorf("%q: warnings %s", v, w)
		}
	}
	for _, v := range []string{"-1", "0", "2", "1-2", "1/1", "1/all"} {
		_, err := Parse("t.cfg", []byte("backend b\n    bind-process "+v+"\n"), testOptions(nil))
		if err == nil || !strings.Contains(err.Error(), "is not a valid process number or range") {
			t.Errorf("bind-process %q: %v, want refused", v, err)
		}
	}
}

// TestTimeJunkWarnsEverywhere: every time value warns about characters after its unit,
// as HAProxy 2.6's time parser does wherever it reads one.
func TestTimeJunkWarnsEverywhere(t *testing.T) {
	text := "global\n    hard-stop-after 1mn\n    stats timeout 2sx\n" +
		"defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n" +
		"listen l\n    bind :80\n    stats enable\n    stats refresh 3ss\n    cookie C insert maxidle 4hx\n    server s 127.0.0.1:80 cookie s check fastinter 5s. slowstart 6mz\n"
	cfg, err := Parse("t.cfg", []byte(text), testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(warnings(cfg), "\n")
	for _, want := range []string{`t.cfg:2: global: hard-stop-after: unexpected "n"`, `t.cfg:3: global: stats timeout: unexpected "x"`,
		`t.cfg:12: listen "l": stats refresh: unexpected "s"`, `t.cfg:13: listen "l": cookie "C": maxidle: unexpected "x"`,
		`t.cfg:14: listen "l": server "s": fastinter: unexpected "."`, `t.cfg:14: listen "l": server "s": slowstart: unexpected "z"`} {
		if !strings.Contains(w, want) {
			t.Errorf("no warning %s in:\n%s", want, w)
		}
	}
	if g := cfg.Global; g.HardStopAfter != time.Minute || g.StatsTimeout != 2*time.Second {
		t.Errorf("hard-stop-after %v, stats timeout %v", g.HardStopAfter, g.StatsTimeout)
	}
}
