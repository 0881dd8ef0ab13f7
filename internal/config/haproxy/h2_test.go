package haproxy

import (
	"strings"
	"testing"

	"tandem/internal/config"
)

const h2Front = "defaults\n    mode http\n    timeout client 1s\n    timeout connect 1s\n    timeout server 1s\nfrontend f\n"

func TestH2TunablesAndBinds(t *testing.T) {
	cfg := mustParse(t, h2Front+"    bind 127.0.0.1:1 proto h2\n    bind 127.0.0.1:2\n", nil)
	want := config.H2Tunables{HeaderTableSize: 4096, InitialWindowSize: 65535, MaxConcurrentStreams: 100}
	if cfg.Global.H2 != want {
		t.Fatalf("defaults %+v, want HAProxy's %+v", cfg.Global.H2, want)
	}
	if b := cfg.Frontends[0].Binds; b[0].Proto != "h2" || b[1].Proto != "" {
		t.Fatalf("binds' proto: %q %q", b[0].Proto, b[1].Proto)
	}
	cfg = mustParse(t, "global\n    tune.h2.header-table-size 65536\n    tune.h2.initial-window-size 0\n    tune.h2.max-concurrent-streams 0\n"+h2Front+"    bind 127.0.0.1:1\n", nil)
	want = config.H2Tunables{HeaderTableSize: 65536, InitialWindowSize: 0, MaxConcurrentStreams: 0}
	if cfg.Global.H2 != want {
		t.Fatalf("set %+v, want %+v", cfg.Global.H2, want)
	}
}

// TestH2ConfigErrors: what HAProxy 2.6 refuses (checked with haproxy -c), tandem refuses.
func TestH2ConfigErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"global\n    tune.h2.header-table-size 70000\n" + h2Front, "tune.h2.header-table-size"},
		{"global\n    tune.h2.header-table-size 0\n" + h2Front, "tune.h2.header-table-size"},
		{"global\n    tune.h2.initial-window-size 2147483648\n" + h2Front, "tune.h2.initial-window-size"},
		{"global\n    tune.h2.max-concurrent-streams -1\n" + h2Front, "tune.h2.max-concurrent-streams"},
		{h2Front + "    bind 127.0.0.1:1 proto h1\n", `proto "h1"`},
		{h2Front + "    bind 127.0.0.1:1 proto\n", `"proto" needs`},
		{h2Front + "    mode tcp\n    bind 127.0.0.1:1 proto h2\n", "proto h2 needs mode http"},
	} {
		_, err := Parse("t.cfg", []byte(tc.text), testOptions(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one naming %s", tc.text, err, tc.want)
		}
	}
}
