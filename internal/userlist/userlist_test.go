package userlist

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestSHACryptKnownVectors(t *testing.T) {
	// Hashes written by Debian's mkpasswd (whois 5.5), checked in so the test runs
	// without it; TestSHACryptMkpasswd checks fresh ones when mkpasswd is there.
	for _, tc := range []struct{ hash, pass string }{
		{"$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1", "secret"},
		{"$5$rounds=1000$abcdefgh$XIppta5rT8zJUu4vAOKQXrwq9uY4Ijlz6VjyOmkx5i4", "secret"},
	} {
		h, err := parseHash(tc.hash)
		if err != nil {
			t.Fatal(err)
		}
		if !h.verify([]byte(tc.pass)) {
			t.Errorf("%s: password %q not verified (computed %s)", tc.hash, tc.pass, shaCrypt([]byte(tc.pass), h.salt, h.rounds, h.custom, h.sha512))
		}
		if h.verify([]byte(tc.pass + "x")) {
			t.Errorf("%s: a wrong password verified", tc.hash)
		}
	}
}

func TestSHACryptMkpasswd(t *testing.T) {
	if _, err := exec.LookPath("mkpasswd"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but mkpasswd (package whois) is not installed: scripts/test installs it")
		}
		t.Skip("mkpasswd (package whois) is not installed")
	}
	for _, tc := range []struct{ method, pass string }{
		{"sha-512", "secret"}, {"sha-256", "secret"}, {"sha-512", ""}, {"sha-512", strings.Repeat("long password ", 10)},
		{"sha-256", strings.Repeat("p", 64)}, {"sha-512", "ünïcødé"},
	} {
		for _, extra := range [][]string{nil, {"-R", "1234"}} {
			args := append([]string{"-m", tc.method}, extra...)
			args = append(args, "-s")
			cmd := exec.Command("mkpasswd", args...)
			cmd.Stdin = strings.NewReader(tc.pass + "\n")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("mkpasswd %v: %v", args, err)
			}
			hash := strings.TrimSpace(string(out))
			l := New("L")
			if err := l.AddUser("u", hash, false, nil); err != nil {
				t.Fatalf("%s: %v", hash, err)
			}
			if !l.Check([]byte("u"), []byte(tc.pass)) {
				t.Errorf("%s %v %q: %s not verified", tc.method, extra, tc.pass, hash)
			}
			if l.Check([]byte("u"), []byte(tc.pass+"!")) {
				t.Errorf("%s: wrong password verified", hash)
			}
			if !l.Check([]byte("u"), []byte(tc.pass)) { // from the cache this time
				t.Errorf("%s: second check failed", hash)
			}
		}
	}
}

func TestUnsupportedFormatsRefused(t *testing.T) {
	for _, h := range []string{"$y$j9T$abc$def", "$2b$05$abcdefghijklmnopqrstuv", "$1$ab$cd", "abDES", "$6$salt$short"} {
		if err := New("L").AddUser("u", h, false, nil); err == nil {
			t.Errorf("%s accepted", h)
		}
	}
}

func TestGroups(t *testing.T) {
	l := New("L")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(l.AddGroup("G1", nil))
	must(l.AddGroup("G2", []string{"bob"}))
	must(l.AddUser("alice", "pw", true, []string{"G1"}))
	must(l.AddUser("bob", "pw2", true, nil))
	must(l.Validate())
	for _, tc := range []struct {
		user, group string
		want        bool
	}{{"alice", "G1", true}, {"alice", "G2", false}, {"bob", "G2", true}, {"bob", "G1", false}, {"eve", "G1", false}} {
		if got := slices.Contains(l.Groups([]byte(tc.user)), tc.group); got != tc.want {
			t.Errorf("%s in %s: %v (Groups: %v)", tc.user, tc.group, got, l.Groups([]byte(tc.user)))
		}
	}
	if !l.Check([]byte("alice"), []byte("pw")) || l.Check([]byte("alice"), []byte("pw2")) || l.Check([]byte("eve"), []byte("pw")) {
		t.Error("insecure-password check")
	}
	l2 := New("L2")
	must(l2.AddUser("x", "p", true, []string{"nogroup"}))
	if err := l2.Validate(); err == nil || !strings.Contains(err.Error(), "no such group") {
		t.Errorf("Validate: %v", err)
	}
	l3 := New("L3")
	must(l3.AddGroup("G", []string{"ghost"}))
	if err := l3.Validate(); err == nil || !strings.Contains(err.Error(), "no such user") {
		t.Errorf("Validate: %v", err)
	}
}

// FuzzParseHash: any password field parses or is refused without panicking, and one
// that parses verifies its own password only if the digest matches.
func FuzzParseHash(f *testing.F) {
	for _, s := range []string{
		"$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1",
		"$5$rounds=1000$abcdefgh$XIppta5rT8zJUu4vAOKQXrwq9uY4Ijlz6VjyOmkx5i4", "$y$j9T$a$b", "$5$rounds=$x$", "",
	} {
		f.Add(s, "secret")
	}
	f.Fuzz(func(t *testing.T, hash, pass string) {
		h, err := parseHash(hash)
		if err != nil {
			return
		}
		if h.rounds > 5000 {
			return // keep the fuzzer fast: costly hashes are checked above
		}
		if h.verify([]byte(pass)) && shaCrypt([]byte(pass), h.salt, h.rounds, h.custom, h.sha512) != hash {
			t.Fatalf("%q verified %q without computing to it", hash, pass)
		}
	})
}
