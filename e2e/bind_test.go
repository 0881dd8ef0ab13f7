package e2e

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestBindForms: `*:port`, `:::port` (IPv6, dual-stack) and a list `A:P,B:P` all listen.
func TestBindForms(t *testing.T) {
	if _, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	a := startWeb(t, "a")
	p4, p6, l1, l2 := port(t), port(t), port(t), port(t)
	startTandem(t, defaults+fmt.Sprintf(`
frontend star
    bind *:%d
    default_backend app
frontend v6
    bind :::%d
    default_backend app
frontend list
    bind 127.0.0.1:%d,127.0.0.1:%d
    default_backend app
backend app
    server a %s
`, p4, p6, l1, l2, a.addr), fmt.Sprintf("127.0.0.1:%d", p4))
	c := client(false)
	for _, u := range []string{
		fmt.Sprintf("http://127.0.0.1:%d/", p4),
		fmt.Sprintf("http://[::1]:%d/", p6),
		fmt.Sprintf("http://127.0.0.1:%d/", p6), // dual-stack
		fmt.Sprintf("http://127.0.0.1:%d/", l1),
		fmt.Sprintf("http://127.0.0.1:%d/", l2),
	} {
		if code, s := body(t, c, u); code != 200 || s != "a" {
			t.Errorf("%s: %d %q", u, code, s)
		}
	}
}

func port(t *testing.T) int {
	t.Helper()
	_, p, _ := net.SplitHostPort(freeAddr(t))
	var n int
	fmt.Sscan(p, &n)
	return n
}

// TestREADMEConfigsAreValid: every haproxy.cfg written out in README.md passes tandem -c,
// so the docs cannot rot.
func TestREADMEConfigsAreValid(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile(`(?s)cat > \S+\.cfg <<'EOF'\n(.*?)\nEOF\n`).FindAllSubmatch(readme, -1)
	if len(blocks) == 0 {
		t.Fatal("README.md writes out no haproxy.cfg: the pattern of this test no longer matches")
	}
	for i, b := range blocks {
		cfg := writeConfig(t, string(b[1])+"\n") // as the shell's heredoc writes it
		code, out, errOut := runTandem(t, "-c", "-f", cfg)
		if code != 0 || strings.TrimSpace(out) != "Configuration file is valid" {
			t.Errorf("README config %d: exit %d, %q\n%s", i+1, code, out, errOut)
		}
	}
}
