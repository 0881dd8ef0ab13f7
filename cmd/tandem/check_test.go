package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeCfg writes a configuration file in a fresh directory and returns its path.
func writeCfg(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCheckKeepsRuleInBackend is issue 10's security defect: "http-request deny" in a
// backend was reported valid by -c, logged as ignored, and the request was forwarded.
// It is now carried out (httpproxy TestActionsLoopback "backend deny" answers 403), so -c
// accepts it without a warning that it is ignored.
func TestCheckKeepsRuleInBackend(t *testing.T) {
	path := writeCfg(t, `defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:8001
    default_backend b
backend b
    http-request deny
    server s 127.0.0.1:8002
`)
	var out, errb bytes.Buffer
	rc := run([]string{"-c", "-f", path}, &out, &errb)
	if rc != 0 {
		t.Fatalf("tandem -c: exit %d, want 0; stdout %q stderr %q", rc, out.String(), errb.String())
	}
	if strings.Contains(strings.ToLower(errb.String()), "ignored") {
		t.Errorf("stderr says a line is ignored: %q", errb.String())
	}
}

// TestCheckSuggest checks -c --suggest: the errors on stderr, each removed keyword's
// rewrite on stdout as a diff.
func TestCheckSuggest(t *testing.T) {
	path := writeCfg(t, `defaults
    mode http
    clitimeout 5000
listen app 127.0.0.1:8001
    reqadd X-Foo:\ bar
    server s 127.0.0.1:8002
`)
	var out, errb bytes.Buffer
	if rc := run([]string{"-c", "--suggest", "-f", path}, &out, &errb); rc != 1 {
		t.Fatalf("exit %d, want 1; stderr %q", rc, errb.String())
	}
	want := path + ":3:\n- clitimeout 5000\n+ timeout client 5000\n" +
		path + ":4:\n- listen app 127.0.0.1:8001\n+ listen app\n+     bind 127.0.0.1:8001\n" +
		path + ":5:\n- reqadd X-Foo:\\ bar\n+ http-request add-header X-Foo bar\n"
	if out.String() != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out.String(), want)
	}
	if !strings.Contains(errb.String(), path+`:3: defaults: keyword "clitimeout" was removed in HAProxy 2.1`) {
		t.Errorf("stderr lacks the clitimeout error: %s", errb.String())
	}
	if rc := run([]string{"--suggest", "-f", path}, &out, &errb); rc != 2 {
		t.Errorf("--suggest without -c: exit %d, want 2", rc)
	}
}

// TestCheckQuietHidesVRRPWarnings: -c -q prints no warnings, those of keepalived.conf
// (and of the other nodes' files) included; without -q they are printed.
func TestCheckQuietHidesVRRPWarnings(t *testing.T) {
	dir := t.TempDir()
	conf := "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        198.18.0.10\n    }\n    smtp_alert\n}\n"
	var paths []string
	for _, name := range []string{"a.conf", "b.conf"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	args := []string{"-c", "-k", paths[0], "-k", paths[1]}
	for _, tc := range []struct {
		quiet bool
		want  int // warnings printed
	}{{false, 2}, {true, 0}} {
		a := args
		if tc.quiet {
			a = append([]string{"-q"}, args...)
		}
		var out, errb bytes.Buffer
		if rc := run(a, &out, &errb); rc != 0 {
			t.Fatalf("%v: exit %d, stderr %q", a, rc, errb.String())
		}
		if n := strings.Count(errb.String(), "smtp_alert has no effect"); n != tc.want {
			t.Errorf("%v: %d smtp_alert warnings on stderr, want %d: %q", a, n, tc.want, errb.String())
		}
	}
}
