package daemon

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"tandem/internal/config"
	"tandem/internal/runtimeapi"
	"tandem/internal/stick"
)

func withTables(cfg *config.Config, defs ...stick.Def) *config.Config {
	for _, d := range defs {
		cfg.Tables = append(cfg.Tables, &config.StickTable{Def: d})
	}
	return cfg
}

// TestTablesAcrossReload: the daemon builds the tables of the configuration; a reload
// keeps the entries of a table whose definition did not change, starts a changed one
// empty, and drops a removed one; the runtime API follows.
func TestTablesAcrossReload(t *testing.T) {
	srv := banner(t, "hello")
	bind := freePort(t)
	var gpc stick.StoreSet
	gpc.Add(stick.GPC0, 0)
	keep := stick.Def{Name: "keep", Type: stick.KeyIP, Size: 100, Expire: time.Hour, Store: gpc}
	change := stick.Def{Name: "change", Type: stick.KeyInteger, Size: 10, Store: gpc}
	gone := stick.Def{Name: "gone", Type: stick.KeyString, Size: 10}
	l := &loader{}
	l.set(withTables(tcpConfig(bind, srv), keep, change, gone), nil)
	d := New(Options{Log: slog.New(slog.DiscardHandler), Load: l.load})
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop(time.Second)
	api := func(cmd string) string { return runtimeapi.Do(d.StatsSource(), runtimeapi.LevelAdmin, cmd) }
	api("set table keep key 10.0.0.1 data.gpc0 3;set table change key 7;set table gone key x")
	if got := api("show table"); got != "# table: gone, type: string, size:10, used:1\n# table: change, type: integer, size:10, used:1\n# table: keep, type: ip, size:100, used:1\n\n" {
		t.Fatalf("show table: %q", got)
	}
	// table is the live table the routes built by a reload resolve name to.
	table := func(name string) *stick.Table { return d.tables.byNameNow()[name] }
	before := table("keep")

	change.Size = 20
	l.set(withTables(tcpConfig(bind, srv), keep, change), nil)
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := api("show table"); got != "# table: change, type: integer, size:20, used:0\n# table: keep, type: ip, size:100, used:1\n\n" {
		t.Errorf("after reload: %q", got)
	}
	if table("keep") != before || table("gone") != nil {
		t.Error("the unchanged table must be the same live table; the removed one gone")
	}
	if got := api("show table keep data.gpc0 eq 3"); !strings.Contains(got, "key=10.0.0.1 ") {
		t.Errorf("entry lost across reload: %q", got)
	}

	// A refused reload changes nothing.
	l.set(nil, config.Errorf(config.Pos{File: "x", Line: 1}, "broken"))
	if err := d.Reload(); err == nil {
		t.Fatal("broken config accepted")
	}
	if table("keep") != before || table("change") == nil {
		t.Error("a refused reload changed the tables")
	}
}
