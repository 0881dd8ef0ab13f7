package config

import (
	"os/exec"
	"strings"
	"testing"
)

// purePackages are the packages that do no I/O (DESIGN.md §4.16): the configuration
// model, the protocol codecs and state machines, and the rules language.
var purePackages = []string{
	"config", "balance", "vrrp", "http1", "clienthello", "proxyproto",
	"sample", "rules", "track", "stick", "persist", "userlist",
}

// TestPurePackages checks that neither a pure package nor any tandem package it depends
// on imports syscall, os, net or net/http (io/fs, for error values, is allowed).
func TestPurePackages(t *testing.T) {
	for _, name := range purePackages {
		out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}:{{join .Imports ","}}`, "tandem/internal/"+name).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", name, err)
		}
		for _, line := range strings.Fields(string(out)) {
			pkg, imports, _ := strings.Cut(line, ":")
			if !strings.HasPrefix(pkg, "tandem/") {
				continue
			}
			for _, p := range strings.Split(imports, ",") {
				switch p {
				case "syscall", "net/http", "os", "net":
					t.Errorf("pure package %s depends on %s, which imports %s", name, pkg, p)
				}
			}
		}
	}
}
