package sample

import (
	"encoding/base64"
	"strings"
	"testing"
)

// countingUsers is a userlist of clear passwords that counts the checks made.
type countingUsers struct {
	pass   map[string]string
	groups map[string][]string
	checks int
}

func (u *countingUsers) Check(user, pass []byte) bool {
	u.checks++
	p, ok := u.pass[string(user)]
	return ok && p == string(pass)
}

func (u *countingUsers) Groups(user []byte) []string { return u.groups[string(user)] }

// TestHTTPAuth: http_auth checks the Basic credentials (the scheme in any case);
// http_auth_group in an ACL matches a member of any group listed, checking the
// credentials once per ACL however many groups the user has.
func TestHTTPAuth(t *testing.T) {
	users := &countingUsers{pass: map[string]string{"alice": "pw"}, groups: map[string][]string{"alice": {"G1", "G2", "G3"}}}
	ctx := &Ctx{Userlist: func(name string) (Users, error) { return users, nil }}
	req := func(scheme, creds string) *testTxn {
		return newTxn(t, "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: "+scheme+" "+base64.StdEncoding.EncodeToString([]byte(creds))+"\r\n\r\n")
	}
	for _, tc := range []struct {
		acl    string
		txn    *testTxn
		want   bool
		checks int
	}{
		{"http_auth(L)", req("Basic", "alice:pw"), true, 1},
		{"http_auth(L)", req("bAsIc", "alice:pw"), true, 1},
		{"http_auth(L)", req("Basic", "alice:nope"), false, 1},
		{"http_auth(L)", req("Bearer", "alice:pw"), false, 0},
		{"http_auth_group(L) G3", req("Basic", "alice:pw"), true, 1},
		{"http_auth_group(L) G9 G2", req("Basic", "alice:pw"), true, 1},
		{"http_auth_group(L) G9", req("Basic", "alice:pw"), false, 1},
		{"http_auth_group(L) G1", req("Basic", "alice:nope"), false, 1},
	} {
		a, err := ParseACL(append([]string{"x"}, strings.Fields(tc.acl)...), ctx)
		if err != nil {
			t.Fatal(err)
		}
		users.checks = 0
		if got := a.Match(tc.txn); got != tc.want || users.checks != tc.checks {
			t.Errorf("%s: %v with %d checks, want %v with %d", tc.acl, got, users.checks, tc.want, tc.checks)
		}
	}
	e, err := ParseExpr("http_auth_group(L)", ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := e.Eval(req("Basic", "alice:pw")); !ok || string(v.B) != "alice" {
		t.Errorf("http_auth_group as a sample: %q %v, want the user name", v.B, ok)
	}
}
