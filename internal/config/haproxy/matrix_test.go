package haproxy

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const haproxyDoc = "/usr/share/doc/haproxy/configuration.txt.gz"

// docMatrix reads the keyword matrix of configuration.txt §4.1 from Debian's haproxy
// documentation. It skips the test when the file is absent, except under CI=true.
func docMatrix(t *testing.T) map[string]matrixEntry {
	t.Helper()
	f, err := os.Open(haproxyDoc)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed under CI (apt-get install haproxy): %v", haproxyDoc, err)
		}
		t.Skipf("%s not found (install Debian's haproxy to check the keyword table against HAProxy's matrix): %v", haproxyDoc, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`^(\S+(?: \S+)*?)\s{2,}(?:\(\*\)|\(deprecated\))?\s*(X \(!\)|X|-)\s+(X \(!\)|X|-)\s+(X|-)\s+(X|-)\s*$`)
	cols := []Section{SecDefaults, SecFrontend, SecListen, SecBackend}
	m := map[string]matrixEntry{}
	state := 0 // 0: before §4.1, 1: in §4.1, 2: in the table
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case state == 0 && line == "4.1. Proxy keywords matrix":
			state = 1
		case state == 1 && strings.HasPrefix(line, " keyword") && strings.Contains(line, "defaults"):
			state = 2
		case state == 2 && strings.HasPrefix(line, "4.2."):
			state = 3
		case state == 2:
			g := row.FindStringSubmatch(line)
			if g == nil {
				continue // separators and repeated headers
			}
			var e matrixEntry
			for i, c := range g[2:] {
				if strings.HasPrefix(c, "X") {
					e.sections |= cols[i]
				}
				if c == "X (!)" {
					e.namedOnly = true
				}
			}
			m[g[1]] = e
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(m) < 150 {
		t.Fatalf("read only %d keywords from §4.1 of %s: did the layout change?", len(m), haproxyDoc)
	}
	return m
}

func TestMatrixMatchesHAProxyDocumentation(t *testing.T) {
	doc := docMatrix(t)
	for name, want := range doc {
		if got, ok := haproxyMatrix[name]; !ok || got != want {
			t.Errorf("%q: matrix.go has %+v (present %v), configuration.txt §4.1 has %+v", name, got, ok, want)
		}
	}
	for name := range haproxyMatrix {
		if _, ok := doc[name]; !ok {
			t.Errorf("%q is in matrix.go but not in configuration.txt §4.1", name)
		}
	}
}

// sectionConfig is a configuration whose section of kind sec holds line (line 4).
func sectionConfig(sec Section, line string) string {
	head := "global\n    maxconn 100\n"
	switch sec {
	case SecDefaults:
		return head + "defaults named\n" + "    " + line + "\n"
	case SecFrontend:
		return head + "frontend f\n    " + line + "\n    bind 127.0.0.1:8001\n    default_backend b\nbackend b\n    server s 127.0.0.1:80\n"
	case SecListen:
		return head + "listen l\n    " + line + "\n    bind 127.0.0.1:8001\n    server s 127.0.0.1:80\n"
	default:
		return head + "backend b\n    " + line + "\n    server s 127.0.0.1:80\n"
	}
}

// outcome parses text and says what happened to line 4: "error", "warning" or "" (taken).
func outcome(t *testing.T, text string) (string, string) {
	t.Helper()
	cfg, err := Parse("t.cfg", []byte(text), testOptions(nil))
	if err != nil {
		for _, l := range strings.Split(err.Error(), "\n") {
			if strings.HasPrefix(l, "t.cfg:4:") {
				return "error", l
			}
		}
		return "", ""
	}
	for _, w := range cfg.Warnings {
		if w.Pos.Line == 4 {
			return "warning", w.Error()
		}
	}
	return "", ""
}

