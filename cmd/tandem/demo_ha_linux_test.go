package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestDemoHANeedsRoot: without root, tandem demo --ha refuses with an error that says
// it needs root and what plain tandem demo offers, and builds nothing.
func TestDemoHANeedsRoot(t *testing.T) {
	defer func(f func() int) { geteuid = f }(geteuid)
	geteuid = func() int { return 1000 }
	for _, args := range [][]string{{"demo", "--ha"}, {"demo", "-ha", "-failover-after", "1s"}, {"demo", "-bind", "127.0.0.1:0", "-ha"}} {
		var out, errOut bytes.Buffer
		code := run(args, &out, &errOut)
		if code != 1 || out.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q", args, code, out.String())
		}
		for _, want := range []string{"needs root", "sudo", `"tandem demo"`, "127.0.0.1"} {
			if !strings.Contains(errOut.String(), want) {
				t.Errorf("%v: the error lacks %q:\n%s", args, want, errOut.String())
			}
		}
	}
}
