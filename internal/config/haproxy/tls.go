package haproxy

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"tandem/internal/config"
	"tandem/internal/tlsconf"
)

// tlsState is what the global section says about TLS, applied to the bind and server
// lines that follow it (HAProxy applies crt-base and ca-base as it reads a line too).
type tlsState struct {
	crtBase, caBase string
	bind            tlsconf.Options           // ssl-default-bind-*
	server          tlsconf.Options           // ssl-default-server-*
	serverVerify    string                    // ssl-server-verify: "" is required
	lifetime        time.Duration             // tune.ssl.lifetime (0: HAProxy's 300s)
	caCache         map[string]*x509.CertPool // ca-file pools of this load, by path
	crlCache        map[string][]*x509.RevocationList
	// certs holds the certificates loaded so far, by path as read: a file that several
	// binds, crt-list lines or server lines name is read (with its .key, .ocsp and .sctl
	// companions) once per load, as HAProxy keeps one certificate store per file.
	certs map[certKey]certLoad
	// Cipher lists of the global section are read when a TLS bind or server uses them:
	// HAProxy's and distributions' stock files name suites Go lacks (DHE, PROFILE=SYSTEM)
	// and are fine as long as no TLS is served.
	bindCiphers, serverCiphers           deferred
	bindCipherSuites, serverCipherSuites deferred
}

// deferred is a global value checked where it is used.
type deferred struct {
	text string
	pos  config.Pos
	name string
}

// useGlobal applies the deferred global cipher lists to o; an error names the global
// line and the line that uses it.
func (p *parser) useGlobal(st *stmt, what string, ciphers, suites deferred, o *tlsconf.Options) bool {
	if ciphers.text != "" {
		c, err := tlsconf.ParseCiphers(ciphers.text)
		if err != nil {
			p.errorf(st.pos, "%s uses %s (%s): %v", what, ciphers.name, ciphers.pos, err)
			return false
		}
		o.Ciphers = c
	}
	if suites.text != "" {
		if err := tlsconf.CheckCipherSuites(suites.text); err != nil {
			p.errorf(st.pos, "%s uses %s (%s): %v", what, suites.name, suites.pos, err)
			return false
		}
	}
	return true
}

// tlsKeywords are the global TLS keywords (table.go appends them to the registry).
func tlsKeywords() []kwEntry {
	e := func(name, syntax, doc string, fn handler) kwEntry {
		return kwEntry{Keyword: Keyword{Name: name, Sections: SecGlobal, Status: StatusImplemented, Syntax: syntax, Doc: doc}, fn: fn}
	}
	return []kwEntry{
		e("crt-base", "<dir>", "directory of relative crt and crt-list line paths", gTLSString(func(t *tlsState, s string) { t.crtBase = s })),
		e("ca-base", "<dir>", "directory of relative ca-file and crl-file paths", gTLSString(func(t *tlsState, s string) { t.caBase = s })),
		e("ssl-default-bind-ciphers", "<ciphers>", "TLS ≤1.2 suites of binds, OpenSSL names (checked where a TLS bind uses it: DHE and classes such as HIGH are refused, Go has no DHE)", gDeferred(func(t *tlsState) *deferred { return &t.bindCiphers })),
		e("ssl-default-server-ciphers", "<ciphers>", "TLS ≤1.2 suites to servers, OpenSSL names (checked where a TLS server uses it)", gDeferred(func(t *tlsState) *deferred { return &t.serverCiphers })),
		e("ssl-default-bind-ciphersuites", "<suites>", "TLS 1.3 suites of binds: only Go's fixed three are accepted (checked where a TLS bind uses it)", gDeferred(func(t *tlsState) *deferred { return &t.bindCipherSuites })),
		e("ssl-default-server-ciphersuites", "<suites>", "TLS 1.3 suites to servers: only Go's fixed three are accepted (checked where a TLS server uses it)", gDeferred(func(t *tlsState) *deferred { return &t.serverCipherSuites })),
		e("ssl-default-bind-curves", "<curves>", "ECDHE groups of binds (X25519, P-256, P-384, P-521, X25519MLKEM768)", gTLSCurves),
		e("ssl-default-bind-options", "<options>...", "TLS options of binds (ssl-min-ver, ssl-max-ver, no-tlsv1x, force-tlsv1x, no-tls-tickets)", gTLSOptions(func(t *tlsState) *tlsconf.Options { return &t.bind })),
		e("ssl-default-server-options", "<options>...", "TLS options to servers (ssl-min-ver, ssl-max-ver, no-tlsv1x, force-tlsv1x, no-tls-tickets)", gTLSOptions(func(t *tlsState) *tlsconf.Options { return &t.server })),
		e("ssl-server-verify", "none|required", "verify server certificates by default (required, as HAProxy)", gSSLServerVerify),
		e("tune.ssl.default-dh-param", "<bits>", "no effect, says so: Go has no DHE suites, so no DH parameters are ever used", gDHParam),
		e("ssl-dh-param-file", "<file>", "DH parameters: read and checked as HAProxy does, no effect otherwise (Go has no DHE suites; warns)", gDHParamFile),
		e("tune.ssl.cachesize", "<entries>", "session cache size: tandem resumes with session tickets only (no server-side cache, as 0)", gSSLCacheSize),
		e("tune.ssl.lifetime", "<time>", "how long a TLS session may be resumed (default 300s)", gSSLLifetime),
	}
}

