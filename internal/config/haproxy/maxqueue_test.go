package haproxy

import (
	"strings"
	"testing"
)

// TestMaxQueue: maxqueue on server and default-server lines, inherited and overridden
// as any server option; absent or 0 means unlimited.
func TestMaxQueue(t *testing.T) {
	cfg, err := Parse("t.cfg", []byte(base+
		"    server plain 127.0.0.1:81\n"+
		"    server own 127.0.0.1:82 maxconn 1 maxqueue 3\n"+
		"    default-server maxconn 250 maxqueue 256\n"+
		"    server inherits 127.0.0.1:83\n"+
		"    server overrides 127.0.0.1:84 maxqueue 0\n"), testOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"plain": 0, "own": 3, "inherits": 256, "overrides": 0} {
		if got := cfg.Backend("app").Server(name).MaxQueue; got != want {
			t.Errorf("server %s: maxqueue %d, want %d", name, got, want)
		}
	}
}

func TestMaxQueueErrors(t *testing.T) {
	tests := []struct{ name, line, want string }{
		{"not a number", "    server s1 127.0.0.1:80 maxqueue many\n",
			`t.cfg:10: backend "app": server "s1": maxqueue: "many" is not an integer`},
		{"negative", "    server s1 127.0.0.1:80 maxqueue -1\n",
			`t.cfg:10: backend "app": server "s1": maxqueue: -1 is out of range [0..2147483647]`},
		{"too large", "    server s1 127.0.0.1:80 maxqueue 2147483648\n",
			`t.cfg:10: backend "app": server "s1": maxqueue: 2147483648 is out of range [0..2147483647]`},
		{"missing argument", "    server s1 127.0.0.1:80 maxqueue\n",
			`t.cfg:10: backend "app": server "s1": "maxqueue" needs an argument`},
		{"on default-server", "    default-server maxqueue x\n    server s1 127.0.0.1:80\n",
			`t.cfg:10: backend "app": default-server: maxqueue: "x" is not an integer`},
		{"with leastconn", "    balance leastconn\n    default-server maxqueue 8\n    server s1 127.0.0.1:80 maxconn 1\n",
			`t.cfg:12: backend "app": server "s1": maxqueue with balance leastconn is not supported by tandem`},
		{"leastconn after the servers", "    server s1 127.0.0.1:80 maxqueue 8\n    balance leastconn\n",
			`t.cfg:10: backend "app": server "s1": maxqueue with balance leastconn is not supported by tandem`},
	}
	for _, tt := range tests {
		_, err := Parse("t.cfg", []byte(base+tt.line), testOptions(nil))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v\nwant %s", tt.name, err, tt.want)
		}
	}
	// leastconn with maxqueue 0 (unlimited) is fine
	if _, err := Parse("t.cfg", []byte(base+"    balance leastconn\n    server s1 127.0.0.1:80 maxconn 1 maxqueue 0\n"), testOptions(nil)); err != nil {
		t.Errorf("leastconn with maxqueue 0: %v", err)
	}
}
