package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ports are the loopback ports of one bench run.
type ports struct {
	web1, web2 int // nginx
	http, tcp  int // the proxy's frontends
	rules      int // the HTTP frontend with ACLs and rules (scenario "rules")
}

// proxyMaxconn is the global maxconn the proxies get: 20000, or less when the
// descriptor limit is lower, since HAProxy needs two descriptors per proxied
// connection plus a few and refuses to start when it cannot have them.
func proxyMaxconn(nofile uint64) int {
	return int(min(20000, (nofile-200)/2))
}

// nginxConf returns a single-process nginx config serving a small fixed body
// on two ports (the two backend servers), all paths inside dir.
func nginxConf(dir string, p ports) string {
	return fmt.Sprintf(`# written by tandem's bench
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 20000;
pid %[1]s/nginx.pid;
error_log %[1]s/nginx-error.log warn;

events {
    worker_connections 19000;
    multi_accept on;
}

http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 600s;
    server_tokens off;

    server {
        listen 127.0.0.1:%[2]d backlog=4096;
        location / { default_type text/plain; return 200 "hello from web1\n"; }
    }
    server {
        listen 127.0.0.1:%[3]d backlog=4096;
        location / { default_type text/plain; return 200 "hello from web2\n"; }
    }
}
`, dir, p.web1, p.web2)
}

// haproxyCfg returns the one configuration both proxies run: an HTTP and a TCP
// frontend, each round-robin over the two nginx servers, one thread.
func haproxyCfg(p ports, maxconn int, dir string) string {
	return fmt.Sprintf(`# written by tandem's bench: the same file for haproxy and tandem
global
    nbthread 1
    maxconn %[5]d

defaults
    mode http
    timeout connect 5s
    timeout client 120s
    timeout server 120s
    timeout http-request 10s
    timeout http-keep-alive 120s

frontend fe_http
    bind 127.0.0.1:%[1]d
    default_backend be_http

backend be_http
    balance roundrobin
    server web1 127.0.0.1:%[3]d
    server web2 127.0.0.1:%[4]d

frontend fe_tcp
    mode tcp
    bind 127.0.0.1:%[2]d
    default_backend be_tcp

backend be_tcp
    mode tcp
    balance roundrobin
    server web1 127.0.0.1:%[3]d
    server web2 127.0.0.1:%[4]d
`, p.http, p.tcp, p.web1, p.web2, maxconn) + rulesCfg(p, dir)
}

// rulesCfg is the frontend of the "rules" scenario (issue 10): 20 ACLs and 12 rules of
// the kinds real files use — host routing with a map, path_beg routing,
// X-Forwarded-Proto, HSTS with http-response set-header, deny from a list of 1,000
// CIDRs, a rate limit answered 429 from a stick table. wrk's requests (Host
// app.example, from 127.0.0.1) pass every rule: each is evaluated, the header rules
// fire, none denies.
func rulesCfg(p ports, dir string) string {
	return fmt.Sprintf(`
frontend fe_rules
    bind 127.0.0.1:%[1]d
    stick-table type ip size 100k expire 30s store http_req_rate(10s)
    acl blocked src -f %[2]s/blocklist.lst
    acl internal src 198.18.0.0/15
    acl is_static path_beg /static /images /css /js
    acl is_api path_beg /api
    acl is_admin path_beg /admin
    acl is_health path /healthz
    acl is_php path_end .php
    acl host_app hdr(host) -i app.example
    acl host_www hdr(host) -i www.example
    acl is_post method POST
    acl is_options method OPTIONS
    acl has_xff req.hdr(x-forwarded-for) -m found
    acl bad_ua hdr_sub(user-agent) -i sqlmap nikto masscan
    acl is_ws hdr(upgrade) -i websocket
    acl q_debug url_param(debug) -m found
    acl is_json hdr_sub(content-type) -i application/json
    acl long_path path_len gt 2048
    acl too_fast sc_http_req_rate(0) gt 100000000
    acl https_req ssl_fc
    acl has_session req.cook(SESSIONID) -m found
    http-request deny if blocked
    http-request deny if bad_ua || long_path
    http-request track-sc0 src
    http-request deny deny_status 429 if too_fast
    http-request deny if is_admin !internal
    http-request set-header X-Forwarded-Proto https if https_req
    http-request set-header X-Forwarded-Proto http unless https_req
    http-request return status 200 content-type text/plain string ok if is_health
    use_backend be_static if is_static || is_php
    use_backend %%[req.hdr(host),lower,map(%[2]s/hosts.map,be_http)]
    http-response set-header Strict-Transport-Security "max-age=31536000"
    http-response del-header X-Powered-By

backend be_static
    balance roundrobin
    server web1 127.0.0.1:%[3]d
    server web2 127.0.0.1:%[4]d

backend be_app
    balance roundrobin
    server web1 127.0.0.1:%[3]d
    server web2 127.0.0.1:%[4]d
`, p.rules, dir, p.web1, p.web2)
}

// rulesFiles are the pattern files of rulesCfg: a map of host names to backends and a
// list of 1,000 CIDRs (documentation and benchmark ranges; no traffic goes to them).
func rulesFiles() map[string]string {
	var hosts, block strings.Builder
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&hosts, "site%d.example be_http\n", i)
	}
	hosts.WriteString("app.example be_app\nwww.example be_http\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&block, "198.%d.%d.%d/28\n", 18+i/512%2, i/2%256, i%2*128)
	}
	return map[string]string{"hosts.map": hosts.String(), "blocklist.lst": block.String()}
}

// writeConfigs writes nginx.conf and haproxy.cfg into dir and returns their paths.
func writeConfigs(dir string, p ports, maxconn int) (nginxPath, cfgPath string, err error) {
	nginxDir := filepath.Join(dir, "nginx")
	if err := os.MkdirAll(nginxDir, 0o755); err != nil {
		return "", "", fmt.Errorf("write configs: %w", err)
	}
	nginxPath = filepath.Join(nginxDir, "nginx.conf")
	if err := os.WriteFile(nginxPath, []byte(nginxConf(nginxDir, p)), 0o644); err != nil {
		return "", "", fmt.Errorf("write configs: %w", err)
	}
	for name, text := range rulesFiles() {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return "", "", fmt.Errorf("write configs: %w", err)
		}
	}
	cfgPath = filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(haproxyCfg(p, maxconn, dir)), 0o644); err != nil {
		return "", "", fmt.Errorf("write configs: %w", err)
	}
	return nginxPath, cfgPath, nil
}
