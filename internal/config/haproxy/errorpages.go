package haproxy

import (
	"slices"
	"strconv"
	"strings"

	"tandem/internal/config"
	"tandem/internal/rules"
)

// This file reads the error page keywords besides errorfile: `errorfiles NAME
// [CODE…]` with `http-errors NAME` sections of `errorfile CODE FILE` lines, and
// `errorloc`, `errorloc302`, `errorloc303`, which answer a status with a redirect.

// errorfilesRef is an `errorfiles NAME [CODE…]` line.
type errorfilesRef struct {
	pos   config.Pos
	name  string
	codes []int // nil: every code of the section
	seq   int   // order among the proxy's error page lines
}

// errorfilesUse is a deny/return … errorfiles NAME argument.
type errorfilesUse struct {
	pos   config.Pos
	name  string
	reply *rules.Reply
}

// httpErrors is an http-errors section.
type httpErrors struct {
	pos   config.Pos
	pages map[int][]byte
}

func kwErrorFiles(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	if len(args) == 0 {
		p.errorf(st.pos, "errorfiles: missing the name of an http-errors section (errorfiles NAME [CODE...])")
		return
	}
	ref := errorfilesRef{pos: st.pos, name: args[0], seq: len(px.errorfilesRefs)}
	for _, a := range args[1:] {
		code, err := strconv.Atoi(a)
		if err != nil || !rules.HandledStatus(code) {
			p.errorf(st.pos, "errorfiles %s: status code %q is not one HAProxy can answer with", args[0], a)
			return
		}
		ref.codes = append(ref.codes, code)
	}
	px.errorfilesRefs = append(px.errorfilesRefs, ref)
}

// kwErrorLoc reads `errorloc|errorloc302|errorloc303 CODE URL`: the status is
// answered with a redirect to URL, as HAProxy 2.6 writes it.
func kwErrorLoc(p *parser, px *proxyState, st *stmt, args []string, _ bool) {
	kw := p.kwName(st)
	if !p.argN(st, kw, args, 2, 2, "<code> <url>") {
		return
	}
	code, err := strconv.Atoi(args[0])
	if err != nil || !rules.HandledStatus(code) {
		p.errorf(st.pos, "%s: status code %q is not one HAProxy can answer with", kw, args[0])
		return
	}
	status := "302 Found"
	if kw == "errorloc303" {
		status = "303 See Other"
	}
	if px.errorFiles == nil {
		px.errorFiles = map[int][]byte{}
	}
	px.errorFiles[code] = []byte("HTTP/1.1 " + status + "\r\ncache-control: no-cache\r\ncontent-length: 0\r\nlocation: " + args[1] + "\r\n\r\n")
	px.notePage(code)
}

// notePage records that an errorfile or errorloc line set code's page after the
// errorfiles lines read so far: it wins over them, not over later ones.
func (px *proxyState) notePage(code int) {
	if px.errorPageSeq == nil {
		px.errorPageSeq = map[int]int{}
	}
	px.errorPageSeq[code] = len(px.errorfilesRefs)
}

// httpErrorsLine reads a line of an http-errors section.
func (p *parser) httpErrorsLine(st *stmt) {
	he := p.curErrors
	w := st.words
	if w[0] != "errorfile" {
		p.errs.Add(st.pos, "%s: unknown keyword %q (an http-errors section holds errorfile CODE FILE lines)", p.label, w[0])
		return
	}
	if len(w) != 3 {
		p.errs.Add(st.pos, "%s: errorfile: expected errorfile CODE FILE", p.label)
		return
	}
	code, err := strconv.Atoi(w[1])
	if err != nil || !rules.HandledStatus(code) {
		p.errs.Add(st.pos, "%s: errorfile: status code %q is not one HAProxy can answer with", p.label, w[1])
		return
	}
	data, err := p.opt.ReadFile(w[2])
	if err != nil {
		p.errs.Add(st.pos, "%s: errorfile %d: cannot read %q: %v", p.label, code, w[2], unwrapPathError(err))
		return
	}
	if !strings.HasPrefix(string(data), "HTTP/") {
		p.errs.Add(st.pos, "%s: errorfile %d: %q is not an HTTP response (it must start with the status line)", p.label, code, w[2])
		return
	}
	he.pages[code] = data
}

// resolveErrorPages applies a proxy's errorfiles lines and resolves the errorfiles
// arguments of its deny and return rules.
func (p *parser) resolveErrorPages(px *proxyState) map[int][]byte {
	pages := px.errorFiles
	for _, ref := range px.errorfilesRefs {
		he := p.httpErrors[ref.name]
		if he == nil {
			p.errorf(ref.pos, "errorfiles: no http-errors section named %q", ref.name)
			continue
		}
		for code, page := range he.pages {
			if ref.codes != nil && !slices.Contains(ref.codes, code) {
				continue
			}
			if seq, ok := px.errorPageSeq[code]; ok && seq > ref.seq {
				continue // an errorfile or errorloc line after this one wins
			}
			if pages == nil {
				pages = map[int][]byte{}
			}
			pages[code] = page
		}
	}
	for _, u := range px.errorfilesUses {
		he := p.httpErrors[u.name]
		if he == nil {
			p.errorf(u.pos, "errorfiles: no http-errors section named %q", u.name)
			continue
		}
		page, ok := he.pages[u.reply.Status]
		if !ok {
			// HAProxy then answers with the proxy's default page for the status.
			u.reply.Kind = rules.ReplyDefault
			continue
		}
		u.reply.Raw = page
	}
	return pages
}

// openHTTPErrors starts an `http-errors NAME` section.
func (p *parser) openHTTPErrors(st *stmt) {
	name, ok := p.openNamedSection(st, "http-errors", func(name string) (config.Pos, bool) {
		if old := p.httpErrors[name]; old != nil {
			return old.pos, true
		}
		return config.Pos{}, false
	})
	if !ok {
		return
	}
	if p.httpErrors == nil {
		p.httpErrors = map[string]*httpErrors{}
	}
	p.curErrors = &httpErrors{pos: st.pos, pages: map[int][]byte{}}
	p.httpErrors[name] = p.curErrors
}
