package sample

// RefKind is what a fetch argument names in the configuration.
type RefKind uint8

// Reference kinds.
const (
	RefBackend  RefKind = iota + 1 // nbsrv(B), be_conn(B)
	RefServer                      // srv_is_up([B/]S), srv_conn([B/]S)
	RefFrontend                    // fe_conn(F)
)

// Ref is a proxy or server named by a fetch argument: HAProxy refuses a configuration
// where it does not exist, which only the configuration can check once every section
// is read. Proxy "" is the proxy the expression is written in.
type Ref struct {
	Kind          RefKind
	Proxy, Server string
	Fetch         string // the fetch that names it, for messages
}

func (e *Expr) refs(out []Ref) []Ref {
	if e.f.ref == 0 || len(e.args) == 0 || !e.args[0].set {
		return out
	}
	r := Ref{Kind: e.f.ref, Fetch: e.f.name, Proxy: e.args[0].s}
	if r.Kind == RefServer {
		r.Proxy, r.Server = splitServerRef(e.args[0].s)
	}
	return append(out, r)
}

// Refs returns the proxies and servers the expression names.
func (e *Expr) Refs() []Ref { return e.refs(nil) }

// Refs returns the proxies and servers the ACL's fetch names.
func (a *ACL) Refs() []Ref { return a.expr.refs(nil) }

// Refs returns the proxies and servers the condition's anonymous ACLs name (named
// ACLs answer for themselves: ACL.Refs).
func (c *Cond) Refs() []Ref {
	if c == nil {
		return nil
	}
	var out []Ref
	for _, g := range c.groups {
		for _, t := range g {
			if len(t.name) > 0 && t.name[0] == '{' {
				for _, a := range t.acls {
					out = a.expr.refs(out)
				}
			}
		}
	}
	return out
}

// Refs returns the proxies and servers the format's samples name.
func (f *LogFormat) Refs() []Ref {
	var out []Ref
	for _, p := range f.parts {
		if p.e != nil {
			out = p.e.refs(out)
		}
	}
	return out
}
