package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckVRRPPairWeights: `tandem -c -k master.conf -k backup.conf` checks the two
// nodes against each other: seed 003's weight 10 on priorities 100/99 moves the VIP (no
// warning); weight 1 cannot, and the warning names the file, line and script.
func TestCheckVRRPPairWeights(t *testing.T) {
	dir := "../internal/config/keepalived/testdata"
	master, backup := filepath.Join(dir, "seed003_master.conf"), filepath.Join(dir, "seed003_backup.conf")
	code, out, errOut := runTandem(t, "-c", "-k", master, "-k", backup)
	if code != 0 || strings.TrimSpace(out) != "Configuration file is valid" || strings.Contains(errOut, "never moves") {
		t.Fatalf("seed 003 pair: exit %d, %q, %q", code, out, errOut)
	}
	tmp := t.TempDir()
	for _, f := range []string{master, backup} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(tmp, filepath.Base(f)), []byte(strings.Replace(string(b), "weight 10", "weight 1", 1)), 0o644)
	}
	m := filepath.Join(tmp, "seed003_master.conf")
	code, _, errOut = runTandem(t, "-c", "-k", m, "-k", filepath.Join(tmp, "seed003_backup.conf"))
	if code != 0 || !strings.Contains(errOut, m+":") || !strings.Contains(errOut, `track_script "my_chk" (weight 1)`) || !strings.Contains(errOut, "never moves") {
		t.Fatalf("weight 1 pair: exit %d, stderr %q", code, errOut)
	}
	if code, _, _ := runTandem(t, "-k", m, "-k", m); code != 2 {
		t.Fatalf("two -k to run: exit %d, want 2 (several -k are for -c)", code)
	}
}

// TestCheckVRRPShowsWarnings: what tandem accepts with keepalived's meaning but a user
// should know (state SLAVE starts as BACKUP; a track_script naming no vrrp_script is
// not tracked) is printed by -c as a warning, and the file is valid.
func TestCheckVRRPShowsWarnings(t *testing.T) {
	f := filepath.Join(t.TempDir(), "k.conf")
	src := "vrrp_instance VI_1\n{\n state SLAVE\n interface eth0\n virtual_router_id 51\n nopreempt 1\n" +
		" track_script {\n nope\n }\n virtual_ipaddress {\n 198.18.0.10\n }\n}\n"
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runTandem(t, "-c", "-k", f)
	if code != 0 || strings.TrimSpace(out) != "Configuration file is valid" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, want := range []string{f + `:3: vrrp_instance "VI_1": unknown state "SLAVE": starting as BACKUP`, f + `:8: vrrp_instance "VI_1": track_script "nope": no vrrp_script`} {
		if !strings.Contains(errOut, "[WARNING] "+want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}
