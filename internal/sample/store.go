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
	// marks are the match methods of ACLs that take no pattern (-m found, -m bool)
	// on this list: `get acl` reports them.
	marks []matchKind
	// cnt is HAProxy's entry_cnt as `show acl` prints it: +1 per entry indexed
	// in each use, -1 per entry deleted, and -1 for an `add` a use refused.
	cnt int64
	// uses not yet described: "acl" or "map" per use of the file (Store.Describe).
	pending []string
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
		ents, err := splitFile(data, isMap)
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
	l.mu.Lock()
	defer l.mu.Unlock()
	// As HAProxy: a file is read either as patterns (one column) or as a map.
	if isMap && l.IsACL {
		return nil, fmt.Errorf("the file %q is already used as one column file and cannot be used by as two column file", name)
	}
	if !isMap && l.IsMap {
		return nil, fmt.Errorf("the file %q is already used as two column file and cannot be used by as one column file", name)
	}
	kind := "acl"
	if isMap {
		l.IsMap = true
		kind = "map"
	} else {
		l.IsACL = true
	}
	l.pending = append(l.pending, kind)
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
	l.cnt += int64(len(l.entries))
	return v, nil
}

func (v *view) compile(ents []Entry) (*patSet, error) {
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

// Add appends an entry (`add acl`, `add map`) and returns its id. An entry one of
// the list's uses refuses changes nothing; the error is HAProxy's text for it.
func (l *List) Add(key, value string) (uint64, error) {
	l.store.mu.Lock()
	id := l.store.ids(1)
	l.store.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	// HAProxy indexes the entry in each use in turn and counts each success
	// before it meets a refusal.
	for i, v := range l.views {
		if err := v.check(key, value); err != nil {
			l.cnt += int64(i) - 1
			return 0, err
		}
	}
	err := l.update(func(e []Entry) ([]Entry, error) {
		return append(e, Entry{ID: id, Key: key, Value: value}), nil
	})
	if err != nil {
		l.cnt--
		return 0, err
	}
	l.cnt += int64(len(l.views) + len(l.marks))
	return id, nil
}

// Set changes the value of every entry whose key is key (`set map MAP KEY VALUE`),
// or of the entry whose id is id when byID. As HAProxy, a value a use cannot read
// leaves that entry as it was; the result is false only when no entry has the key.
func (l *List) Set(key string, id uint64, byID bool, value string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	found := false
	for i := range l.entries {
		e := l.entries[i]
		if byID && e.ID != id || !byID && e.Key != key {
			continue
		}
		found = true
		ok := true
		for _, v := range l.views {
			if v.isMap {
				if _, err := mapValue(value, v.out); err != nil {
					ok = false
				}
			}
		}
		if ok {
			l.update(func(ents []Entry) ([]Entry, error) {
				ents[i].Value = value
				return ents, nil
			})
		}
	}
	return found
}

// Del removes every entry whose key is key (`del acl`, `del map`), or the entry
// whose id is id when byID; false when none matched.
func (l *List) Del(key string, id uint64, byID bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	err := l.update(func(e []Entry) ([]Entry, error) {
		out := e[:0]
		for _, x := range e {
			if byID && x.ID == id || !byID && x.Key == key {
				n++
				continue
			}
			out = append(out, x)
		}
		if n == 0 {
			return nil, ErrNotFound
		}
		return out, nil
	})
	l.cnt -= int64(n)
	return err == nil
}

// Clear removes every entry (`clear acl`, `clear map`).
func (l *List) Clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cnt -= int64(len(l.entries))
	l.update(func([]Entry) ([]Entry, error) { return nil, nil })
}

// EntryCount is HAProxy's entry_cnt of the list (see List.cnt): it wraps below zero
// as HAProxy's does.
func (l *List) EntryCount() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return uint64(l.cnt)
}

// AppendShow appends the list as `show map`/`show acl` print it: one
// "0x<id> key[ value]" line per entry (a map's entries always have a value).
func (l *List) AppendShow(dst []byte) []byte {
	for _, e := range l.Entries() {
		dst = append(dst, "0x"...)
		dst = strconv.AppendUint(dst, e.ID, 16)
		dst = append(dst, ' ')
		dst = append(dst, e.Key...)
		if l.IsMap || e.Value != "" {
			dst = append(dst, ' ')
			dst = append(dst, e.Value...)
		}
		dst = append(dst, '\n')
	}
	return dst
}

// Describe records, for each use of a file made since the last call, HAProxy's
// description of where the file is used ("used by map at file 'f' line 3, by acl
// at …"), as `show acl` and `show map` print it.
func (s *Store) Describe(file string, line int) {
	for _, l := range s.Lists() {
		l.mu.Lock()
		for _, kind := range l.pending {
			if l.Desc == "" {
				l.Desc = fmt.Sprintf("pattern loaded from file '%s' used by %s at file '%s' line %d", l.Name, kind, file, line)
			} else {
				l.Desc += fmt.Sprintf(", by %s at file '%s' line %d", kind, file, line)
			}
		}
		l.pending = nil
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
		dst = fmt.Appendf(dst, "%d (%s) %s. curr_ver=0 next_ver=0 entry_cnt=%d\n", l.ID, l.Name, l.Desc, l.EntryCount())
	}
	return dst
}