func gTLSString(set func(t *tlsState, s string)) handler {
	return func(p *parser, _ *proxyState, st *stmt, args []string, _ bool) {
		if p.argN(st, st.words[0], args, 1, 1, "VALUE") {
			set(&p.tls, args[0])
		}
	}
}

func gDeferred(which func(t *tlsState) *deferred) handler {
	return func(p *parser, _ *proxyState, st *stmt, args []string, _ bool) {
		if p.argN(st, st.words[0], args, 1, 1, "LIST") {
			*which(&p.tls) = deferred{text: args[0], pos: st.pos, name: st.words[0]}
		}
	}
}

func gTLSCurves(p *parser, _ *proxyState, st *stmt, args []string, _ bool) {
	if !p.argN(st, st.words[0], args, 1, 1, "CURVES") {
		return
	}
	c, err := tlsconf.ParseCurves(args[0])
	if err != nil {
		p.errorf(st.pos, "%s: %v", st.words[0], err)
		return
	}
	p.tls.bind.Curves = c
}

func gTLSOptions(which func(t *tlsState) *tlsconf.Options) handler {
	return func(p *parser, _ *proxyState, st *stmt, args []string, _ bool) {
		name := st.words[0]
		if len(args) == 0 {
			p.errorf(st.pos, "%s: missing argument", name)
			return
		}
		o := which(&p.tls)
		for i := 0; i < len(args); {
			n, err := o.ParseOption(args[i:], tlsconf.InDefaultOptions)
			if errors.Is(err, tlsconf.ErrNotTLSOption) || err != nil && strings.HasPrefix(err.Error(), "unknown option") {
				p.errorf(st.pos, "%s: unknown option %q%s", name, args[i], didYouMean(closest(args[i], tlsFlags)))
				return
			}
			if err != nil {
				p.errorf(st.pos, "%s: %v", name, err)
				return
			}
			i += n
		}
		if _, err := tlsconf.Resolve(tlsconf.CAs{}, o); err != nil {
			p.errorf(st.pos, "%s: %v", name, err)
		}
	}
}

var tlsFlags = []string{"ssl-min-ver", "ssl-max-ver", "no-sslv3", "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13", "no-tls-tickets",
	"force-tlsv10", "force-tlsv11", "force-tlsv12", "force-tlsv13", "prefer-client-ciphers"}

func gSSLServerVerify(p *parser, _ *proxyState, st *stmt, args []string, _ bool) {
	if !p.argN(st, "ssl-server-verify", args, 1, 1, "none|required") {
		return
	}
	if args[0] != "none" && args[0] != "required" {
		p.errorf(st.pos, "ssl-server-verify: %q (expected none or required)", args[0])
		return
	}
	p.tls.serverVerify = args[0]
}

func gDHParam(p *parser, _ *proxyState, st *stmt, args []string, _ bool) {
	if !p.argN(st, "tune.ssl.default-dh-param", args, 1, 1, "BITS") {
		return
	}
	if _, err := parseInt(args[0], 1024, 1<<16); err != nil {
		p.errorf(st.pos, "tune.ssl.default-dh-param: %v", err)
		return
	}
	// A warning is enough: it changes nothing that is allowed. DH parameters only
	// serve DHE suites, which tandem refuses and Go does not implement.
	p.warnf(st.pos, "tune.ssl.default-dh-param has no effect: Go's crypto/tls has no DHE suites, so no DH parameters are used (ECDHE key exchange is unaffected)")
}

