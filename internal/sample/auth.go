package sample

import (
	"encoding/base64"
	"errors"

	"tandem/internal/http1"
)

// This file holds the fetches that check HTTP basic credentials against a userlist
// section (configuration.txt §7.3.6 http_auth, http_auth_group).

// Users is a userlist section (package userlist implements it).
type Users interface {
	// Check reports whether user and password are valid credentials.
	Check(user, pass []byte) bool
	// Groups returns the groups user belongs to.
	Groups(user []byte) []string
}

func (c *Ctx) userlist(name string) (Users, error) {
	if c == nil || c.Userlist == nil {
		return nil, errors.New("no userlist can be used here")
	}
	return c.Userlist(name)
}

func init() {
	addFetch(&fetchDef{name: "http_auth", fn: fetchHTTPAuth, args: []argKind{aStr}, minArgs: 1, out: TBool,
		use: UseHTTPReq | UseHTTPRes, compile: compileUserlist})
	// In an ACL the patterns are group names: the fetch returns each group of the
	// authenticated user in turn, so `http_auth_group(L) G1 G2` matches a member of
	// G1 or G2. As a sample it returns the user name, as HAProxy does.
	addFetch(&fetchDef{name: "http_auth_group", fn: fetchHTTPAuthGroup, args: []argKind{aStr}, minArgs: 1, out: TStr,
		use: UseHTTPReq | UseHTTPRes, compile: compileUserlist})
}

// compileUserlist resolves the userlist argument once, when the configuration is read.
func compileUserlist(raw []string, a []arg, ctx *Ctx) error {
	u, err := ctx.userlist(raw[0])
	if err != nil {
		return err
	}
	a[0].ext = u
	return nil
}

func usersOf(a []arg) Users { return a[0].ext.(Users) }

// basicCreds returns the user and password of the request's Authorization: Basic
// header, decoded into the State's scratch space.
func basicCreds(t Txn) (user, pass []byte, ok bool) {
	req, buf := t.Request()
	if req == nil {
		return nil, nil, false
	}
	v, ok := req.Get(buf, "authorization")
	if !ok || len(v) < 6 || !http1.EqualFold(v[:6], "basic ") {
		return nil, nil, false
	}
	enc := v[6:]
	for len(enc) > 0 && (enc[0] == ' ' || enc[0] == '\t') {
		enc = enc[1:]
	}
	dst := t.State().grow(base64.StdEncoding.DecodedLen(len(enc)))
	n, err := base64.StdEncoding.Decode(dst, enc)
	if err != nil {
		return nil, nil, false
	}
	dst = dst[:n]
	for i, c := range dst {
		if c == ':' {
			return dst[:i], dst[i+1:], true
		}
	}
	return nil, nil, false
}

func fetchHTTPAuth(t Txn, a []arg, _ *cursor) (Value, bool) {
	u, p, ok := basicCreds(t)
	return Bool(ok && usersOf(a).Check(u, p)), true
}

func fetchHTTPAuthGroup(t Txn, a []arg, cur *cursor) (Value, bool) {
	cur.more = false
	u, p, ok := basicCreds(t)
	// An ACL calls again for each group: the credentials were checked on its first
	// call (a hashed password costs thousands of rounds, or a keyed digest when cached).
	if !ok || cur.i == 0 && !usersOf(a).Check(u, p) {
		return Value{}, false
	}
	if !cur.all {
		return Str(u), true
	}
	gs := usersOf(a).Groups(u)
	if cur.i >= len(gs) {
		return Value{}, false
	}
	g := gs[cur.i]
	cur.i++
	cur.more = cur.i < len(gs)
	return Str(unsafeBytes(g)), true
}
