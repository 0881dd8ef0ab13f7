package sample

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Store holds the pattern lists of a configuration: `-f FILE` pattern files, map
// files, and the inline patterns of each ACL. It is live state: the runtime API
// (add/del/clear acl, add/set/del/clear map) changes entries, and every compiled
// view of a list is rebuilt and swapped atomically, so the data path never locks.
// A Store belongs to one loaded configuration (a reload reads the files again, as
// HAProxy does).
type Store struct {
	mu     sync.Mutex
	lists  []*List
	byName map[string]*List
	nextID uint64
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{byName: map[string]*List{}} }

// Entry is one pattern (ACL lists) or key and value (maps). ID is unique in its
// Store and stable while the entry lives: the runtime API prints it as 0x%x.
type Entry struct {
	ID         uint64
	Key, Value string
}

// List is one pattern list: a file (Name is its path) or an ACL's inline patterns
// (Name ""). Its entries are in file order.
type List struct {
	// ID is the list's number, as `show acl` and `show map` print it (#ID).
	ID   int
	Name string
	// Desc says where the list is used, for `show acl`/`show map`.
	Desc  string
	IsMap bool // read as KEY VALUE lines (some map converter uses it)
	IsACL bool // used by an ACL

	store   *Store
	mu      sync.Mutex
	entries []Entry
	views   []*view
}

// view is a list compiled for one use: a match method, case, and for maps the
// output type. Lookups read snap.
type view struct {
	l     *List
	kind  matchKind
	icase bool
	isMap bool
	out   Type
	snap  atomic.Pointer[patSet]
}

func (v *view) set() *patSet { return v.snap.Load() }

// Lists returns every list in the order they were created.
func (s *Store) Lists() []*List {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*List(nil), s.lists...)
}

// Lookup returns the list named name (a file path), or "#ID" for a list by number.
func (s *Store) Lookup(name string) *List {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasPrefix(name, "#") {
		id, err := strconv.Atoi(name[1:])
		if err == nil && id >= 0 && id < len(s.lists) {
			return s.lists[id]
		}
		return nil
	}
	return s.byName[name]
}

func (s *Store) newList(name string) *List {
	l := &List{ID: len(s.lists), Name: name, store: s}
	s.lists = append(s.lists, l)
	if name != "" {
		s.byName[name] = l
	}
	return l
}

func (s *Store) ids(n int) uint64 {
	first := s.nextID + 1
	s.nextID += uint64(n)
	return first
}

// file returns the list of file name, reading and splitting it the first time.
func (s *Store) file(name string, isMap bool, read func(string) ([]byte, error)) (*List, error) {
	s.mu.Lock()
	l := s.byName[name]
	if l == nil {
		if read == nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("cannot read pattern file %q here", name)
		}
		data, err := read(name)
		if err != nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("cannot read pattern file %q: %w", name, err)
		}
		l = s.newList(name)
		ents, err := splitFile(data, true)
		if err != nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("%s:%w", name, err)
		}
		first := s.ids(len(ents))
		for i := range ents {
			ents[i].ID = first + uint64(i)
		}
		l.entries = ents
	}
	s.mu.Unlock()
	if isMap {
		l.IsMap = true
	} else {
		l.IsACL = true
	}
	return l, nil
}

// inline returns a new anonymous list of the patterns given.
func (s *Store) inline(patterns []string) *List {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.newList("")
	l.IsACL = true
	first := s.ids(len(patterns))
	for i, p := range patterns {
		l.entries = append(l.entries, Entry{ID: first + uint64(i), Key: p})
	}
	return l
}

