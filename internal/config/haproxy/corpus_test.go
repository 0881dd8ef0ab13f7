package haproxy

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tandem/internal/config"
)

// corpusDir is where the shared corpus of real haproxy.cfg files lives: beside the
// repository (<repo>/../shared/corpus), never copied into it.
const corpusDir = "../../../../shared/corpus/haproxy"

// TestCorpus reads every real haproxy.cfg of the shared corpus. It asserts tandem's
// promises on files it did not write: a file tandem accepts holds no rule it ignored
// (no warning on a rule line), and every refusal names its file and line and the
// keyword at fault (except lexing errors and a missing last newline, about the text).
func TestCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.cfg"))
	if len(files) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no corpus in %s (it lives beside the repository, in ../shared/corpus)", corpusDir)
		}
		t.Skipf("no corpus in %s: nothing to check (it lives beside the repository, in ../shared/corpus)", corpusDir)
	}
	opt := Options{
		// No lookups leave the machine: every name resolves to a documentation address.
		Resolve:   func(string) ([]netip.Addr, error) { return []netip.Addr{netip.MustParseAddr("192.0.2.1")}, nil },
		LookupEnv: func(string) (string, bool) { return "", false },
	}
	accepted := 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var lexErrs config.ErrorList
		first := map[int]string{} // line -> the statement's keyword words
		for _, st := range lex(path, data, opt.LookupEnv, &lexErrs) {
			first[st.pos.Line] = strings.Join(st.words[:min(3, len(st.words))], " ")
		}
		cfg, err := ParseFiles([]string{path}, opt)
		if err == nil {
			accepted++
			for _, w := range cfg.Warnings {
				if name, ok := matrixName(strings.Fields(first[w.Pos.Line])); ok && ruleKeywords[name] {
					t.Errorf("%s accepted with a rule ignored: %s", filepath.Base(path), w)
				}
			}
			continue
		}
		var list config.ErrorList
		if !errors.As(err, &list) {
			t.Errorf("%s: error %v is not a config.ErrorList", filepath.Base(path), err)
			continue
		}
		for _, e := range list {
			if e.Pos.File != path || e.Pos.Line == 0 {
				t.Errorf("%s: error without file:line: %s", filepath.Base(path), e)
				continue
			}
			words := strings.Fields(first[e.Pos.Line])
			aboutFile := strings.HasPrefix(e.Msg, "missing newline at the end") || strings.Contains(e.Msg, " at column ")
			if len(words) > 0 && !aboutFile && !strings.Contains(e.Msg, words[0]) {
				t.Errorf("%s: error does not name the keyword %q of its line: %s", filepath.Base(path), words[0], e)
			}
		}
	}
	t.Logf("%d of %d corpus files accepted", accepted, len(files))
}
