package haproxy

import (
	"sort"
	"strings"
	"testing"
)

// TestPlannedAreRefused checks every entry of planned where a user meets it: a section
// at the top level, a server option on a server line, a proxy keyword in a section where
// HAProxy takes it and tandem does not, a global keyword in global. Each must still be
// refused, and its error must name the issue; an entry tandem now carries out would give
// a stale "planned" hint (or none at all), and fails here until its line is removed.
func TestPlannedAreRefused(t *testing.T) {
	var names []string
	for n := range plannedBy {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		want := "planned: " + plannedBy[name] + ";"
		var texts []string
		if unsupportedSections[name] {
			texts = append(texts, name+" x\n")
		}
		if knownServerOptions[name] {
			texts = append(texts, "backend b\n    server s 127.0.0.1:80 "+name+" x\n")
		}
		if row, ok := haproxyMatrix[name]; ok {
			gap := row.sections &^ allowedIn(name)
			if gap == 0 {
				t.Errorf("%q: tandem carries it out in every section HAProxy takes it (%s): remove it from planned", name, row.sections)
				continue
			}
			for _, n := range sectionNames {
				if gap&n.s != 0 {
					texts = append(texts, sectionConfig(n.s, name+" x"))
					break
				}
			}
		} else if knownHAProxy[name] {
			if where := allowedIn(name); where != 0 {
				t.Errorf("%q: tandem carries it out (in %s): remove it from planned", name, where)
				continue
			}
			texts = append(texts, "global\n    "+name+" x\n")
		}
		if len(texts) == 0 {
			t.Errorf("%q is neither an HAProxy section, server option nor keyword: remove it from planned", name)
		}
		for _, text := range texts {
			_, err := Parse("t.cfg", []byte(text), testOptions(nil))
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%q: want an error with %q, got: %v\n(config:\n%s)", name, want, err, text)
			}
		}
	}
}

// TestOneTablePerKeyword: a keyword of HAProxy's proxy matrix or a removed keyword is
// described there only (the parser reads them first, so a copy in knownHAProxy would
// never be read), and the rule and capability lists name matrix keywords.
func TestOneTablePerKeyword(t *testing.T) {
	for name := range knownHAProxy {
		if _, ok := haproxyMatrix[name]; ok {
			t.Errorf("%q is in both knownHAProxy and the matrix: keep it in matrix.go only", name)
		}
		if _, ok := legacyKeywords[name]; ok {
			t.Errorf("%q is in both knownHAProxy and legacyKeywords: keep it in legacy.go only", name)
		}
	}
	for _, set := range []map[string]bool{ruleKeywords, capabilityErrors} {
		for name := range set {
			if _, ok := haproxyMatrix[name]; !ok {
				t.Errorf("%q is not a matrix keyword: the parser never asks whether it is a rule", name)
			}
		}
	}
}
