package tlsconf

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// This file is the runtime API's crt-list and certificate-store commands (`new ssl
// cert`, `del ssl cert`, `show ssl crt-list`, `add ssl crt-list`, `del ssl crt-list`),
// with HAProxy 2.6's outputs, taken from Debian's haproxy over its stats socket.

// NewCert is `new ssl cert NAME`: an empty store `set ssl cert` then fills.
func (r *Registry) NewCert(name string) string {
	if name == "" {
		return "'new ssl cert' expects a filename\n"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.known(name) {
		return fmt.Sprintf("Certificate '%s' already exists!\n", name)
	}
	if r.extra == nil {
		r.extra = map[string]*Cert{}
	}
	r.extra[name] = nil
	return fmt.Sprintf("New empty certificate store '%s'!\n", name)
}

// DelCert is `del ssl cert NAME`: only a store no bind uses.
func (r *Registry) DelCert(name string) string {
	if name == "" {
		return "'del ssl cert' expects a certificate name\n"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.certLocked(name) != nil {
		return fmt.Sprintf("Can't remove the certificate: certificate '%s' in use, can't be deleted!\n\n", name)
	}
	if _, ok := r.extra[name]; !ok {
		return fmt.Sprintf("Can't remove the certificate: certificate '%s' doesn't exist!\n\n", name)
	}
	if r.txPath == name {
		return fmt.Sprintf("Can't remove the certificate: ongoing transaction for the certificate '%s'\n", name)
	}
	delete(r.extra, name)
	return fmt.Sprintf("Certificate '%s' deleted!\n", name)
}

// listEntries returns the entries of crt-list list, in line order, from the first bind
// that uses it, and whether any bind does.
func (r *Registry) listEntries(list string) ([]*Entry, bool) {
	for _, l := range r.lives {
		var out []*Entry
		for _, e := range l.Store().Entries() {
			if e.List == list {
				out = append(out, e)
			}
		}
		if out != nil {
			slices.SortStableFunc(out, func(a, b *Entry) int { return a.Line - b.Line })
			return out, true
		}
	}
	return nil, false
}

// ShowCrtList is `show ssl crt-list [-n] [FILE]`.
func (r *Registry) ShowCrtList(args []string) string {
	numbers := len(args) > 0 && args[0] == "-n"
	if numbers {
		args = args[1:]
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(args) == 0 {
		var lists []string
		for _, l := range r.lives {
			for _, e := range l.Store().Entries() {
				if e.List != "" {
					lists = append(lists, e.List)
				}
			}
		}
		slices.Sort(lists)
		var b strings.Builder
		for _, s := range slices.Compact(lists) {
			b.WriteString(s + "\n")
		}
		return b.String()
	}
	entries, ok := r.listEntries(args[0])
	if !ok {
		return "didn't find the specified filename\n"
	}
	var b strings.Builder
	b.WriteString("# " + args[0] + "\n")
	for _, e := range entries {
		b.WriteString(e.Cert.Path)
		if numbers {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		if len(e.Opts) > 0 {
			b.WriteString(" [" + renderOptions(e.Opts) + "]")
		}
		if len(e.Written) > 0 {
			b.WriteString(" " + strings.Join(e.Written, " "))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// optionOrder is the order HAProxy writes a crt-list line's options in.
var optionOrder = []string{"alpn", "verify", "ca-file", "crl-file", "ciphers", "ciphersuites", "curves", "ecdhe", "ssl-min-ver", "ssl-max-ver"}

// renderOptions writes options as HAProxy 2.6 does, in its order; its alpn value ends
// with a NUL byte (HAProxy writes the terminator of its ALPN string).
func renderOptions(words []string) string {
	vals := map[string]string{}
	for i := 0; i+1 < len(words); i += 2 {
		vals[words[i]] = words[i+1]
	}
	var parts []string
	for _, name := range optionOrder {
		v, ok := vals[name]
		if !ok {
			continue
		}
		if name == "alpn" {
			v += "\x00"
		}
		parts = append(parts, name+" "+v)
	}
	return strings.Join(parts, " ")
}

// AddCrtList is `add ssl crt-list LIST CERT` or, with a payload, `add ssl crt-list
// LIST <<` and one crt-list line: every bind using LIST serves the line from the next
// handshake.
func (r *Registry) AddCrtList(args []string, payload []byte) string {
	if len(args) < 1 || len(args) < 2 && len(payload) == 0 {
		return "'add ssl crtlist' expects a filename and a certificate name\n"
	}
	list := args[0]
	var line CrtListLine
	if len(args) >= 2 {
		line = CrtListLine{Path: args[1]}
	} else {
		lines, err := ParseCrtList(list, payload)
		if err != nil || len(lines) != 1 {
			return "Can't edit the crt-list: the payload must be one crt-list line!\n"
		}
		line = lines[0]
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	entries, ok := r.listEntries(list)
	if !ok {
		return fmt.Sprintf("Can't edit the crt-list: crt-list '%s' does not exist!\n", list)
	}
	cert := r.certLocked(line.Path)
	if cert == nil {
		ex, ok := r.extra[line.Path]
		if !ok {
			return fmt.Sprintf("Can't edit the crt-list: certificate '%s' does not exist!\n", line.Path)
		}
		if ex == nil {
			return fmt.Sprintf("Can't edit the crt-list: certificate '%s' is empty!\n", line.Path)
		}
		cert = ex
	}
	var lineOpts *Options
	if len(line.Options) > 0 {
		o, err := ParseLineOptions(line.Options)
		if err != nil {
			return fmt.Sprintf("Can't edit the crt-list: %v\n", err)
		}
		lineOpts = o
	}
	next := 1
	for _, e := range entries {
		next = max(next, e.Line+1)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Inserting certificate '%s' in crt-list '%s'", line.Path, list)
	done := map[*Bind]*Bind{}
	var pending []func()
	for _, l := range r.lives {
		old := l.Store().bind
		if nb, ok := done[old]; ok {
			pending = append(pending, func() { l.Swap(nb) })
			continue
		}
		if !slices.ContainsFunc(old.Entries, func(e *Entry) bool { return e.List == list }) {
			continue
		}
		e := &Entry{Cert: cert, Filters: line.Filters, List: list, Line: next, Opts: line.Options, Written: line.Written,
			Origin: fmt.Sprintf("%s:%d", list, next)}
		if lineOpts != nil {
			set, err := Resolve(old.CAs, append(slices.Clone(old.Layers), lineOpts)...)
			if err != nil {
				return fmt.Sprintf("Can't edit the crt-list: %v\n", err)
			}
			e.Settings = set
			if old.Settings != nil {
				set.Lifetime = old.Settings.Lifetime
			}
		}
		nb := *old
		nb.Entries = append(slices.Clone(old.Entries), e)
		done[old] = &nb
		b.WriteByte('.')
		pending = append(pending, func() { l.Swap(&nb) })
	}
	for _, swap := range pending { // all or nothing
		swap()
	}
	b.WriteString("\nSuccess!\n")
	return b.String()
}

// DelCrtList is `del ssl crt-list LIST CERT[:LINE]`.
func (r *Registry) DelCrtList(args []string) string {
	if len(args) < 2 {
		return "'del ssl crtlist' expects a filename and a certificate name\n"
	}
	list, name, lineNo := args[0], args[1], 0
	if i := strings.LastIndexByte(name, ':'); i > 0 {
		if n, err := strconv.Atoi(name[i+1:]); err == nil {
			name, lineNo = name[:i], n
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	entries, ok := r.listEntries(list)
	if !ok {
		return fmt.Sprintf("Can't delete the entry: crt-list '%s' does not exist!\n", list)
	}
	if ex, ok := r.extra[name]; ok && ex == nil && r.certLocked(name) == nil {
		return fmt.Sprintf("Can't delete the entry: certificate '%s' is empty!\n", name)
	}
	var lines []string
	target := -1
	for _, e := range entries {
		if e.Cert.Path == name {
			lines = append(lines, strconv.Itoa(e.Line))
			if lineNo == 0 || e.Line == lineNo {
				target = e.Line
			}
		}
	}
	switch {
	case len(lines) == 0:
		return fmt.Sprintf("Can't delete the entry: certificate '%s' does not exist!\n", name)
	case lineNo == 0 && len(lines) > 1:
		return fmt.Sprintf("Can't delete the entry: found the certificate '%s' in several entries, please specify a line number preceded by colons (%s)!\n", name, strings.Join(lines, ", "))
	case target < 0:
		return fmt.Sprintf("Can't delete the entry: found a certificate '%s' but the line number is incorrect, please specify a correct line number preceded by colons (%s)!\n", name, strings.Join(lines, ", "))
	}
	for _, l := range r.lives {
		if old := l.Store().bind; len(old.Entries) > 0 && old.Entries[0].List == list && old.Entries[0].Line == target {
			return fmt.Sprintf("Can't delete the entry: certificate '%s' cannot be deleted, it is used as default certificate by a bind!\n", name)
		}
	}
	done := map[*Bind]*Bind{}
	for _, l := range r.lives {
		old := l.Store().bind
		nb, ok := done[old]
		if !ok {
			c := *old
			c.Entries = slices.DeleteFunc(slices.Clone(old.Entries), func(e *Entry) bool { return e.List == list && e.Line == target })
			nb, done[old] = &c, &c
		}
		if len(nb.Entries) != len(old.Entries) {
			l.Swap(nb)
		}
	}
	return fmt.Sprintf("Entry '%s' deleted in crtlist '%s'!\n", name, list)
}
