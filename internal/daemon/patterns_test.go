package daemon

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tandem/internal/config"
	"tandem/internal/config/haproxy"
	"tandem/internal/runtimeapi"
)

// TestPatternChangesAndReload: add/del acl and set map on the runtime API change the
// running lists; a reload reads the files again, as HAProxy's does, so what the API
// changed is lost and what was written to the files is taken.
func TestPatternChangesAndReload(t *testing.T) {
	dir := t.TempDir()
	lst, hmap := filepath.Join(dir, "block.lst"), filepath.Join(dir, "hosts.map")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(lst, "10.0.0.0/8\n")
	write(hmap, "192.0.2.0/24 be\n")
	srv := banner(t, "hello")
	text := fmt.Sprintf(`defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind %s
    acl bad src -f %s
    use_backend be if bad
    use_backend %%[src,map_ip(%s,be)]
    default_backend be
backend be
    server s1 %s
`, freePort(t), lst, hmap, srv)
	load := func() (*config.Config, error) { return haproxy.Parse("t.cfg", []byte(text), haproxy.Options{}) }
	d := New(Options{Log: slog.New(slog.DiscardHandler), Load: load})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop(time.Second)
	api := func(cmd string) string { return runtimeapi.Do(d.StatsSource(), runtimeapi.LevelAdmin, cmd) }
	show := func(kind, list string) string { // keys and values, ids left out
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(api("show "+kind+" "+list)), "\n") {
			out = append(out, strings.Join(strings.Fields(l)[1:], " "))
		}
		return strings.Join(out, ";")
	}
	if got := api("add acl " + lst + " 192.0.2.1;del acl " + lst + " 10.0.0.0/8"); got != "\n\n" {
		t.Fatalf("add/del acl: %q", got)
	}
	if got := show("acl", lst); got != "192.0.2.1" {
		t.Fatalf("after add/del acl: %q", got)
	}
	if got := api("set map " + hmap + " 192.0.2.0/24 other"); got != "\n" {
		t.Fatalf("set map: %q", got)
	}
	if got := show("map", hmap); got != "192.0.2.0/24 other" {
		t.Fatalf("after set map: %q", got)
	}
	write(lst, "10.0.0.0/8\n198.51.100.0/24\n")
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := show("acl", lst); got != "10.0.0.0/8;198.51.100.0/24" {
		t.Errorf("acl after reload: %q, want the file's contents", got)
	}
	if got := show("map", hmap); got != "192.0.2.0/24 be" {
		t.Errorf("map after reload: %q, want the file's contents", got)
	}
}
