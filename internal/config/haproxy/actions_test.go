package haproxy

import (
	"strings"
	"testing"

	"tandem/internal/rules"
)

const actionsHead = "defaults d\n    mode http\n    timeout client 1s\n    timeout server 1s\n    timeout connect 1s\n"

func TestActionsParse(t *testing.T) {
	cfg := mustParse(t, actionsHead+`
userlist L1
    group G1
    user bob insecure-password secret groups G1
http-errors myerrs
    errorfile 503 /etc/haproxy/errors/503.http
frontend f
    bind :80
    acl api path_beg /api
    monitor-uri /health
    monitor fail if { nbsrv(b) lt 1 }
    http-request deny deny_status 429 if api { src 10.0.0.0/8 }
    http-request set-header X-Proto http
    http-request auth realm Admin if { path_beg /admin } !{ http_auth(L1) }
    http-request return status 503 errorfiles myerrs if { path /down }
    http-response set-header Strict-Transport-Security max-age=1
    http-after-response add-header X-After 1
    redirect scheme https code 301 if { hdr(host) -i secure.example }
    errorloc303 403 /forbidden
    errorfiles myerrs
    use_backend b if api
    default_backend b
backend b
    http-request set-path /v1%[path]
    http-response del-header Server
    server s 127.0.0.1:8080
`, nil)
	fe, be := cfg.Frontend("f"), cfg.Backend("b")
	if n := len(fe.Rules.Request); n != 4 {
		t.Errorf("frontend http-request rules: %d", n)
	}
	if fe.Rules.Request[0].Action != rules.Deny || fe.Rules.Request[0].Reply.Status != 429 || fe.Rules.Request[0].Line != 17 {
		t.Errorf("first rule %+v", fe.Rules.Request[0])
	}
	if r := fe.Rules.Request[3].Reply; r.Kind != rules.ReplyRaw || !strings.HasPrefix(string(r.Raw), "HTTP/") {
		t.Errorf("errorfiles reply not resolved: %+v", r)
	}
	if len(fe.Rules.Response) != 1 || len(fe.Rules.AfterResponse) != 1 || len(fe.Rules.Redirect) != 1 {
		t.Errorf("rules %+v", fe.Rules)
	}
	if fe.MonitorURI != "/health" || len(fe.MonitorFail) != 1 {
		t.Errorf("monitor: %q %d", fe.MonitorURI, len(fe.MonitorFail))
	}
	if !strings.Contains(string(fe.ErrorFiles[403]), "location: /forbidden") || fe.ErrorFiles[503] == nil {
		t.Errorf("error pages: %q", fe.ErrorFiles[403])
	}
	if len(be.Rules.Request) != 1 || len(be.Rules.Response) != 1 {
		t.Errorf("backend rules %+v", be.Rules)
	}
}

func TestActionsInheritFromNamedDefaults(t *testing.T) {
	cfg := mustParse(t, actionsHead+"    http-request set-header X-D 1\nfrontend f\n    bind :80\n    http-request set-header X-F 1\n    default_backend b\ndefaults plain\n    mode http\nbackend b\n    server s 127.0.0.1:8080\n", nil)
	rs := cfg.Frontend("f").Rules.Request
	if len(rs) != 2 || rs[0].Name != "X-D" || rs[1].Name != "X-F" {
		t.Errorf("inherited rules must come first: %+v", rs)
	}
	if n := len(cfg.Backend("b").Rules.Request); n != 0 {
		t.Errorf("backend under another defaults got %d rules", n)
	}
}

func TestActionsErrors(t *testing.T) {
	for _, tc := range []struct{ name, cfg, want string }{
		{"anonymous defaults", "defaults\n    mode http\n    http-request deny\n", `t.cfg:3: defaults: keyword "http-request" is not allowed in an anonymous defaults section`},
		{"frontend and backend share rule defaults", actionsHead + "    http-request deny\nfrontend f\n    bind :80\n    default_backend b\nbackend b\n    server s 127.0.0.1:1\n",
			"frontends and backends cannot inherit from the same defaults section"},
		{"defaults from a defaults section with rules", actionsHead + "    http-request deny\ndefaults e from d\n    mode http\nfrontend f\n    bind :80\n    default_backend b\nbackend b\n    server s 127.0.0.1:1\n",
			`t.cfg:7: defaults "e": a defaults section cannot inherit from a defaults section defining HTTP rules`},
		{"listen inherits rules", actionsHead + "    http-request deny\nlisten l\n    bind :80\n    server s 127.0.0.1:1\n",
			"a listen section cannot inherit from a defaults section defining HTTP rules"},
		{"bad action with line", actionsHead + "frontend f\n    bind :80\n    http-request frob\n    default_backend b\nbackend b\n    server s 127.0.0.1:1\n",
			`t.cfg:8: frontend "f": http-request: unknown action "frob"`},
		{"track-sc without a table", actionsHead + "frontend f\n    bind :80\n    http-request track-sc0 src\n    default_backend b\nbackend b\n    server s 127.0.0.1:1\n",
			`t.cfg:8: frontend "f": track-sc0: "f" has no stick-table`},
		{"redirect in defaults", actionsHead + "    redirect location /\n", `keyword "redirect" is not allowed in a defaults section`},
		{"unknown userlist", actionsHead + "frontend f\n    bind :80\n    http-request auth unless { http_auth(nope) }\n    default_backend b\nbackend b\n    server s 127.0.0.1:1\n",
			`t.cfg:8: frontend "f": no userlist section named "nope"`},
		{"user with an unknown group", "userlist L\n    user u insecure-password p groups G\n", `userlist "L": no such group "G" specified in user "u"`},
		{"yescrypt refused", "userlist L\n    user u password $y$j9T$abc$def\n", "yescrypt ($y$) is not supported by tandem"},
		{"unknown http-errors", actionsHead + "frontend f\n    bind :80\n    errorfiles nope\n    default_backend b\nbackend b\n    server s 127.0.0.1:1\n",
			`t.cfg:8: frontend "f": errorfiles: no http-errors section named "nope"`},
		{"http-errors bad line", "http-errors e\n    errorfile 999 /x\n", `t.cfg:2: http-errors "e": errorfile: status code "999"`},
		{"response action in request", actionsHead + "frontend f\n    bind :80\n    http-request set-status 200\n    default_backend b\nbackend b\n    server s 127.0.0.1:1\n",
			"not allowed in http-request rules"},
		{"capture in a backend", actionsHead + "frontend f\n    bind :80\n    default_backend b\nbackend b\n    http-request capture req.hdr(host) len 10\n    server s 127.0.0.1:1\n",
			"http-request capture: in a backend section it is not supported by tandem"},
		{"a section after a userlist ends it", "userlist L\n    user u insecure-password p\nresolvers dns\n    nameserver a 127.0.0.1:53\n",
			`t.cfg:3: section "resolvers" is not supported by tandem`},
		{"monitor fail without condition", actionsHead + "frontend f\n    bind :80\n    monitor fail\n    default_backend b\nbackend b\n    server s 127.0.0.1:1\n",
			"monitor fail: expects"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.cfg", []byte(tc.cfg), testOptions(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestFrontendAnsweringEverythingNeedsNoBackend(t *testing.T) {
	mustParse(t, actionsHead+"frontend f\n    bind :80\n    http-request redirect scheme https\n", nil)
	mustParse(t, actionsHead+"frontend f\n    bind :80\n    monitor-uri /h\n", nil)
}
