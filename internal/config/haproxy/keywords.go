package haproxy

import (
	"fmt"
	"sort"
	"strings"

	"tandem/internal/config"
)

// Section is a set of haproxy.cfg section kinds.
type Section uint8

// The section kinds, in the order HAProxy's documentation lists them.
const (
	SecGlobal Section = 1 << iota
	SecDefaults
	SecFrontend
	SecListen
	SecBackend
)

const (
	secProxies = SecDefaults | SecFrontend | SecListen | SecBackend
	secFront   = SecDefaults | SecFrontend | SecListen // proxies that accept connections
	secBack    = SecDefaults | SecListen | SecBackend  // proxies that hold servers
)

var sectionNames = []struct {
	s    Section
	name string
}{{SecGlobal, "global"}, {SecDefaults, "defaults"}, {SecFrontend, "frontend"}, {SecListen, "listen"}, {SecBackend, "backend"}}

// String lists the sections, comma separated, in the documentation's order.
func (s Section) String() string {
	var names []string
	for _, n := range sectionNames {
		if s&n.s != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ", ")
}

// Has reports whether every section of o is in s.
func (s Section) Has(o Section) bool { return s&o == o }

// Status says how far tandem goes with a keyword.
type Status string

// Keyword statuses.
const (
	StatusImplemented Status = "implemented"
	StatusNoEffect    Status = "accepted, no effect (warns)"
)

// Keyword is one supported haproxy.cfg keyword: a single word ("maxconn") or a
// keyword sequence ("option forwardfor", "timeout connect", "stats socket").
type Keyword struct {
	Name     string
	Sections Section
	Status   Status
	Doc      string // one line
	Syntax   string // arguments, e.g. "<time>"
}

// handler carries out one statement. px is nil in the global section. args are the
// words after the keyword's name; neg is true when it was prefixed by "no".
type handler func(p *parser, px *proxyState, st *stmt, args []string, neg bool)

type kwEntry struct {
	Keyword
	fn       handler
	negation bool // may be prefixed with "no"
}

// registry is the keyword table. It is filled by init so that handlers may refer to it.
var registry []kwEntry

// multiWord are first words that form a keyword together with the second word.
var multiWord = map[string]bool{"option": true, "timeout": true, "stats": true, "http-check": true, "tcp-check": true, "monitor": true, "tcp-request": true, "tcp-response": true, "stick": true}

// Keywords returns every supported keyword, sorted by name then sections.
func Keywords() []Keyword {
	out := make([]Keyword, 0, len(registry))
	for _, e := range registry {
		out = append(out, e.Keyword)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Sections < out[j].Sections
	})
	return out
}

// KeywordTableMarkdown renders Keywords as a Markdown table (stable output): one row
// per keyword and section set, the name in backquotes in the first column, "|" in
// arguments escaped as "\|".
func KeywordTableMarkdown() string {
	var b strings.Builder
	b.WriteString("| keyword | arguments | sections | status | what it does |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, k := range Keywords() {
		args := ""
		if k.Syntax != "" {
			args = "`" + mdEscape(k.Syntax) + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", k.Name, args, k.Sections, k.Status, mdEscape(k.Doc))
	}
	return b.String()
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// lookup finds the entry for a statement's words in section sec. It returns the
// entry (nil if none), the keyword's name as written, and how many words it took.
func lookup(sec Section, words []string) (e *kwEntry, name string, n int) {
	name, n = words[0], 1
	if multiWord[words[0]] && len(words) > 1 {
		name, n = words[0]+" "+words[1], 2
	}
	if k := captureWords(words); k > 0 {
		name, n = strings.Join(words[:k], " "), k
	}
	for i := range registry {
		if registry[i].Name == name && registry[i].Sections&sec != 0 {
			return &registry[i], name, n
		}
	}
	return nil, name, n
}

// allowedIn returns the sections where a keyword named name is allowed, or 0.
func allowedIn(name string) Section {
	var s Section
	for _, e := range registry {
		if e.Name == name {
			s |= e.Sections
		}
	}
	return s
}

// suggest returns the closest keyword valid in sec, or "".
func suggest(sec Section, name string) string {
	cands := []string{"global", "defaults", "frontend", "backend", "listen"}
	for _, e := range registry {
		if e.Sections&sec != 0 {
			cands = append(cands, e.Name)
		}
	}
	return closest(name, cands)
}

// Suggestions come from the config package, shared with the keepalived parser.
var (
	closest    = config.Closest
	didYouMean = config.DidYouMean
)