func gDHParamFile(p *parser, _ *proxyState, st *stmt, args []string, _ bool) {
	if !p.argN(st, "ssl-dh-param-file", args, 1, 1, "FILE") {
		return
	}
	data, err := p.opt.ReadFile(args[0])
	if err == nil {
		err = tlsconf.CheckDHParams(data)
	}
	if err != nil {
		p.errorf(st.pos, "ssl-dh-param-file: unable to load DH parameters from file %s: %v", args[0], err)
		return
	}
	p.warnf(st.pos, "ssl-dh-param-file has no effect: Go's crypto/tls has no DHE suites, so no DH parameters are used (ECDHE key exchange is unaffected)")
}

func gSSLCacheSize(p *parser, _ *proxyState, st *stmt, args []string, _ bool) {
	if !p.argN(st, "tune.ssl.cachesize", args, 1, 1, "N") {
		return
	}
	n, err := parseInt(args[0], 0, maxInt32)
	if err != nil {
		p.errorf(st.pos, "tune.ssl.cachesize: %v", err)
		return
	}
	if n > 0 {
		// Nothing more or less is allowed: a client that would have resumed by
		// session ID makes a full handshake (or resumes by ticket).
		p.warnf(st.pos, "tune.ssl.cachesize %d: tandem keeps no server-side session cache (Go's crypto/tls resumes with session tickets only): clients resuming by session ID make a full handshake", n)
	}
}

func gSSLLifetime(p *parser, _ *proxyState, st *stmt, args []string, _ bool) {
	if !p.argN(st, "tune.ssl.lifetime", args, 1, 1, "<time>") {
		return
	}
	t, err := parseTimeUnit(args[0], time.Second)
	if err != nil || t <= 0 {
		p.errorf(st.pos, "tune.ssl.lifetime: invalid time %q", args[0])
		return
	}
	p.tls.lifetime = t
}

// parseTimeUnit reads a time whose bare numbers are in unit (tune.ssl.lifetime is in
// seconds, timeouts in milliseconds).
func parseTimeUnit(s string, unit time.Duration) (time.Duration, error) {
	if s != "" && s[len(s)-1] >= '0' && s[len(s)-1] <= '9' {
		n, err := parseInt(s, 0, maxInt32)
		return time.Duration(n) * unit, err
	}
	return parseTime(s)
}

// certKey names one certificate load: `crt PATH` of a bind or crt-list line (a file, a
// directory or a bundle), or a server's client certificate (one PEM file).
type certKey struct {
	path string
	pem  bool
}

type certLoad struct {
	certs []*tlsconf.Cert
	err   error
}

// loadCrt is tlsconf.LoadCrt of path, once per load.
func (p *parser) loadCrt(path string) ([]*tlsconf.Cert, error) {
	return p.loadCert(certKey{path: path}, func() ([]*tlsconf.Cert, error) { return tlsconf.LoadCrt(tlsFiles{p}, path) })
}

// loadPEM reads the one PEM file of a server's crt, once per load.
func (p *parser) loadPEM(path string) (*tlsconf.Cert, error) {
	certs, err := p.loadCert(certKey{path: path, pem: true}, func() ([]*tlsconf.Cert, error) {
		data, err := p.opt.ReadFile(path)
		if err != nil {
			return nil, err
		}
		c, err := tlsconf.ParsePEM(tlsFiles{p}, path, data)
		if err != nil {
			return nil, err
		}
		return []*tlsconf.Cert{c}, nil
	})
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}

func (p *parser) loadCert(k certKey, load func() ([]*tlsconf.Cert, error)) ([]*tlsconf.Cert, error) {
	if l, ok := p.tls.certs[k]; ok {
		return l.certs, l.err
	}
	// A file loaded by the other kind of use is the same certificate: a `crt` whose
	// load is one certificate of that very path was a file, not a directory or bundle.
	if l, ok := p.tls.certs[certKey{k.path, !k.pem}]; ok && l.err == nil && len(l.certs) == 1 && l.certs[0].Path == k.path {
		return l.certs, nil
	}
	certs, err := load()
	if p.tls.certs == nil {
		p.tls.certs = map[certKey]certLoad{}
	}
	p.tls.certs[k] = certLoad{certs, err}
	return certs, err
}

