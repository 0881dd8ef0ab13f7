package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// needTool skips when a binary is missing, except in CI where it must exist.
func needTool(t *testing.T, path string) {
	t.Helper()
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is missing: %v", path, err)
		}
		t.Skipf("%s not installed: %v", path, err)
	}
}

func TestProxyMaxconn(t *testing.T) {
	tests := []struct {
		nofile uint64
		want   int
	}{{1 << 20, 20000}, {40400, 20000}, {20000, 9900}, {1024, 412}}
	for _, tt := range tests {
		if got := proxyMaxconn(tt.nofile); got != tt.want {
			t.Errorf("proxyMaxconn(%d) = %d, want %d", tt.nofile, got, tt.want)
		}
	}
}

func TestConfigsAreAcceptedByHAProxyAndNginx(t *testing.T) {
	needTool(t, "/usr/sbin/haproxy")
	needTool(t, "/usr/sbin/nginx")
	dir := t.TempDir()
	p := ports{web1: 21001, web2: 21002, http: 21003, tcp: 21004, rules: 21005}
	nginxPath, cfgPath, err := writeConfigs(dir, p, 9900)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.ReadFile(cfgPath)
	for _, want := range []string{"bind 127.0.0.1:21003", "bind 127.0.0.1:21004", "server web1 127.0.0.1:21001",
		"server web2 127.0.0.1:21002", "nbthread 1", "maxconn 9900", "mode tcp", "balance roundrobin"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("haproxy.cfg lacks %q", want)
		}
	}
	if out, err := exec.Command("/usr/sbin/haproxy", "-c", "-f", cfgPath).CombinedOutput(); err != nil {
		t.Errorf("haproxy -c rejects the bench config: %v\n%s", err, out)
	}
	nd := filepath.Dir(nginxPath)
	if out, err := exec.Command("/usr/sbin/nginx", "-t", "-p", nd, "-e", filepath.Join(nd, "e.log"), "-c", nginxPath).CombinedOutput(); err != nil {
		t.Errorf("nginx -t rejects the bench config: %v\n%s", err, out)
	}
}
