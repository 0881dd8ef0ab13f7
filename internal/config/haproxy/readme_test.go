package haproxy

import (
	"os"
	"strings"
	"testing"
)

const (
	readmePath  = "../../../README.md"
	tableBegin  = "<!-- keywords:begin -->\n"
	tableEnd    = "<!-- keywords:end -->"
	updateGuide = "regenerate it with: TANDEM_UPDATE_README=1 go test ./internal/config/haproxy -run TestREADMEKeywordTable"
)

// TestREADMEKeywordTable: the README's keyword table is exactly the registry's, so the
// documentation and the parser never drift apart.
func TestREADMEKeywordTable(t *testing.T) {
	data, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i, j := strings.Index(s, tableBegin), strings.Index(s, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q … %q markers", strings.TrimSpace(tableBegin), tableEnd)
	}
	want := KeywordTableMarkdown()
	got := s[i+len(tableBegin) : j]
	if got == want {
		return
	}
	if os.Getenv("TANDEM_UPDATE_README") == "1" {
		s = s[:i+len(tableBegin)] + want + s[j:]
		if err := os.WriteFile(readmePath, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("README.md keyword table differs from the keyword registry; %s", updateGuide)
}