// splitFile splits a pattern or map file into entries: one per line, blank lines
// and lines starting with '#' skipped, leading and trailing blanks cut; a map line
// is a key, blanks, and the value (the rest of the line).
func splitFile(data []byte, withValues bool) ([]Entry, error) {
	var out []Entry
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.Trim(line, " \t\r")
		if line == "" || line[0] == '#' {
			continue
		}
		e := Entry{Key: line}
		if withValues {
			if i := strings.IndexAny(line, " \t"); i >= 0 {
				e.Key, e.Value = line[:i], strings.TrimLeft(line[i:], " \t")
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// keyOnly is how an ACL reads a list: the whole line is the pattern.
func keyOnly(ents []Entry) []Entry {
	out := make([]Entry, len(ents))
	for i, e := range ents {
		k := e.Key
		if e.Value != "" {
			k = e.Key + " " + e.Value
		}
		out[i] = Entry{ID: e.ID, Key: k}
	}
	return out
}

// view returns the list compiled for (kind, icase, isMap, out), building it once.
func (l *List) view(kind matchKind, icase, isMap bool, out Type) (*view, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range l.views {
		if v.kind == kind && v.icase == icase && v.isMap == isMap && v.out == out {
			return v, nil
		}
	}
	v := &view{l: l, kind: kind, icase: icase, isMap: isMap, out: out}
	ps, err := v.compile(l.entries)
	if err != nil {
		return nil, err
	}
	v.snap.Store(ps)
	l.views = append(l.views, v)
	return v, nil
}

func (v *view) compile(ents []Entry) (*patSet, error) {
	if !v.isMap && v.l.Name != "" {
		ents = keyOnly(ents)
	}
	return compile(v.kind, v.icase, ents, v.isMap, v.out)
}

// Entries returns a copy of the list's entries in order.
func (l *List) Entries() []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Entry(nil), l.entries...)
}

// update applies f to a copy of the entries, compiles every view of the result and
// installs them all, or changes nothing when a view refuses an entry.
func (l *List) update(f func([]Entry) ([]Entry, error)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	ents, err := f(append([]Entry(nil), l.entries...))
	if err != nil {
		return err
	}
	sets := make([]*patSet, len(l.views))
	for i, v := range l.views {
		if sets[i], err = v.compile(ents); err != nil {
			return err
		}
	}
	l.entries = ents
	for i, v := range l.views {
		v.snap.Store(sets[i])
	}
	return nil
}

// ErrNotFound is returned for a key or id that no entry has.
var ErrNotFound = errors.New("entry not found")

// Add appends an entry (`add acl`, `add map`) and returns its id.
func (l *List) Add(key, value string) (uint64, error) {
	l.store.mu.Lock()
	id := l.store.ids(1)
	l.store.mu.Unlock()
	err := l.update(func(e []Entry) ([]Entry, error) {
		return append(e, Entry{ID: id, Key: key, Value: value}), nil
	})
	return id, err
}

// ref matches an entry by key, or by id when ref is "#0x…" or "#…" as HAProxy's
// `del map FILE #ID` takes it.
func matchRef(e Entry, ref string) bool {
	if strings.HasPrefix(ref, "#") {
		s := strings.TrimPrefix(strings.TrimPrefix(ref[1:], "0x"), "0X")
		id, err := strconv.ParseUint(s, 16, 64)
		return err == nil && e.ID == id
	}
	return e.Key == ref
}

// Set changes the value of every entry whose key (or #id) is ref (`set map`).
func (l *List) Set(ref, value string) error {
	return l.update(func(e []Entry) ([]Entry, error) {
		n := 0
		for i := range e {
			if matchRef(e[i], ref) {
				e[i].Value = value
				n++
			}
		}
		if n == 0 {
			return nil, ErrNotFound
		}
		return e, nil
	})
}

// Del removes every entry whose key (or #id) is ref (`del acl`, `del map`).
func (l *List) Del(ref string) error {
	return l.update(func(e []Entry) ([]Entry, error) {
		out := e[:0]
		for _, x := range e {
			if !matchRef(x, ref) {
				out = append(out, x)
			}
		}
		if len(out) == len(e) {
			return nil, ErrNotFound
		}
		return out, nil
	})
}

// Clear removes every entry (`clear acl`, `clear map`).
func (l *List) Clear() error {
	return l.update(func([]Entry) ([]Entry, error) { return nil, nil })
}

// AppendShow appends the list as `show map`/`show acl` print it: one
// "0x<id> key[ value]" line per entry.
func (l *List) AppendShow(dst []byte) []byte {
	for _, e := range l.Entries() {
		dst = append(dst, "0x"...)
		dst = strconv.AppendUint(dst, e.ID, 16)
		dst = append(dst, ' ')
		dst = append(dst, e.Key...)
		if l.IsMap {
			dst = append(dst, ' ')
			dst = append(dst, e.Value...)
		}
		dst = append(dst, '\n')
	}
	return dst
}

// Describe gives the lists made since the last call and not yet described (map files
// read by converters of a line) HAProxy's description: where they are used.
func (s *Store) Describe(file string, line int) {
	for _, l := range s.Lists() {
		l.mu.Lock()
		if l.Desc == "" && l.Name != "" {
			kind := "acl"
			if l.IsMap {
				kind = "map"
			}
			l.Desc = fmt.Sprintf("pattern loaded from file '%s' used by %s at file '%s' line %d", l.Name, kind, file, line)
		}
		l.mu.Unlock()
	}
}

// AppendShowLists appends the list of lists as `show acl` (maps false) or `show map`
// (maps true) print it without an argument.
func (s *Store) AppendShowLists(dst []byte, maps bool) []byte {
	dst = append(dst, "# id (file) description\n"...)
	for _, l := range s.Lists() {
		if maps && !l.IsMap || !maps && !l.IsACL {
			continue
		}
		n := len(l.Entries())
		dst = fmt.Appendf(dst, "%d (%s) %s. curr_ver=0 next_ver=0 entry_cnt=%d\n", l.ID, l.Name, l.Desc, n)
	}
	return dst
}