// tlsFiles reads certificate files through the parser's options.
type tlsFiles struct{ p *parser }

func (f tlsFiles) ReadFile(path string) ([]byte, error) { return f.p.opt.ReadFile(path) }

func (f tlsFiles) ReadDir(path string) ([]tlsconf.DirEntry, error) {
	if f.p.opt.ReadDir != nil {
		return f.p.opt.ReadDir(path)
	}
	return SystemReadDir(path)
}

// SystemReadDir lists a directory of the filesystem (symbolic links followed): the
// default of Options.ReadDir, and what a privileged helper lists with.
func SystemReadDir(path string) ([]tlsconf.DirEntry, error) {
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	out := make([]tlsconf.DirEntry, 0, len(ents))
	for _, e := range ents {
		isDir := e.IsDir()
		if e.Type()&os.ModeSymlink != 0 {
			if fi, err := os.Stat(filepath.Join(path, e.Name())); err == nil {
				isDir = fi.IsDir()
			}
		}
		out = append(out, tlsconf.DirEntry{Name: e.Name(), IsDir: isDir})
	}
	return out, nil
}

func withBase(base, path string) string {
	if base == "" || strings.HasPrefix(path, "/") {
		return path
	}
	return strings.TrimSuffix(base, "/") + "/" + path
}

// cas loads ca-file and crl-file contents relative to ca-base, each file once per load.
func (p *parser) cas() tlsconf.CAs {
	if p.tls.caCache == nil {
		p.tls.caCache, p.tls.crlCache = map[string]*x509.CertPool{}, map[string][]*x509.RevocationList{}
	}
	return loadCAs(p.tls.caBase, p.opt.ReadFile, p.tls.caCache, p.tls.crlCache)
}

// runtimeCAs loads the ca-file and crl-file of crt-list lines added at run time, with
// the ca-base read so far, from the files as they are then.
func (p *parser) runtimeCAs() tlsconf.CAs { return loadCAs(p.tls.caBase, p.opt.ReadFile, nil, nil) }

// loadCAs reads ca-file and crl-file paths relative to base; nil caches read every time.
func loadCAs(base string, read func(string) ([]byte, error), pools map[string]*x509.CertPool, crls map[string][]*x509.RevocationList) tlsconf.CAs {
	return tlsconf.CAs{
		Pool: func(path string) (*x509.CertPool, error) {
			path = withBase(base, path)
			return cached(pools, path, func() (*x509.CertPool, error) {
				data, err := read(path)
				if err != nil {
					return nil, fmt.Errorf("ca-file: %v", err)
				}
				pool, err := tlsconf.PEMCerts(path, data)
				if err != nil {
					return nil, fmt.Errorf("ca-file: %v", err)
				}
				return pool, nil
			})
		},
		CRL: func(path string) ([]*x509.RevocationList, error) {
			path = withBase(base, path)
			return cached(crls, path, func() ([]*x509.RevocationList, error) {
				data, err := read(path)
				if err != nil {
					return nil, fmt.Errorf("crl-file: %v", err)
				}
				return tlsconf.ParseCRLs(path, data)
			})
		},
	}
}

// cached returns m[key], loading and keeping it on a miss (m nil: load every time).
func cached[T any](m map[string]T, key string, load func() (T, error)) (T, error) {
	if v, ok := m[key]; ok {
		return v, nil
	}
	v, err := load()
	if err == nil && m != nil {
		m[key] = v
	}
	return v, err
}

