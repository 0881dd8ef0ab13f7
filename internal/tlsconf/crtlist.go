package tlsconf

import (
	"fmt"
	"strings"
)

// CrtListLine is one line of a crt-list file:
//
//	<crtfile> [\[<sslbindconf> ...\]] [[!]<snifilter> ...]
type CrtListLine struct {
	Line    int
	Path    string   // as written (relative to crt-base)
	Options []string // the words between the brackets
	Filters []string // SNI filters, lowercased; "!name" is negative
	Written []string // the filters as written (show ssl crt-list)
}

// LineError is a problem on one line of a file tandem reads besides the configuration.
type LineError struct {
	File string
	Line int
	Msg  string
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// ParseCrtList reads a crt-list file. Empty lines and lines starting with '#' are
// skipped. The options are only cut out here; ParseOption reads them.
func ParseCrtList(file string, data []byte) ([]CrtListLine, error) {
	var out []CrtListLine
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimRight(line, "\r")
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' {
			continue
		}
		if strings.ContainsRune(t, 0) {
			return nil, &LineError{file, n, "NUL byte in line"}
		}
		l := CrtListLine{Line: n}
		rest := t
		if j := strings.IndexAny(rest, " \t"); j >= 0 {
			l.Path, rest = rest[:j], strings.TrimSpace(rest[j:])
		} else {
			l.Path, rest = rest, ""
		}
		if strings.ContainsAny(l.Path, "[]") {
			return nil, &LineError{file, n, fmt.Sprintf("certificate path %q: a path comes first, then [options]", l.Path)}
		}
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, &LineError{file, n, "missing ']' after the options"}
			}
			l.Options = strings.Fields(rest[1:end])
			rest = strings.TrimSpace(rest[end+1:])
		}
		if strings.ContainsAny(rest, "[]") {
			return nil, &LineError{file, n, "options in brackets must come right after the certificate path"}
		}
		for _, f := range strings.Fields(rest) {
			if f == "!" {
				return nil, &LineError{file, n, "empty negative SNI filter \"!\""}
			}
			l.Filters = append(l.Filters, strings.ToLower(f))
			l.Written = append(l.Written, f)
		}
		out = append(out, l)
	}
	return out, nil
}

// Entry is one certificate of a bind with how it is reached: the names it is filed
// under, the negative filters of its crt-list line, and the line's own settings.
type Entry struct {
	Cert     *Cert
	Filters  []string  // SNI filters of its crt-list line (nil: the certificate's names)
	Settings *Settings // the crt-list line's settings; nil: the bind's
	Origin   string    // "file" or "crtlist:line", for messages

	// From a crt-list (the runtime API shows and edits them): its path, the line, the
	// options and filters as written.
	List    string
	Line    int
	Opts    []string
	Written []string
}

// names returns the positive names the entry is filed under and its negative filters.
func (e *Entry) names() (pos, neg []string) {
	if len(e.Filters) == 0 {
		return e.Cert.Names, nil
	}
	for _, f := range e.Filters {
		if strings.HasPrefix(f, "!") {
			neg = append(neg, f[1:])
		} else {
			pos = append(pos, f)
		}
	}
	return pos, neg
}

// ParseLineOptions reads the options of a crt-list line.
func ParseLineOptions(words []string) (*Options, error) {
	o := &Options{}
	for i := 0; i < len(words); {
		n, err := o.ParseOption(words[i:], InCrtList)
		if err == ErrNotTLSOption {
			switch words[i] {
			case "npn", "no-ca-names", "allow-0rtt", "ca-verify-file", "ocsp-update":
				return nil, fmt.Errorf("option %q is not supported by tandem", words[i])
			}
			return nil, fmt.Errorf("unknown option %q", words[i])
		}
		if err != nil {
			return nil, err
		}
		i += n
	}
	return o, nil
}
