package runtimeapi

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tandem/internal/backend"
	"tandem/internal/config"
	"tandem/internal/config/haproxy"
	"tandem/internal/proxystats"
	"tandem/internal/stats"
)

const testCfg = `
defaults
    mode http
frontend web
    bind 127.0.0.1:2
    default_backend app
backend app
    server web1 127.0.0.1:8001 weight 10
    server web2 127.0.0.1:8002
`

func newSource(t testing.TB) *stats.Source {
	t.Helper()
	cfg, err := haproxy.Parse("t.cfg", []byte(testCfg), haproxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	states := backend.NewStates()
	pools := map[string]*backend.Pool{}
	for _, b := range cfg.Backends {
		pools[b.Name] = backend.New(b, states)
	}
	now := time.Unix(1_800_000_000, 0)
	return &stats.Source{
		Config:    func() *config.Config { return cfg },
		Pools:     func() map[string]*backend.Pool { return pools },
		Frontends: proxystats.NewRegistry(),
		Process:   stats.Process{Pid: 7, Version: "test", Start: now.Add(-time.Minute)},
		Now:       func() time.Time { return now },
	}
}

func server(t *testing.T, src *stats.Source, name string) *backend.Server {
	_, sv, err := src.Server("app", name)
	if err != nil {
		t.Fatal(err)
	}
	return sv
}

// Outputs and error texts as HAProxy 2.6 writes them (checked against Debian's haproxy).
func TestCommandsAndHAProxyTexts(t *testing.T) {
	tests := []struct {
		level Level
		line  string
		want  string
		check func(t *testing.T, src *stats.Source)
	}{
		{LevelAdmin, "get weight app/web1", "10 (initial 10)\n\n", nil},
		{LevelAdmin, "get weight nope/x", "No such backend.\n\n", nil},
		{LevelAdmin, "get weight app/x", "No such server.\n\n", nil},
		{LevelAdmin, "get weight app", "Require 'backend/server'.\n\n", nil},
		{LevelAdmin, "disable server app/web1", "\n", func(t *testing.T, src *stats.Source) {
			if server(t, src, "web1").Admin() != backend.AdminMaint {
				t.Error("web1 not in maintenance")
			}
		}},
		{LevelAdmin, "disable server app/web1;enable server app/web1", "\n\n", func(t *testing.T, src *stats.Source) {
			if server(t, src, "web1").Admin() != backend.AdminReady {
				t.Error("web1 not ready")
			}
		}},
		{LevelAdmin, "set server app/web2 state drain", "\n", func(t *testing.T, src *stats.Source) {
			if server(t, src, "web2").Admin() != backend.AdminDrain {
				t.Error("web2 not draining")
			}
		}},
		{LevelAdmin, "set server app/web2 state foo", "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n", nil},
		{LevelAdmin, "set server app/web2 weight 300", "Absolute weight can only be between 0 and 256 inclusive.\n\n", nil},
		{LevelAdmin, "set server app/web2 weight abc", "Empty weight string empty or preceded by garbage\n\n", nil},
		{LevelAdmin, "set server app/nope state ready", "No such server.\n\n", nil},
		{LevelAdmin, "set server nope/x state ready", "No such backend.\n\n", nil},
		{LevelAdmin, "set weight app/web1 50%;get weight app/web1", "\n5 (initial 10)\n\n", nil},
		{LevelAdmin, "set server app/web2 weight 7;get weight app/web2", "\n7 (initial 1)\n\n", nil},
		{LevelAdmin, "enable health app/web1", "Health check was not configured on this server, cannot enable.\n\n", nil},
		{LevelAdmin, "show backend", "# name\napp\n\n", nil},
		{LevelAdmin, "show cli level", "admin\n\n", nil},
		{LevelAdmin, "user;show cli level;disable server app/web1", "\nuser\n\nPermission denied\n\n", nil},
		{LevelUser, "disable server app/web1", "Permission denied\n\n", nil},
		{LevelUser, "set server app/web1 state maint", "Permission denied\n\n", nil},
		{LevelOperator, "set weight app/web1 3", "Permission denied\n\n", nil},
		{LevelUser, "get weight app/web1", "10 (initial 10)\n\n", nil},
		{LevelAdmin, "show servers state nope", "Can't find backend.\n\n", nil},
		{LevelAdmin, "set server app/web1 health down", "\n", func(t *testing.T, src *stats.Source) {
			if server(t, src, "web1").Up() {
				t.Error("web1 still up")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			src := newSource(t)
			if got := Do(src, tc.level, tc.line); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if tc.check != nil {
				tc.check(t, src)
			}
		})
	}
}

func TestShowOutputs(t *testing.T) {
	src := newSource(t)
	server(t, src, "web2").SetAdmin(backend.AdminMaint)
	out := Do(src, LevelUser, "show stat")
	servers := Do(src, LevelUser, "show stat -1 4 -1")
	if strings.Count(servers, "\n") != 4 || !strings.Contains(servers, "\napp,web1,") || strings.Contains(servers, "BACKEND") {
		t.Errorf("show stat -1 4 -1 (servers only):\n%s", servers)
	}
	if got := Do(src, LevelUser, "show stat no-maint"); strings.Contains(got, "app,web2,") {
		t.Errorf("show stat no-maint shows the server in maintenance:\n%s", got)
	}
	if got := Do(src, LevelUser, "show stat app 2 -1"); strings.Count(got, "\n") != 3 || !strings.Contains(got, "\napp,BACKEND,") {
		t.Errorf("show stat app 2 -1:\n%s", got)
	}
	if !strings.HasPrefix(out, stats.CSVHeader()) || !strings.HasSuffix(out, ",\n\n") || !strings.Contains(out, "\napp,web2,") {
		t.Errorf("show stat:\n%s", out)
	}
	if !strings.Contains(out, ",MAINT,") {
		t.Errorf("show stat lacks web2 MAINT:\n%s", out)
	}
	typed := Do(src, LevelUser, "show stat typed")
	if !strings.Contains(typed, "S.3.2.1.svname.1:KNS:str:web2\n") || !strings.Contains(typed, "S.3.2.17.status.1:SGP:str:MAINT\n") {
		t.Errorf("show stat typed:\n%s", typed)
	}
	info := Do(src, LevelUser, "show info")
	for _, want := range []string{"Name: tandem\n", "Pid: 7\n", "Uptime_sec: 60\n", "Uptime: 0d 0h01m00s\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("show info lacks %q:\n%s", want, info)
		}
	}
	state := Do(src, LevelUser, "show servers state app")
	lines := strings.Split(state, "\n")
	if lines[0] != "1" || !strings.HasPrefix(lines[1], "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state") {
		t.Fatalf("show servers state:\n%s", state)
	}
	if lines[2] != "3 app 1 web1 127.0.0.1 2 0 10 10 60 1 0 2 0 0 0 0 - 8001 - 0 0 - - 0" ||
		lines[3] != "3 app 2 web2 127.0.0.1 2 1 1 1 60 1 0 2 0 0 0 0 - 8002 - 0 0 - - 0" {
		t.Errorf("server lines:\n%s\n%s", lines[2], lines[3])
	}
	if got := Do(src, LevelUser, "show vrrp"); !strings.HasPrefix(got, "VRRP is not running") {
		t.Errorf("show vrrp without VRRP: %q", got)
	}
	if got := Do(src, LevelUser, "foo"); !strings.HasPrefix(got, "Unknown command, but maybe one of the following ones is a better match:\n  ") {
		t.Errorf("unknown command: %q", got)
	}
	help := Do(src, LevelUser, "help")
	if !strings.Contains(help, "  show stat [<px> <type> <sid>] [typed|up|no-maint]*: report counters for each proxy and server\n") {
		t.Errorf("help:\n%s", help)
	}
}

func serve(t *testing.T, sock config.StatsSocket) (*Server, *stats.Source) {
	t.Helper()
	src := newSource(t)
	ln, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	level, _ := ParseLevel(sock.Level)
	s := New(src, time.Second, nil)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln, level) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return s, src
}