// bindOptions reads the options after a bind line's addresses: the TLS ones (HAProxy's
// bind options tandem carries out) and accept-proxy. It returns the bind's TLS side, nil for a plain
// bind.
func (p *parser) bindOptions(st *stmt, words []string, acceptProxy *bool) (tb *tlsconf.Bind, ok bool) {
	ssl := false
	type crtArg struct {
		path string
		list bool
	}
	var crts []crtArg
	o := &tlsconf.Options{}
	tlsWritten, ticketFile := "", ""
	for i := 0; i < len(words); {
		w := words[i]
		switch w {
		case "ssl":
			ssl = true
			i++
			continue
		case "accept-proxy":
			*acceptProxy = true
			i++
			continue
		case "tls-ticket-keys":
			if i+1 >= len(words) {
				p.errorf(st.pos, "bind: %q needs a path", w)
				return nil, false
			}
			ticketFile = words[i+1]
			tlsWritten = w
			i += 2
			continue
		case "crt", "crt-list":
			if i+1 >= len(words) {
				p.errorf(st.pos, "bind: %q needs a path", w)
				return nil, false
			}
			crts = append(crts, crtArg{path: words[i+1], list: w == "crt-list"})
			tlsWritten = w
			i += 2
			continue
		}
		n, err := o.ParseOption(words[i:], tlsconf.InBind)
		if errors.Is(err, tlsconf.ErrNotTLSOption) {
			if knownBindOptions[w] {
				p.errorf(st.pos, "bind option %q is not supported by tandem", w)
			} else {
				p.errorf(st.pos, "unknown bind option %q%s", w, didYouMean(closest(w, bindOptionNames())))
			}
			return nil, false
		}
		if err != nil {
			p.errorf(st.pos, "bind: %v", err)
			return nil, false
		}
		if tlsWritten == "" {
			tlsWritten = w
		}
		i += n
	}
	if !ssl {
		if tlsWritten != "" {
			p.warnf(st.pos, "bind: %q without \"ssl\": the bind serves plain connections, as HAProxy does (add \"ssl\" to terminate TLS)", tlsWritten)
		}
		return nil, true
	}
	if len(crts) == 0 {
		p.errorf(st.pos, "bind: \"ssl\" needs a certificate: add \"crt FILE|DIR\" or \"crt-list FILE\"")
		return nil, false
	}
	global := p.tls.bind
	if !p.useGlobal(st, "bind", p.tls.bindCiphers, p.tls.bindCipherSuites, &global) {
		return nil, false
	}
	set, err := tlsconf.Resolve(p.cas(), &global, o)
	if err != nil {
		p.errorf(st.pos, "bind: %v", err)
		return nil, false
	}
	if set.Ignored != "" {
		p.warnf(st.pos, "bind: %s", set.Ignored)
	}
	set.Lifetime = p.tls.lifetime
	tb = &tlsconf.Bind{Settings: set, StrictSNI: o.StrictSNI, Layers: []*tlsconf.Options{&global, o}, CAs: p.runtimeCAs()}
	if ticketFile != "" {
		data, err := p.opt.ReadFile(ticketFile)
		if err == nil {
			tb.TicketKeys, err = tlsconf.ParseTicketKeys(ticketFile, data)
		}
		if err != nil {
			p.errorf(st.pos, "bind: tls-ticket-keys: %v", err)
			return nil, false
		}
	}
	for _, c := range crts {
		if !c.list {
			certs, err := p.loadCrt(withBase(p.tls.crtBase, c.path))
			if err != nil {
				p.errorf(st.pos, "bind: crt: %v", err)
				return nil, false
			}
			for _, cert := range certs {
				tb.Entries = append(tb.Entries, &tlsconf.Entry{Cert: cert, Origin: cert.Path})
			}
			continue
		}
		if !p.loadCrtList(st, c.path, &global, o, tb) {
			return nil, false
		}
	}
	if len(tb.Entries) == 0 { // an empty crt-list, as HAProxy
		p.errorf(st.pos, "bind: no certificate: the crt-list files are empty (add a line, or \"crt FILE|DIR\")")
		return nil, false
	}
	return tb, true
}

