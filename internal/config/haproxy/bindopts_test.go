package haproxy

import (
	"errors"
	"strings"
	"testing"

	"tandem/internal/config"
)

const bindBase = "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n" +
	"backend b\n    server s 127.0.0.1:1\nfrontend f\n    default_backend b\n    bind "

func TestBindSocketOptions(t *testing.T) {
	for _, tc := range []struct {
		line string
		want config.BindSock
		name string
		warn string
		err  string
	}{
		{line: "127.0.0.1:80 backlog 4096", want: config.BindSock{Backlog: 4096}},
		{line: ":::80 v6only", want: config.BindSock{V6Only: true}},
		{line: "[::1]:80 v4v6 name web", want: config.BindSock{V4V6: true}, name: "web"},
		{line: "127.0.0.1:80 interface lo defer-accept tfo mss 1400 transparent",
			want: config.BindSock{Interface: "lo", DeferAccept: true, TFO: true, MSS: 1400, Transparent: true}},
		{line: "fd@3", want: config.BindSock{FD: 4}},
		{line: "fd@0 backlog 10", want: config.BindSock{FD: 1, Backlog: 10}},
		{line: "/run/web.sock mode 660 user root group 0", want: config.BindSock{Path: "/run/web.sock", Mode: 0o660, User: "root", Group: "0"}},
		{line: "unix@web.sock uid 0 gid 0", want: config.BindSock{Path: "web.sock", User: "0", Group: "0"}},
		{line: "abns@web", want: config.BindSock{Path: "@web"}},
		{line: "unix@", err: "missing socket path"},
		{line: "/run/x.sock mode 999", err: `bind option mode: "999" is not an octal file mode`},
		{line: "127.0.0.1:80 process 1", warn: "'process 1' on 'bind' lines is deprecated"},
		{line: "127.0.0.1:80 thread all"},
		{line: "127.0.0.1:80 backlog", err: `bind option "backlog" needs an argument`},
		{line: "127.0.0.1:80 backlog x", err: `bind option "backlog": "x" is not a number`},
		{line: "127.0.0.1:80 mss -10", err: `bind option "mss": "-10" is not a number from 1 to 65535`},
		{line: ":::80 v4v6 v6only", err: "contradict"},
		{line: "127.0.0.1:80 process 2", err: "supports numbers from 1 to 1"},
		{line: "127.0.0.1:80 thread 1", err: "'thread 1' is not supported"},
		{line: "fd@x", err: `fd@: "x" is not a file descriptor number`},
		{line: "127.0.0.1:80 backlog 10 namespace red", err: `bind option "namespace" is not supported`},
		{line: "127.0.0.1:80 tfo wibble", err: `unknown bind option "wibble"`},
	} {
		t.Run(tc.line, func(t *testing.T) {
			cfg, err := Parse("t.cfg", []byte(bindBase+tc.line+"\n"), testOptions(nil))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "t.cfg:10") {
					t.Fatalf("err = %v, want t.cfg:10 and %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b := cfg.Frontends[0].Binds[0]
			if b.Sock != tc.want || b.Name != tc.name {
				t.Errorf("got %+v name %q, want %+v name %q", b.Sock, b.Name, tc.want, tc.name)
			}
			got := strings.Join(warnings(cfg), "\n")
			if tc.warn != "" && !strings.Contains(got, tc.warn) || tc.warn == "" && strings.Contains(got, "bind") {
				t.Errorf("warnings %q, want %q", got, tc.warn)
			}
		})
	}
}

func FuzzBindOptions(f *testing.F) {
	for _, s := range []string{"127.0.0.1:80 backlog 10 v4v6", "fd@3 tfo", ":::1 v6only mss 1 interface eth0 name x process all thread all", "fd@-1", "1.2.3.4:5 backlog"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\n\r") {
			return
		}
		_, err := Parse("t.cfg", []byte(bindBase+line+"\n"), fuzzOptions())
		var list config.ErrorList
		if err != nil && (!errors.As(err, &list) || len(list) == 0) {
			t.Fatalf("error is not an ErrorList: %v", err)
		}
	})
}

// TestDefaultMaxConnOption is HAProxy's -N: the maxconn of a frontend that sets none
// (neither it, its defaults nor global).
func TestDefaultMaxConnOption(t *testing.T) {
	for _, tc := range []struct {
		extra string
		n     int
		want  int
	}{
		{"", 0, config.DefaultMaxConn},
		{"", 100, 100},
		{"    maxconn 7\n", 100, 7},
	} {
		opt := testOptions(nil)
		opt.DefaultMaxConn = tc.n
		cfg, err := Parse("t.cfg", []byte(bindBase+"127.0.0.1:80\n"+tc.extra), opt)
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Frontends[0].MaxConn; got != tc.want {
			t.Errorf("-N %d with %q: maxconn %d, want %d", tc.n, tc.extra, got, tc.want)
		}
	}
}
