package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDebianPackage builds the .deb with scripts/build-deb and checks it without
// touching this machine's system: its files and control fields (dpkg-deb -c, -I), that
// the packaged binary checks a configuration, that systemd accepts the packaged unit
// (systemd-analyze verify), and an install and purge into a scratch dpkg root.
func TestDebianPackage(t *testing.T) {
	for _, tool := range []string{"dpkg-deb", "dpkg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	dir := t.TempDir()
	build := exec.Command("../scripts/build-deb", dir)
	build.Env = append(os.Environ(), "VERSION=1.2.3~test")
	b, err := build.CombinedOutput()
	if err != nil {
		t.Fatalf("build-deb: %v\n%s", err, b)
	}
	deb := strings.TrimSpace(string(b))
	if filepath.Base(deb) != "tandem_1.2.3~test_amd64.deb" {
		t.Fatalf("build-deb made %q", deb)
	}
	out := func(name string, args ...string) string {
		t.Helper()
		b, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, b)
		}
		return string(b)
	}

	list := out("dpkg-deb", "-c", deb)
	for _, want := range []string{
		"-rwxr-xr-x root/root .* ./usr/sbin/tandem",
		"-rw-r--r-- root/root .* ./lib/systemd/system/tandem.service",
		"-rw-r--r-- root/root .* ./etc/default/tandem",
		"-rw-r--r-- root/root .* ./etc/logrotate.d/tandem",
		"-rw-r--r-- root/root .* ./etc/rsyslog.d/49-tandem.conf",
		"-rw-r--r-- root/root .* ./usr/share/man/man8/tandem.8.gz",
		"-rw-r--r-- root/root .* ./usr/share/doc/tandem/copyright",
		"-rw-r--r-- root/root .* ./usr/share/doc/tandem/changelog.gz",
	} {
		if !matchLine(list, want) {
			t.Errorf("dpkg-deb -c: no line matching %q in\n%s", want, list)
		}
	}
	for _, bad := range []string{"./usr/sbin/haproxy", "./etc/haproxy/", "./etc/keepalived/", "haproxy.service", "keepalived.service"} {
		if strings.Contains(list, bad) {
			t.Errorf("the package ships %s: it would clash with haproxy or keepalived", bad)
		}
	}
	info := out("dpkg-deb", "-I", deb)
	for _, want := range []string{"Package: tandem", "Version: 1.2.3~test", "Architecture: amd64", "Section: net"} {
		if !strings.Contains(info, " "+want+"\n") {
			t.Errorf("dpkg-deb -I: no %q in\n%s", want, info)
		}
	}
	if cf := out("dpkg-deb", "-f", deb, "Depends"); strings.TrimSpace(cf) != "" {
		t.Errorf("Depends: %q, want none (a static binary)", cf)
	}

	// The packaged files themselves.
	tree := filepath.Join(dir, "tree")
	out("dpkg-deb", "-x", deb, tree)
	cfg := writeConfig(t, proxyConfig("127.0.0.1:1", "server web1 127.0.0.1:2"))
	if got := out(filepath.Join(tree, "usr/sbin/tandem"), "-c", "-f", cfg); strings.TrimSpace(got) != "Configuration file is valid" {
		t.Errorf("packaged tandem -c: %q", got)
	}
	if got := out(filepath.Join(tree, "usr/sbin/tandem"), "-version"); !strings.Contains(got, "1.2.3~test") {
		t.Errorf("packaged tandem -version: %q, want the package version", got)
	}
	unit, _ := os.ReadFile(filepath.Join(tree, "lib/systemd/system/tandem.service"))
	for _, want := range []string{"Type=notify", "-Ws -f \"$CONFIG\"", "-c -q", "ExecReload=/bin/kill -USR2 $MAINPID", "CapabilityBoundingSet=", "ProtectSystem="} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("tandem.service has no %q", want)
		}
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil && os.Getenv("CI") == "true" {
		t.Error("CI=true but systemd-analyze (package systemd) is not installed: scripts/test installs it")
	} else if err == nil {
		if b, err := exec.Command("systemd-analyze", "verify", "--man=no", filepath.Join(tree, "lib/systemd/system/tandem.service")).CombinedOutput(); err != nil || len(b) != 0 {
			t.Errorf("systemd-analyze verify tandem.service: %v\n%s", err, b)
		}
	}

	// Install and purge into a scratch dpkg database: nothing may be left behind.
	root := filepath.Join(dir, "root")
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644)
	dpkg := []string{"--root=" + root, "--log=/dev/null", "--force-script-chrootless"}
	out("dpkg", append(dpkg, "-i", deb)...)
	if _, err := os.Stat(filepath.Join(root, "usr/sbin/tandem")); err != nil {
		t.Fatalf("after dpkg -i: %v", err)
	}
	if st := out("dpkg", append(dpkg, "-s", "tandem")...); !strings.Contains(st, "Status: install ok installed") {
		t.Errorf("dpkg -s after install:\n%s", st)
	}
	out("dpkg", append(dpkg, "--purge", "tandem")...)
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && !strings.Contains(p, "/var/lib/dpkg/") {
			t.Errorf("left after purge: %s", p)
		}
		return nil
	})
}

// matchLine reports whether a line of text matches the pattern (".*" for any run).
func matchLine(text, pattern string) bool {
	parts := strings.Split(pattern, ".*")
	for _, line := range strings.Split(text, "\n") {
		rest, ok := line, true
		for i, p := range parts {
			k := strings.Index(rest, p)
			if k < 0 || (i == 0 && k != 0) {
				ok = false
				break
			}
			rest = rest[k+len(p):]
		}
		if ok && rest == "" {
			return true
		}
	}
	return false
}