// loadCrtList adds the certificates of a crt-list file to tb.
func (p *parser) loadCrtList(st *stmt, path string, global, bindOpts *tlsconf.Options, tb *tlsconf.Bind) bool {
	data, err := p.opt.ReadFile(path)
	if err != nil {
		p.errorf(st.pos, "bind: crt-list: %v", err)
		return false
	}
	lines, err := tlsconf.ParseCrtList(path, data)
	if err != nil {
		p.errorf(st.pos, "bind: crt-list: %v", err)
		return false
	}
	ok := true
	for _, l := range lines {
		lineErr := func(format string, a ...any) {
			p.errorf(st.pos, "bind: crt-list %s:%d: %s", path, l.Line, fmt.Sprintf(format, a...))
			ok = false
		}
		certs, err := p.loadCrt(withBase(p.tls.crtBase, l.Path))
		if err != nil {
			lineErr("%v", err)
			continue
		}
		var set *tlsconf.Settings
		if len(l.Options) > 0 {
			lo, err := tlsconf.ParseLineOptions(l.Options)
			if err != nil {
				lineErr("%v", err)
				continue
			}
			if set, err = tlsconf.Resolve(p.cas(), global, bindOpts, lo); err != nil {
				lineErr("%v", err)
				continue
			}
			if set.Ignored != "" {
				p.warnf(st.pos, "bind: crt-list %s:%d: %s", path, l.Line, set.Ignored)
			}
			set.Lifetime = p.tls.lifetime
		}
		for _, c := range certs {
			tb.Entries = append(tb.Entries, &tlsconf.Entry{Cert: c, Filters: l.Filters, Settings: set, Origin: fmt.Sprintf("%s:%d", path, l.Line),
				List: path, Line: l.Line, Opts: l.Options, Written: l.Written})
		}
	}
	return ok
}