func dial(t *testing.T, network, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

func TestUnixSocketModeLevelAndOneCommandPerConnection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.sock")
	_, src := serve(t, config.StatsSocket{Address: path, Mode: 0o600, Level: "user"})
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", fi.Mode().Perm())
	}
	c := dial(t, "unix", path)
	io.WriteString(c, "disable server app/web1\nshow cli level\n")
	b, _ := io.ReadAll(c) // the server closes after one line, as HAProxy without prompt
	if string(b) != "Permission denied\n\n" {
		t.Errorf("got %q", b)
	}
	if server(t, src, "web1").Admin() != backend.AdminReady {
		t.Error("a user-level socket changed a server")
	}
}

func TestPromptMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.sock")
	serve(t, config.StatsSocket{Address: path, Level: "admin"})
	c := dial(t, "unix", path)
	io.WriteString(c, "prompt\nshow backend\nquit\n")
	b, _ := io.ReadAll(c)
	// Debian's haproxy 2.6 answers exactly this.
	if want := "\n> # name\napp\n\n> "; string(b) != want {
		t.Errorf("got %q, want %q", b, want)
	}
}

func TestTCPSocketDefaultsToOperator(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	serve(t, config.StatsSocket{Address: "ipv4@" + addr})
	c := dial(t, "tcp4", addr)
	io.WriteString(c, "show cli level\n")
	line, _ := bufio.NewReader(c).ReadString('\n')
	if line != "operator\n" {
		t.Errorf("level %q, want operator", line)
	}
}

func TestListenRefusesALiveSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.sock")
	serve(t, config.StatsSocket{Address: path})
	if _, err := Listen(config.StatsSocket{Address: path}); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Errorf("err = %v", err)
	}
}

func FuzzSplitCommands(f *testing.F) {
	for _, s := range []string{"show stat", "a;b", `a\;b;c`, ";;", "set server app/web1 state ready;get weight app/web1"} {
		f.Add(s)
	}
	src := newSource(f)
	f.Fuzz(func(t *testing.T, line string) {
		parts := splitCommands(line)
		if len(parts) == 0 {
			t.Fatal("no command")
		}
		Do(src, LevelUser, line) // must not panic
	})
}
