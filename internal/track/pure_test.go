package track

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPure checks that the package stays pure (DESIGN.md §4.16): neither it nor any
// tandem package it depends on imports syscall, os, net or net/http.
func TestPure(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}:{{join .Imports ","}}`, "tandem/internal/track").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, line := range strings.Fields(string(out)) {
		pkg, imports, _ := strings.Cut(line, ":")
		if !strings.HasPrefix(pkg, "tandem/") {
			continue
		}
		for _, p := range strings.Split(imports, ",") {
			switch p {
			case "syscall", "net/http", "os", "net", "io/fs":
				t.Errorf("%s imports %s", pkg, p)
			}
		}
	}
}
