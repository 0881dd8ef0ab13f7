package haproxy

import (
	"strings"
	"testing"
)

// TestFullConnAndMinConn checks what the parser makes of fullconn and minconn against
// what HAProxy 2.6.12 shows for testdata/compat/ok-fullconn-minconn.cfg in `show stat`
// (slim of each BACKEND and server row): the default fullconn is a tenth of the maxconn
// of the frontends that reach the backend, each counted once; a minconn not below
// maxconn becomes the server's fixed maxconn.
func TestFullConnAndMinConn(t *testing.T) {
	const path = "testdata/compat/ok-fullconn-minconn.cfg"
	cfg, err := ParseFiles([]string{path}, testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	fullconn := map[string]int{"b1": 530, "b2": 33, "b3": 1, "l1": 6}
	for name, want := range fullconn {
		if got := cfg.Backend(name).FullConn; got != want {
			t.Errorf("backend %s: fullconn %d, want %d (HAProxy's slim)", name, got, want)
		}
	}
	servers := []struct {
		be, srv          string
		minconn, maxconn int
	}{
		{"b1", "ramp", 2, 10},   // minconn from default-server, dynamic
		{"b1", "above", 20, 20}, // HAProxy: slim 20
		{"b1", "alone", 5, 5},   // HAProxy: slim 5
		{"b1", "fixed", 0, 7},
		{"b2", "s", 2, 10},
	}
	for _, s := range servers {
		sv := cfg.Backend(s.be).Server(s.srv)
		if sv.MinConn != s.minconn || sv.MaxConn != s.maxconn {
			t.Errorf("%s/%s: minconn %d maxconn %d, want %d %d", s.be, s.srv, sv.MinConn, sv.MaxConn, s.minconn, s.maxconn)
		}
	}
	want := []string{
		path + `:21: backend "b1": server "above": minconn 20 is above maxconn 10: the server's limit is fixed at 20 (as HAProxy)`,
		path + `:22: backend "b1": server "alone": minconn 5 without maxconn: the server's limit is fixed at 5 (as HAProxy); add a greater maxconn for a dynamic limit`,
	}
	if got := warnings(cfg); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestMinConnErrors(t *testing.T) {
	tests := []struct{ name, line, want string }{
		{"not a number", "    server s1 127.0.0.1:80 minconn ten maxconn 10\n",
			`t.cfg:10: backend "app": server "s1": minconn: "ten" is not an integer`},
		{"negative", "    server s1 127.0.0.1:80 minconn -1\n",
			`t.cfg:10: backend "app": server "s1": minconn: -1 is out of range [0..2147483647]`},
		{"missing argument", "    server s1 127.0.0.1:80 minconn\n",
			`t.cfg:10: backend "app": server "s1": "minconn" needs an argument`},
		{"on default-server", "    default-server minconn x\n    server s1 127.0.0.1:80\n",
			`t.cfg:10: backend "app": default-server: minconn: "x" is not an integer`},
		{"fullconn", "    fullconn many\n    server s1 127.0.0.1:80\n",
			`t.cfg:10: backend "app": fullconn: "many" is not an integer`},
	}
	for _, tt := range tests {
		_, err := Parse("t.cfg", []byte(base+tt.line), testOptions(nil))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v\nwant %s", tt.name, err, tt.want)
		}
	}
}
