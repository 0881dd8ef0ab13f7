package sample

import (
	"strings"
	"testing"
)

// TestStoreLive: runtime changes of a pattern file (add acl, del acl, clear acl)
// change the decision of the next evaluation, and a map's `set map` its output.
func TestStoreLive(t *testing.T) {
	files := map[string]string{"/deny.lst": "10.0.0.0/8\n", "/hosts.map": "a.example be_a\n"}
	st := NewStore()
	ctx := &Ctx{Store: st, ReadFile: func(n string) ([]byte, error) { return []byte(files[n]), nil }}
	a, err := ParseACL([]string{"deny", "src", "-f", "/deny.lst"}, ctx)
	if err != nil {
		t.Fatal(err)
	}
	txn := newTxn(t, "GET / HTTP/1.1\r\nHost: b.example\r\n\r\n") // from 192.0.2.10
	if a.Match(txn) {
		t.Fatal("192.0.2.10 matched before it was added")
	}
	l := st.Lookup("/deny.lst")
	if l == nil || st.Lookup("#0") != l {
		t.Fatal("list not found by name and #id")
	}
	id, err := l.Add("192.0.2.0/24", "")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Match(txn) {
		t.Error("add acl: 192.0.2.10 does not match 192.0.2.0/24")
	}
	if _, err := l.Add("not-an-ip", ""); err == nil || err.Error() != "'not-an-ip' is not a valid IPv4 or IPv6 address" {
		t.Errorf("add acl of a bad pattern: %v", err)
	}
	if n := len(l.Entries()); n != 2 {
		t.Errorf("a refused add changed the list: %d entries", n)
	}
	if got, want := string(l.AppendShow(nil)), "0x1 10.0.0.0/8\n0x"+strings.TrimPrefix(hex(id), "0x")+" 192.0.2.0/24\n"; got != want {
		t.Errorf("show acl:\n%s\nwant\n%s", got, want)
	}
	if !l.Del("", id, true) {
		t.Fatal("del by id: not found")
	}
	if a.Match(txn) {
		t.Error("del acl #id: still matches")
	}
	if l.Del("nope", 0, false) {
		t.Error("del of a missing key: found")
	}
	l.Add("192.0.2.10", "")
	if !a.Match(txn) {
		t.Error("re-added: no match")
	}
	l.Clear()
	if a.Match(txn) || len(l.Entries()) != 0 {
		t.Error("clear acl: still matches")
	}

	e, err := ParseExpr("req.hdr(host),map(/hosts.map,dflt)", ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := st.Lookup("/hosts.map")
	eval := func() string { v, _ := e.Eval(txn); return string(v.B) }
	if got := eval(); got != "dflt" {
		t.Errorf("before add map: %q", got)
	}
	m.Add("b.example", "be_b")
	if got := eval(); got != "be_b" {
		t.Errorf("add map: %q", got)
	}
	if !m.Set("b.example", 0, false, "be_c") {
		t.Fatal("set map: not found")
	}
	if got := eval(); got != "be_c" {
		t.Errorf("set map: %q", got)
	}
	if got := string(m.AppendShow(nil)); !strings.HasSuffix(got, " b.example be_c\n") || !strings.Contains(got, " a.example be_a\n") {
		t.Errorf("show map: %q", got)
	}
}

func hex(id uint64) string {
	const d = "0123456789abcdef"
	s := ""
	for id > 0 {
		s = string(d[id%16]) + s
		id /= 16
	}
	return "0x" + s
}

// TestBindSession: sess. variables go to the bound slot, made on the first set, and
// outlive ResetAll of the transaction's State; other scopes stay in the State.
func TestBindSession(t *testing.T) {
	var slot *State
	var st State
	st.BindSession(&slot)
	if _, ok := st.Var(ScopeSess, "x"); ok || slot != nil {
		t.Fatal("a variable before any set, or a slot made by a read")
	}
	st.SetVar(ScopeSess, "x", Int(7))
	st.SetVar(ScopeTxn, "y", Int(8))
	if slot == nil {
		t.Fatal("the slot was not made by the first set")
	}
	st.ResetAll()
	var next State // another exchange serving the same connection
	next.BindSession(&slot)
	for _, c := range []struct {
		st    *State
		scope Scope
		name  string
		want  bool
	}{
		{&st, ScopeSess, "x", true},
		{&next, ScopeSess, "x", true},
		{&st, ScopeTxn, "y", false},
		{&next, ScopeTxn, "y", false},
	} {
		v, ok := c.st.Var(c.scope, c.name)
		if ok != c.want || ok && v.I != 7 {
			t.Errorf("%s.%s: %v %v, want found=%v", c.scope, c.name, v, ok, c.want)
		}
	}
	next.UnsetVar(ScopeSess, "x")
	if _, ok := st.Var(ScopeSess, "x"); ok {
		t.Error("unset on the connection's slot: still set")
	}
	var other State // another connection
	var otherSlot *State
	other.BindSession(&otherSlot)
	if _, ok := other.Var(ScopeSess, "x"); ok {
		t.Error("another connection sees the variable")
	}
}

// TestFileColumns: as HAProxy, a file is read either as patterns (one column, the whole
// line is the pattern) or as a map (key and value), never both.
func TestFileColumns(t *testing.T) {
	files := map[string]string{"/f": "a b\n"}
	for _, tc := range []struct {
		first, second string // "acl" or "map"
		want          string // error of the second use, "" for none
	}{
		{"acl", "map", `the file "/f" is already used as one column file and cannot be used by as two column file`},
		{"map", "acl", `the file "/f" is already used as two column file and cannot be used by as one column file`},
		{"acl", "acl", ""},
		{"map", "map", ""},
	} {
		ctx := &Ctx{Store: NewStore(), ReadFile: func(n string) ([]byte, error) { return []byte(files[n]), nil }}
		use := func(kind string) error {
			if kind == "acl" {
				_, err := ParseACL([]string{"x", "req.hdr(x)", "-f", "/f"}, ctx)
				return err
			}
			_, err := ParseExpr("req.hdr(x),map(/f)", ctx)
			return err
		}
		if err := use(tc.first); err != nil {
			t.Fatalf("%s: %v", tc.first, err)
		}
		err := use(tc.second)
		switch {
		case err == nil && tc.want != "":
			t.Errorf("%s then %s: accepted, want %q", tc.first, tc.second, tc.want)
		case err != nil && (tc.want == "" || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s then %s: %v, want %q", tc.first, tc.second, err, tc.want)
		}
		if tc.first == "acl" {
			if e := ctx.Store.Lookup("/f").Entries(); len(e) != 1 || e[0].Key != "a b" || e[0].Value != "" {
				t.Errorf("an ACL file's line is one pattern: %+v", e)
			}
		}
	}
}
