package runtimeapi

import (
	"strings"
	"testing"
)

// FuzzPatternCommands runs arbitrary arguments through the acl and map commands over
// live lists: no panic, every answer ends with the command's empty line, and the lists
// stay readable (show and get answer after any change).
func FuzzPatternCommands(f *testing.F) {
	for _, s := range []string{
		"add acl #0 1.1.1.0/24", "add acl #0 notanip", "del acl #0 #0x1", "del acl #0 #0xzz",
		"set map #5 #0x a", "add map @4294967295 #5 a b", "show acl @x #4", "clear acl @0 #1",
		"add acl #2 (abc", "add acl #2 ^a.*b$", "get acl #0 ::1", "get map #5 a.example",
		"add map #5 k v;set map #5 k w;del map #5 k", "add acl #4 /q\\ r", "commit map @1 #5",
		"show acl #-0", "show acl #+2", "get acl #4 " + strings.Repeat("/", 100),
	} {
		f.Add(s)
	}
	verbs := []string{"show", "get", "add", "del", "set", "clear", "prepare", "commit"}
	f.Fuzz(func(t *testing.T, line string) {
		if len(line) > 4096 {
			return
		}
		src := patternSource(t)
		for _, cmd := range splitCommands(line) {
			w := splitWords(cmd)
			if len(w) < 2 || (w[1] != "acl" && w[1] != "map") {
				continue
			}
			known := false
			for _, v := range verbs {
				known = known || w[0] == v
			}
			if !known {
				continue
			}
			out := Do(src, LevelUser, cmd)
			if !strings.HasSuffix(out, "\n") {
				t.Fatalf("%q: answer %q does not end with a newline", cmd, out)
			}
		}
		for _, cmd := range []string{"show acl", "show map", "show acl #0", "show map #5", "get acl #0 10.1.1.1", "get map #5 a.example"} {
			if out := Do(src, LevelUser, cmd); out == "" || strings.HasPrefix(out, "Unknown") {
				t.Fatalf("after %q, %q answers %q", line, cmd, out)
			}
		}
	})
}