func bindOptionNames() []string {
	names := []string{"ssl", "crt", "crt-list", "tls-ticket-keys"}
	for n := range knownBindOptions {
		if _, known := tlsconf.TakesArg(n); known {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// checkFrontendTLS checks what a bind needs of its frontend: "proto h2" is for mode
// http, as in HAProxy (whose alpn h2 in mode http tandem serves too).
func (p *parser) checkFrontendTLS(px *proxyState) {
	if px.mode != config.ModeHTTP && px.h2Pos.Line > 0 {
		p.errorf(px.h2Pos, "bind: proto h2 needs mode http (the frontend is in mode tcp)")
	}
}

// srvTLS are the TLS options of a server or default-server line, as written.
type srvTLS struct {
	ssl, checkSSL             bool
	verify                    string // "", none, required
	verifyHost                string
	noVerifyHost              bool
	caFile, crlFile, crt, sni string
	checkSNI                  string
	noReuse                   bool
	opts                      tlsconf.Options // versions, ciphers, alpn, no-tls-tickets
}

// serverTLSOption reads one TLS server option at words[0]. It returns how many words
// it took (0: not a TLS option).
func serverTLSOption(words []string, t *srvTLS) (int, error) {
	w := words[0]
	arg := func() (string, error) {
		if len(words) < 2 {
			return "", fmt.Errorf("%q needs an argument", w)
		}
		return words[1], nil
	}
	switch w {
	case "ssl", "no-ssl":
		t.ssl = w == "ssl"
		return 1, nil
	case "check-ssl", "no-check-ssl":
		t.checkSSL = w == "check-ssl"
		return 1, nil
	case "ssl-reuse", "no-ssl-reuse":
		t.noReuse = w == "no-ssl-reuse"
		return 1, nil
	case "tls-tickets":
		t.opts.NoTickets = false
		return 1, nil
	case "no-verifyhost":
		t.noVerifyHost = true
		return 1, nil
	case "verify", "verifyhost", "ca-file", "crl-file", "crt", "sni", "check-sni":
		v, err := arg()
		if err != nil {
			return 0, err
		}
		switch w {
		case "verify":
			if v != "none" && v != "required" {
				return 0, fmt.Errorf("verify %q (expected none or required)", v)
			}
			t.verify = v
		case "verifyhost":
			t.verifyHost, t.noVerifyHost = v, false
		case "ca-file":
			t.caFile = v
		case "crl-file":
			t.crlFile = v
		case "crt":
			t.crt = v
		case "sni":
			name, ok := constSample(v)
			if !ok {
				return 0, fmt.Errorf("sni %q: tandem takes a constant str(NAME) only; a sample expression worked out per connection is not supported", v)
			}
			t.sni = name
		case "check-sni":
			t.checkSNI = v
		}
		return 2, nil
	case "alpn", "ssl-min-ver", "ssl-max-ver", "ciphers", "ciphersuites", "no-sslv3", "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13",
		"force-sslv3", "force-tlsv10", "force-tlsv11", "force-tlsv12", "force-tlsv13", "no-tls-tickets":
		return t.opts.ParseOption(words, tlsconf.InBind)
	}
	return 0, nil
}

// constSample reads a sample expression that is a constant string: str(NAME).
func constSample(expr string) (string, bool) {
	if s, ok := strings.CutPrefix(expr, "str("); ok && strings.HasSuffix(s, ")") && len(s) > 1 && !strings.ContainsAny(s[:len(s)-1], "(),") {
		return s[:len(s)-1], true
	}
	return "", false
}

// serverTLS resolves a server line's TLS side (nil: plain), as HAProxy: verification
// is required unless `verify none` or `ssl-server-verify none`, and then needs a
// ca-file.
func (p *parser) serverTLS(st *stmt, label string, t *srvTLS, otherCheckTarget bool) (*tlsconf.Server, bool) {
	if !t.ssl && !t.checkSSL {
		return nil, true
	}
	global := p.tls.server
	if !p.useGlobal(st, label, p.tls.serverCiphers, p.tls.serverCipherSuites, &global) {
		return nil, false
	}
	set, err := tlsconf.Resolve(p.cas(), &global, &t.opts)
	if err != nil {
		p.errorf(st.pos, "%s: %v", label, err)
		return nil, false
	}
	if t.opts.Ciphers == nil && global.Ciphers == nil {
		set.Ciphers = nil // to servers, Go's defaults (ECDHE AEAD and CBC suites)
	}
	// ssl makes health checks speak TLS too, unless they go to another port or
	// address; check-ssl makes them speak TLS in any case.
	s := &tlsconf.Server{Settings: set, Traffic: t.ssl, SNI: t.sni, NoReuse: t.noReuse, CheckSNI: t.checkSNI,
		CheckSSL: t.checkSSL || t.ssl && !otherCheckTarget}
	verify := t.verify
	if verify == "" {
		verify = p.tls.serverVerify
	}
	if verify == "" {
		verify = "required"
	}
	if verify == "required" {
		if t.caFile == "" {
			p.errorf(st.pos, "%s: verify is enabled by default but no CA file specified: add \"ca-file FILE\", or if you are certain to trust the server's certificate, \"verify none\" on the server line or \"ssl-server-verify none\" in the global section", label)
			return nil, false
		}
		s.Verify = true
		if !t.noVerifyHost {
			s.VerifyHost = t.verifyHost
		}
	}
	if t.caFile != "" {
		if s.RootCAs, err = p.cas().Pool(t.caFile); err != nil {
			p.errorf(st.pos, "%s: %v", label, err)
			return nil, false
		}
	}
	if t.crlFile != "" { // read with verify none too: a missing file is an error, as HAProxy
		crls, err := p.cas().CRL(t.crlFile)
		if err != nil {
			p.errorf(st.pos, "%s: %v", label, err)
			return nil, false
		}
		if s.Verify {
			s.CRLs = crls
		}
	}
	if t.crt != "" {
		c, err := p.loadPEM(withBase(p.tls.crtBase, t.crt))
		if err != nil {
			p.errorf(st.pos, "%s: crt: %v", label, err)
			return nil, false
		}
		s.Cert = c.TLS
	}
	return s, true
}

// checkBackendTLS checks what TLS to servers needs of its backend: in mode http, the
// protocols of alpn must be ones tandem speaks to servers (HTTP/1).
func (p *parser) checkBackendTLS(px *proxyState) {
	if px.mode != config.ModeHTTP {
		return
	}
	for _, s := range px.servers {
		if s.TLS == nil || !s.TLS.Traffic {
			continue
		}
		for _, proto := range s.TLS.Settings.ALPN {
			if proto != "http/1.1" && proto != "http/1.0" {
				p.errorf(s.Pos, "server %q: alpn %q: tandem speaks HTTP/1 to servers for now (HTTP/2 is issue 12); use alpn http/1.1", s.Name, proto)
				break
			}
		}
	}
}

func kwHTTPSLog(p *parser, px *proxyState, st *stmt, args []string, neg bool) {
	if len(args) > 0 {
		p.errorf(st.pos, "option httpslog: unexpected argument %q", args[0])
		return
	}
	px.httpLog, px.httpsLog = !neg, !neg
	if !neg {
		px.tcpLog = false
	}
}
