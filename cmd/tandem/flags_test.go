package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want cmdLine
		err  bool
	}{
		{"debian ExecStart", []string{"-Ws", "-f", "/etc/haproxy/haproxy.cfg", "-p", "/run/haproxy.pid", "-S", "/run/haproxy-master.sock"},
			cmdLine{files: []string{"/etc/haproxy/haproxy.cfg"}, pidfile: "/run/haproxy.pid", master: true, systemd: true, masterCLI: []string{"/run/haproxy-master.sock"}}, false},
		{"debian ExecReload check", []string{"-Ws", "-f", "/etc/haproxy/haproxy.cfg", "-c", "-q", "-S", "/run/haproxy-master.sock"},
			cmdLine{files: []string{"/etc/haproxy/haproxy.cfg"}, check: true, quiet: true, master: true, systemd: true, masterCLI: []string{"/run/haproxy-master.sock"}}, false},
		{"-sf takes every pid", []string{"-f", "a.cfg", "-sf", "12", "13", "-q"},
			cmdLine{files: []string{"a.cfg"}, softStop: []int{12, 13}, quiet: true}, false},
		{"-st then a flag", []string{"-st", "7", "-f", "a.cfg"}, cmdLine{files: []string{"a.cfg"}, hardStop: []int{7}}, false},
		{"-sf with no pid", []string{"-f", "a.cfg", "-sf"}, cmdLine{files: []string{"a.cfg"}}, false},
		{"equals form", []string{"-f=a.cfg", "--suggest", "-c"}, cmdLine{files: []string{"a.cfg"}, suggest: true, check: true}, false},
		{"haproxy's other flags", []string{"-W", "-d", "-D", "-x", "/run/x.sock", "-L", "lb1", "-N", "100", "-C", "/etc/haproxy", "-f", "a.cfg"},
			cmdLine{files: []string{"a.cfg"}, master: true, debug: true, daemon: true, expose: "/run/x.sock", localPeer: "lb1", defaultMaxConn: 100, dir: "/etc/haproxy"}, false},
		{"-db, as the haproxy container image runs it", []string{"-W", "-db", "-f", "a.cfg", "-D"},
			cmdLine{files: []string{"a.cfg"}, master: true, foreground: true, daemon: true}, false},
		{"verbose forms", []string{"-vv", "-k", "k.conf"}, cmdLine{kfiles: []string{"k.conf"}, verbose: true}, false},
		{"positional kept", []string{"-f", "a.cfg", "extra"}, cmdLine{files: []string{"a.cfg"}, positional: []string{"extra"}}, false},
		{"missing value", []string{"-f"}, cmdLine{}, true},
		{"bad -N", []string{"-N", "x"}, cmdLine{}, true},
		{"unknown flag", []string{"-de"}, cmdLine{}, true},
		{"value on a switch", []string{"-c=1"}, cmdLine{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseArgs(tc.args)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if tc.err {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func FuzzParseArgs(f *testing.F) {
	f.Add("-Ws\x00-f\x00a.cfg\x00-sf\x001\x002")
	f.Add("-N\x00-1")
	f.Fuzz(func(t *testing.T, s string) {
		var args []string
		start := 0
		for i := 0; i < len(s); i++ {
			if s[i] == 0 {
				args = append(args, s[start:i])
				start = i + 1
			}
		}
		args = append(args, s[start:])
		parseArgs(args)
	})
}

// TestChdirFlag is -C: relative paths are read from the directory it names.
func TestChdirFlag(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "rel.cfg"), []byte("defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nfrontend f\n    bind 127.0.0.1:1\n    default_backend b\nbackend b\n    server s 127.0.0.1:2\n"), 0o644)
	wd, _ := os.Getwd()
	defer os.Chdir(wd)
	var out, errb bytes.Buffer
	if rc := run([]string{"-C", dir, "-c", "-f", "rel.cfg"}, &out, &errb); rc != 0 || out.String() != "Configuration file is valid\n" {
		t.Fatalf("-C: exit %d, %q %q", rc, out.String(), errb.String())
	}
	os.Chdir(wd)
	out.Reset()
	if rc := run([]string{"-c", "-q", "-C", dir, "-f", "rel.cfg"}, &out, &errb); rc != 0 || out.Len() != 0 {
		t.Fatalf("-c -q: exit %d, printed %q, want nothing", rc, out.String())
	}
}
