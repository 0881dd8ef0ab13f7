package haproxy

import (
	"strings"
	"testing"
)

// base is a valid configuration the error cases append to (lines 1-9).
const base = `defaults
    mode http
    timeout connect 5s
    timeout client 50s
    timeout server 50s
frontend web
    bind 127.0.0.1:8080
    default_backend app
backend app
`

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  string
		want []string
	}{
		{"misspelled server option", base + "    server s1 127.0.0.1:80 wieght 3\n",
			[]string{`t.cfg:10: backend "app": server "s1": unknown keyword "wieght" (did you mean "weight"?)`}},
		{"misspelled keyword", base + "    balanse roundrobin\n    server s1 127.0.0.1:80\n",
			[]string{`t.cfg:10: backend "app": unknown keyword "balanse" (did you mean "balance"?)`}},
		{"misspelled option", base + "    option forwardfr\n    server s1 127.0.0.1:80\n",
			[]string{`t.cfg:10: backend "app": unknown keyword "option forwardfr" (did you mean "option forwardfor"?)`}},
		{"misspelled timeout", base + "    timeout sever 5s\n    server s1 127.0.0.1:80\n",
			[]string{`t.cfg:10: backend "app": unknown keyword "timeout sever" (did you mean "timeout server"?)`}},
		{"no suggestion when far", base + "    frobnicate 3\n    server s1 127.0.0.1:80\n",
			[]string{`t.cfg:10: backend "app": unknown keyword "frobnicate"`}},
		{"proxy keyword in global", "global\n    balance roundrobin\n",
			[]string{`t.cfg:2: global: keyword "balance" is not allowed in a global section (allowed in: defaults, listen, backend)`}},
		{"global keyword in a proxy", base + "    nbthread 2\n",
			[]string{`t.cfg:10: backend "app": keyword "nbthread" is not allowed in a backend section (allowed in: global)`}},
		{"bind in defaults", "defaults\n    bind :80\n",
			[]string{`t.cfg:2: defaults: keyword "bind" is not allowed in a defaults section (allowed in: frontend, listen)`}},
		{"server in frontend", "frontend f\n bind :80\n server s 127.0.0.1:80\n",
			[]string{`t.cfg:3: frontend "f": keyword "server" is not allowed in a frontend section (allowed in: listen, backend)`}},
		{"unsupported keyword", base + "    compression algo gzip\n    server s1 127.0.0.1:80\n",
			[]string{`t.cfg:10: backend "app": keyword "compression" is not supported by tandem (remove the line, or keep HAProxy for this file)`}},
		{"unsupported option", base + "    option abortonclose\n    server s1 127.0.0.1:80\n",
			[]string{`t.cfg:10: backend "app": keyword "option abortonclose" is not supported by tandem (remove the line, or keep HAProxy for this file)`}},
		{"unsupported server option", base + "    server s1 127.0.0.1:80 send-proxy-v2-ssl-cn\n",
			[]string{`t.cfg:10: backend "app": server "s1": keyword "send-proxy-v2-ssl-cn" is not supported by tandem (remove it, or keep HAProxy for this file)`}},
		{"unsupported global", "global\n    nbproc 2\n    ulimit-n 100\n",
			[]string{`t.cfg:2: global: keyword "nbproc" was removed in HAProxy 2.5 (HAProxy 2.6 refuses it too): delete the line (threads are used; "nbthread" sets how many)`,
				`t.cfg:3: global: keyword "ulimit-n" is not supported by tandem (remove the line, or keep HAProxy for this file)`}},
		{"unknown global with suggestion", "global\n    maxcon 10\n",
			[]string{`t.cfg:2: global: unknown keyword "maxcon" (did you mean "maxconn"?)`}},
		{"unsupported section", "resolvers dns\n    nameserver a 127.0.0.1:53\nglobal\n    maxconn 1\n",
			[]string{`t.cfg:1: section "resolvers" is not supported by tandem (planned: operations, issue 13; until then keep HAProxy for this file)`}},
		{"keyword outside section", "maxconn 10\nglobl\n",
			[]string{`t.cfg:1: unknown keyword "maxconn" outside of any section`, `t.cfg:2: unknown keyword "globl" outside of any section (did you mean "global"?)`}},
		{"bind option", "frontend f\n    bind :443 accept-netscaler-cip 1234\n    default_backend b\nbackend b\n",
			[]string{`t.cfg:2: frontend "f": bind option "accept-netscaler-cip" is not supported by tandem`}},
		{"bind crt missing", "frontend f\n    bind :443 ssl crt /x.pem\n    default_backend b\nbackend b\n",
			[]string{`t.cfg:2: frontend "f": bind: crt: /x.pem: no such file or directory`}},
		{"bind unknown option", "frontend f\n    bind :443 fancy\n    default_backend b\nbackend b\n",
			[]string{`t.cfg:2: frontend "f": unknown bind option "fancy"`}},
		{"bind port range", "frontend f\n    bind :80-81\n    default_backend b\nbackend b\n",
			[]string{`t.cfg:2: frontend "f": bind: port ranges ("80-81") are not supported by tandem`}},
		{"bind bad port", "frontend f\n    bind 127.0.0.1:99999,127.0.0.1\n    default_backend b\nbackend b\n",
			[]string{`t.cfg:2: frontend "f": bind: invalid port "99999"`, `t.cfg:2: frontend "f": bind: "127.0.0.1": missing port`}},
		{"use_backend with an unknown acl", base + "    server s1 127.0.0.1:80\nfrontend g\n    bind :81\n    use_backend app if nope\n",
			[]string{`t.cfg:13: frontend "g": use_backend app: no such ACL : "nope"`}},
		{"missing backend with suggestion", "frontend f\n    bind :80\n    default_backend ap\nbackend app\n",
			[]string{`t.cfg:3: frontend "f": default_backend "ap": no such backend (did you mean "app"?)`}},
		{"mode mismatch", "frontend f\n    mode http\n    bind :80\n    default_backend b\nbackend b\n    mode tcp\n",
			[]string{`t.cfg:4: frontend "f": default_backend "b": backend is in tcp mode but the frontend is in http mode (an http frontend can only use http backends)`}},
		{"no bind", "frontend f\n    default_backend b\nbackend b\n",
			[]string{`t.cfg:1: frontend "f": no bind line (a frontend must listen somewhere; use a backend section for a pool of servers)`}},
		{"duplicate server", base + "    server s1 127.0.0.1:80\n    server s1 127.0.0.1:81\n",
			[]string{`t.cfg:11: backend "app": server "s1": another server with this name was defined at line 10`}},
		{"duplicate proxy", base + "listen app\n    bind :81\n",
			[]string{`t.cfg:10: listen "app": a backend with this name was already defined at t.cfg:9`}},
		{"weight out of range", base + "    server s1 127.0.0.1:80 weight 257\n",
			[]string{`t.cfg:10: backend "app": server "s1": weight: 257 is out of range [0..256]`}},
		{"server without port, checked without a check port", base + "    server s1 127.0.0.1 check\n",
			[]string{`t.cfg:10: backend "app": server "s1": a server without a port (it takes the client's) needs "port N" for its checks, or a first "tcp-check connect port N" (HAProxy 2.6 refuses it too)`}},
		{"unresolvable server", base + "    server s1 nowhere.example:80\n",
			[]string{`t.cfg:10: backend "app": server "s1": could not resolve address "nowhere.example"`}},
		{"server option needs argument", base + "    server s1 127.0.0.1:80 check inter\n",
			[]string{`t.cfg:10: backend "app": server "s1": "inter" needs an argument`}},
		{"bad time", base + "    timeout queue 5x\n",
			[]string{`t.cfg:10: backend "app": timeout queue: invalid unit "x" in time "5x" (expected us, ms, s, m, h or d)`}},
		{"cookie modes", base + "    cookie SRV insert prefix\n",
			[]string{`t.cfg:10: backend "app": cookie "SRV": the rewrite, insert and prefix modes are incompatible`}},
		{"cookie passive", base + "    cookie SRV\n",
			[]string{`t.cfg:10: backend "app": cookie "SRV": passive mode (no insert, prefix or rewrite) is not supported by tandem`}},
		{"cookie preserve", base + "    cookie SRV prefix preserve\n",
			[]string{`t.cfg:10: backend "app": cookie "SRV": preserve requires insert or indirect`}},
		{"balance unknown", base + "    balance roundrobn\n",
			[]string{`t.cfg:10: backend "app": unknown balance algorithm "roundrobn" (did you mean "roundrobin"?)`}},
		{"balance options", base + "    balance uri whole\n",
			[]string{`t.cfg:10: backend "app": balance uri: option "whole" is not supported by tandem`}},
		{"mode unknown", base + "    mode htp\n",
			[]string{`t.cfg:10: backend "app": unknown mode "htp" (expected http or tcp)`}},
		{"log facility", "global\n    log /dev/log local9\n",
			[]string{`t.cfg:2: global: log /dev/log: unknown facility "local9" (did you mean "local0"?)`}},
		{"log level", "global\n    log 127.0.0.1:514 local0 loud\n",
			[]string{`t.cfg:2: global: log 127.0.0.1:514: unknown level "loud" (expected one of emerg, alert, crit, err, warning, notice, info, debug)`}},
		{"log global in global", "global\n    log global\n",
			[]string{`t.cfg:2: global: "log global" is only meaningful in a proxy`}},
		{"errorfile missing", base + "    errorfile 503 /nonexistent/503.http\n",
			[]string{`t.cfg:10: backend "app": errorfile 503: cannot read "/nonexistent/503.http": no such file or directory`}},
		{"errorfile code", base + "    errorfile 299 testdata/errors/503.http\n",
			[]string{`t.cfg:10: backend "app": errorfile: status code "299" is not one HAProxy can answer with`}},
		{"stats socket level", "global\n    stats socket /run/x.sock mode 0660 level root\n",
			[]string{`t.cfg:2: global: stats socket: level "root" (expected user, operator or admin)`}},
		{"stats socket mode", "global\n    stats socket /run/x.sock mode 0980\n",
			[]string{`t.cfg:2: global: stats socket: mode "0980" is not an octal file mode`}},
		{"stats admin condition", "listen st\n    mode http\n    bind :8404\n    stats enable\n    stats admin if { src 10.0.0.0/8 }\n",
			[]string{`t.cfg:5: listen "st": stats admin: only "if TRUE" and "if LOCALHOST" are supported yet`}},
		{"stats admin without condition", "listen st\n    mode http\n    bind :8404\n    stats admin\n",
			[]string{`t.cfg:4: listen "st": stats admin expects "if CONDITION"`}},
		{"httpchk version", base + "    option httpchk GET / HTTP2\n",
			[]string{`t.cfg:10: backend "app": option httpchk: invalid version "HTTP2" (expected HTTP/1.0 or HTTP/1.1)`}},
		{"http-check expect", base + "    http-check expect stat 200\n",
			[]string{`t.cfg:10: backend "app": http-check expect: unknown match "stat" (did you mean "status"?)`}},
		{"no on a plain keyword", base + "    no balance\n",
			[]string{`t.cfg:10: backend "app": keyword "balance" cannot be prefixed with "no"`}},
		{"unmatched quote", "global\n    pidfile \"/run/x.pid\n",
			[]string{`t.cfg:2: unmatched quote at column 13`}},
		{"bad env name", "global\n    pidfile \"${1X}\"\n",
			[]string{`t.cfg:2: forbidden first char in environment variable name at column 16`}},
		{"unknown from", "defaults base\n    mode http\nfrontend f from bse\n    bind :80\n    default_backend b\nbackend b\n",
			[]string{`t.cfg:3: frontend "f": no defaults section named "bse" before this line (did you mean "base"?)`}},
		{"ambiguous defaults", "defaults d\ndefaults d\nbackend b from d\n",
			[]string{`t.cfg:3: backend "b": defaults section name "d" is ambiguous: defined at t.cfg:1 and t.cfg:2`}},
		{"http-check send after expect", base + "    option httpchk\n    http-check expect status 200\n    http-check send meth GET\n",
			[]string{`t.cfg:12: backend "app": http-check send must come before http-check expect (HAProxy runs check rules in order)`}},
		{"no option forwardfor", base + "    no option forwardfor\n",
			[]string{`t.cfg:10: backend "app": keyword "option forwardfor" cannot be prefixed with "no"`}},
		{"conditional blocks", ".if defined(X)\nglobal\n    maxconn 1\n.endif\n",
			[]string{`t.cfg:1: directive ".if" is not supported by tandem (conditional blocks and messages)`,
				`t.cfg:4: directive ".endif" is not supported by tandem (conditional blocks and messages)`}},
		{"name required", "backend\n",
			[]string{`t.cfg:1: backend: a name is required`}},
		{"bad name", "backend a/b\n",
			[]string{`t.cfg:1: backend "a/b": invalid character '/' in name`}},
		{"many errors at once", base + "    server s1 127.0.0.1:80 wieght 3\n    balanse roundrobin\n    retries -1\n",
			[]string{
				`t.cfg:10: backend "app": server "s1": unknown keyword "wieght" (did you mean "weight"?)`,
				`t.cfg:11: backend "app": unknown keyword "balanse" (did you mean "balance"?)`,
				`t.cfg:12: backend "app": retries: -1 is out of range [0..1000]`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("t.cfg", []byte(tt.cfg), testOptions(nil))
			if err == nil {
				t.Fatalf("no error; config %+v; want:\n%s", cfg, strings.Join(tt.want, "\n"))
			}
			if cfg != nil {
				t.Errorf("config returned along with errors")
			}
			checkErrors(t, err, tt.want)
		})
	}
}
