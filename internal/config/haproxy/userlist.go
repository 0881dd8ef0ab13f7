package haproxy

import (
	"strings"

	"tandem/internal/config"
	"tandem/internal/sample"
	"tandem/internal/userlist"
)

// userlist is a userlist section as read.
type userlistSec struct {
	pos  config.Pos
	list *userlist.List
}

// openNamedSection starts a `KIND NAME` section (userlist, http-errors): one name,
// not one that defined says a section of that kind already has (and where). It sets
// the label errors are named with; false when the section's lines are skipped.
func (p *parser) openNamedSection(st *stmt, kind string, defined func(name string) (config.Pos, bool)) (name string, ok bool) {
	p.sec, p.cur, p.skip = 0, nil, false
	p.label = kind
	if len(st.words) != 2 {
		p.errs.Add(st.pos, "%s: expected exactly one name (%s NAME)", kind, kind)
		p.skip = true
		return "", false
	}
	name = st.words[1]
	p.label = kind + " " + quote(name)
	if pos, dup := defined(name); dup {
		p.errs.Add(st.pos, "%s: already defined at %s", p.label, pos)
		p.skip = true
		return "", false
	}
	return name, true
}

// openUserlist starts a `userlist NAME` section.
func (p *parser) openUserlist(st *stmt) {
	name, ok := p.openNamedSection(st, "userlist", func(name string) (config.Pos, bool) {
		if old := p.userlists[name]; old != nil {
			return old.pos, true
		}
		return config.Pos{}, false
	})
	if !ok {
		return
	}
	if p.userlists == nil {
		p.userlists = map[string]*userlistSec{}
	}
	p.curUserlist = &userlistSec{pos: st.pos, list: userlist.New(name)}
	p.userlists[name] = p.curUserlist
}

// userlistLine reads `group NAME [users U,…]` and `user NAME password HASH |
// insecure-password PASS [groups G,…]`.
func (p *parser) userlistLine(st *stmt) {
	ul := p.curUserlist.list
	w := st.words
	var err error
	switch w[0] {
	case "group":
		if len(w) != 2 && !(len(w) == 4 && w[2] == "users") {
			p.errs.Add(st.pos, "%s: expected group NAME [users USER,...]", p.label)
			return
		}
		var users []string
		if len(w) == 4 {
			users = strings.Split(w[3], ",")
		}
		err = ul.AddGroup(w[1], users)
	case "user":
		if len(w) != 4 && !(len(w) == 6 && w[4] == "groups") || w[2] != "password" && w[2] != "insecure-password" {
			p.errs.Add(st.pos, "%s: expected user NAME password HASH|insecure-password PASSWORD [groups GROUP,...]", p.label)
			return
		}
		var groups []string
		if len(w) == 6 {
			groups = strings.Split(w[5], ",")
		}
		err = ul.AddUser(w[1], w[3], w[2] == "insecure-password", groups)
	default:
		p.errs.Add(st.pos, "%s: unknown keyword %q (a userlist section holds group and user lines)", p.label, w[0])
		return
	}
	if err != nil {
		p.errs.Add(st.pos, "%s: %v", p.label, err)
	}
}

// userlistRef is an http_auth(NAME) or http_auth_group(NAME) use: the section may be
// written after the line that uses it, so the reference is resolved at the end.
type userlistRef struct {
	pos   config.Pos
	label string
	name  string
	list  *userlist.List
}

func (r *userlistRef) Check(user, pass []byte) bool { return r.list.Check(user, pass) }
func (r *userlistRef) Groups(user []byte) []string  { return r.list.Groups(user) }

// userlistRef is the sample.Ctx hook for userlist names.
func (p *parser) userlistRef(name string) (sample.Users, error) {
	r := &userlistRef{pos: p.pos, label: p.label, name: name}
	p.userlistRefs = append(p.userlistRefs, r)
	return r, nil
}

// resolveUserlists validates every userlist section and links the references.
func (p *parser) resolveUserlists() {
	for _, ul := range p.userlists {
		if err := ul.list.Validate(); err != nil {
			p.errs.Add(ul.pos, "userlist %q: %v", ul.list.Name, err)
		}
	}
	for _, r := range p.userlistRefs {
		ul := p.userlists[r.name]
		if ul == nil {
			p.errs.Add(r.pos, "%s: no userlist section named %q", r.label, r.name)
			r.list = userlist.New(r.name) // checks nothing: the configuration is refused
			continue
		}
		r.list = ul.list
	}
}
