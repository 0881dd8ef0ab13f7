package ha

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tandem/internal/config"
	"tandem/internal/config/keepalived"
)

func TestScriptUsersAndSecurity(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root to check script ownership")
		}
		t.Skip("needs root to check script ownership")
	}
	dir := t.TempDir() // 0700, owned by root
	safe := filepath.Join(dir, "safe.sh")
	unsafe := filepath.Join(dir, "unsafe.sh")
	for _, f := range []string{safe, unsafe} {
		if err := os.WriteFile(f, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(unsafe, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mk := func(global, script, user string) *config.VRRP {
		src := "global_defs {\n" + global + "\n}\nvrrp_script s {\n script \"" + script + "\"\n" + user + "\n}\n" +
			"vrrp_instance V {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 198.18.0.1\n }\n track_script {\n s\n }\n}\n"
		v, err := keepalived.Parse("k.conf", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, global, script, user, err string
	}{
		{"no security", "", unsafe, "", ""},
		{"safe script", "enable_script_security", safe, "", ""},
		{"writable by others", "enable_script_security", unsafe, "", "k.conf:4: vrrp_script \"s\": enable_script_security: script " + unsafe + ": " + unsafe + " is writable by group or others"},
		{"run as nobody: no check", "enable_script_security", unsafe, "user nobody", ""},
		{"unknown user", "", safe, "user no_such_user_x", "k.conf:4: vrrp_script \"s\": script user: user: unknown user no_such_user_x"},
		{"unknown global user", "script_user no_such_user_y", safe, "", "script user: user: unknown user no_such_user_y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkScripts(mk(tt.global, tt.script, tt.user))
			if tt.err == "" && err != nil {
				t.Errorf("err = %v", err)
			}
			if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("err = %v, want %q", err, tt.err)
			}
		})
	}
}

// A script with `user nobody` really runs as nobody.
func TestScriptRunsAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root to switch users")
		}
		t.Skip("needs root to switch users")
	}
	err := execCommand(context.Background(), Command{Argv: []string{"/bin/sh", "-c", "test \"$(id -un)\" = nobody"}, User: "nobody"})
	if err != nil {
		t.Errorf("script did not run as nobody: %v", err)
	}
	if err := execCommand(context.Background(), Command{Argv: []string{"/bin/sh", "-c", "test \"$(id -u)\" = 0"}}); err != nil {
		t.Errorf("script without a user did not run as root: %v", err)
	}
}

// keepalived: "Disabling track script NAME since not found/accessible": a vrrp_script
// whose command is missing is not run, and its instances ignore it (here a weight 0
// script, which would otherwise hold the instance in FAULT).
func TestMissingScriptIsDisabled(t *testing.T) {
	v, err := keepalived.Parse("k.conf", []byte(`vrrp_script gone {
    script "/nonexistent/check.sh"
    weight 0
}
vrrp_script here {
    script "/bin/true"
    weight 5
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        198.18.0.100
    }
    track_script {
        gone
        here
    }
}
`))
	if err != nil {
		t.Fatal(err)
	}
	var logs logBuf
	n, err := New(v, Options{
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Exec:   func(context.Context, Command) error { return nil },
		LookPath: func(name string) error {
			if name == "/bin/true" {
				return nil
			}
			return os.ErrNotExist
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	in := n.cfg.Instances[0]
	if len(in.TrackScripts) != 1 || in.TrackScripts[0].Name != "here" || len(n.cfg.Scripts) != 1 || n.cfg.Script("gone") != nil {
		t.Errorf("running config: scripts %+v, tracked %+v", n.cfg.Scripts, in.TrackScripts)
	}
	if len(v.Instances[0].TrackScripts) != 2 || len(v.Scripts) != 2 {
		t.Errorf("the given config was changed")
	}
	if logs.count(`script=gone`) != 1 || logs.count("as keepalived does") != 1 {
		t.Errorf("log:\n%s", logs.b.String())
	}
}