// TestSectionsFollowHAProxyMatrix checks every keyword of HAProxy's matrix, in every
// proxy section: tandem's table allows it only where HAProxy does; where HAProxy takes
// it and tandem's table has no entry, tandem refuses it (an error, never a warning);
// where HAProxy does not take it, tandem warns or refuses, and refuses every rule.
func TestSectionsFollowHAProxyMatrix(t *testing.T) {
	doc := docMatrix(t)
	var names []string
	for n := range doc {
		names = append(names, n)
	}
	sort.Strings(names)
	var gaps []string
	for _, name := range names {
		row := doc[name]
		tandem := allowedIn(name) & secProxies
		if extra := tandem &^ row.sections; extra != 0 {
			t.Errorf("%q: tandem's table allows it in %s, HAProxy 2.6 does not", name, extra)
		}
		for _, sec := range []Section{SecDefaults, SecFrontend, SecListen, SecBackend} {
			line := name + " x"
			got, msg := outcome(t, sectionConfig(sec, line))
			switch {
			case tandem&sec != 0:
				// tandem carries it out here: the handler decides about the arguments.
			case row.sections&sec != 0:
				if got != "error" {
					t.Errorf("%q in a %s: HAProxy takes it, tandem's table has no entry, and tandem %s (want an error naming it): %s",
						name, sectionName(sec), orTaken(got), msg)
				} else if !strings.Contains(msg, fmt.Sprintf("%q", name)) {
					t.Errorf("%q in a %s: the error does not name the keyword: %s", name, sectionName(sec), msg)
				}
				if tandem != 0 {
					gaps = append(gaps, fmt.Sprintf("%s in a %s", name, sectionName(sec)))
				}
			default:
				if got == "" {
					t.Errorf("%q in a %s: HAProxy does not take it there, tandem took it silently", name, sectionName(sec))
				}
				if ruleKeywords[name] && got != "error" {
					t.Errorf("%q in a %s: a rule must be refused, not ignored with a warning: %s", name, sectionName(sec), msg)
				}
			}
		}
	}
	t.Logf("keywords HAProxy takes where tandem refuses them (tandem has them elsewhere): %s", strings.Join(gaps, "; "))
}

func orTaken(s string) string {
	if s == "" {
		return "took it"
	}
	return "gave a " + s
}

// TestNamedDefaultsOnly checks the "(!)" keywords: HAProxy refuses them in an anonymous
// defaults section, and so does tandem.
func TestNamedDefaultsOnly(t *testing.T) {
	for name, row := range haproxyMatrix {
		if !row.namedOnly {
			continue
		}
		got, msg := outcome(t, "global\n    maxconn 1\ndefaults\n    "+name+" x\n")
		if got != "error" || !strings.Contains(msg, "anonymous defaults") {
			t.Errorf("%q in an anonymous defaults section: got %q %s, want the anonymous defaults error", name, got, msg)
		}
	}
}

// TestRuleWhereIgnoredIsRefused: issue 10's security defect was "http-request deny" in a
// backend accepted with a warning and the request forwarded. Rules are now carried out in
// every section HAProxy takes them (TestActionsLoopback "backend deny" checks the 403);
// where HAProxy ignores a rule with a warning, tandem refuses it so that no rule is lost.
func TestRuleWhereIgnoredIsRefused(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"use_backend in a backend (HAProxy only warns)", sectionConfig(SecBackend, "use_backend b"),
			`t.cfg:4: backend "b": keyword "use_backend" has no effect in a backend section (allowed in: frontend, listen): HAProxy ignores it here with a warning, tandem refuses it so that the rule is not lost; move it to a frontend or listen section or delete it`},
		{"use-server in a frontend (HAProxy only warns)", sectionConfig(SecFrontend, "use-server s if TRUE"),
			`t.cfg:4: frontend "f": keyword "use-server" has no effect in a frontend section (allowed in: listen, backend): HAProxy ignores it here with a warning, tandem refuses it so that the rule is not lost; move it to a listen or backend section or delete it`},
		{"stick on in a frontend", sectionConfig(SecFrontend, "stick on src"),
			`t.cfg:4: frontend "f": keyword "stick on" has no effect in a frontend section (allowed in: listen, backend): HAProxy ignores it here with a warning, tandem refuses it so that the rule is not lost; move it to a listen or backend section or delete it`},
		{"http-request in an anonymous defaults section", "defaults\n    mode http\n    http-request deny\n",
			`t.cfg:3: defaults: keyword "http-request" is not allowed in an anonymous defaults section: HAProxy 2.6 takes it only in a named one ("defaults NAME")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.cfg", []byte(tt.text), testOptions(nil))
			checkErrors(t, err, []string{tt.want})
		})
	}
}

// TestIgnoredAsHAProxy checks keywords HAProxy ignores with a warning in a section
// that lacks the capability (verified with haproxy -c): tandem warns the same way.
func TestIgnoredAsHAProxy(t *testing.T) {
	tests := []struct {
		sec  Section
		line string
	}{
		{SecFrontend, "timeout server 5s"},
		{SecFrontend, "option redispatch"},
		{SecFrontend, "option abortonclose"},
		{SecBackend, "timeout client 5s"},
		{SecBackend, "option dontlognull"},
		{SecBackend, "option http-ignore-probes"},
		{SecBackend, "capture request header Host len 10"},
	}
	for _, tt := range tests {
		got, msg := outcome(t, sectionConfig(tt.sec, tt.line))
		if got != "warning" || !strings.Contains(msg, "is ignored in a "+sectionName(tt.sec)+" section") {
			t.Errorf("%s in a %s: got %q %s, want the warning HAProxy gives", tt.line, sectionName(tt.sec), got, msg)
		}
	}
}
