package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// ports are the loopback ports of one bench run.
type ports struct {
	web1, web2 int // nginx
	http, tcp  int // the proxy's frontends
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
func haproxyCfg(p ports, maxconn int) string {
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
`, p.http, p.tcp, p.web1, p.web2, maxconn)
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
	cfgPath = filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(haproxyCfg(p, maxconn)), 0o644); err != nil {
		return "", "", fmt.Errorf("write configs: %w", err)
	}
	return nginxPath, cfgPath, nil
}
