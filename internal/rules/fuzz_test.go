package rules

import (
	"strings"
	"testing"

	"tandem/internal/http1"
)

// FuzzParse compiles arbitrary rule lines in every phase and runs what compiles over
// a request and a response: parsing never panics, and a rule that compiled runs
// without panicking and leaves a head that parses.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"set-header X-A %[src]", "del-header x -m reg", `replace-value X-V ^a(.*)$ q\1`,
		"redirect scheme https code 301 drop-query append-slash if { path_beg /a }",
		"return status 200 content-type text/plain lf-string %[path] hdr X-A b",
		"deny deny_status 429 unless { src 10.0.0.0/8 }", "set-query %[query]", "set-status 201 reason ok",
		"set-var(txn.a) path,lower", "capture req.hdr(host) len 10", "set-uri *", "set-method GET",
		`replace-uri ^/(.*) /x\1\\`, "auth realm R", "set-log-level silent",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		words := strings.Fields(line)
		for _, ph := range []Phase{Request, Response, AfterResponse} {
			r, err := Parse(ph, words, testEnv())
			if err != nil {
				continue
			}
			m := new(Msg)
			if ph == Request {
				req := new(http1.Request)
				if req.Parse([]byte(baseReq)) != nil {
					t.Fatal("base request")
				}
				m.Request(req, []byte(baseReq))
			} else {
				raw := "HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n"
				res := new(http1.Response)
				if res.Parse([]byte(raw)) != nil {
					t.Fatal("base response")
				}
				m.Response(res, []byte(raw))
			}
			tx := &txn{m: m}
			out := Run(Program{r}, tx, m)
			if m.Edited {
				if m.Req != nil {
					var q http1.Request
					if q.Parse(m.Buf) != nil {
						t.Fatalf("%q: edited head does not parse: %q", line, m.Buf)
					}
				}
			}
			if out.Rule != nil && out.Rule.Action == Redirect {
				AppendRedirect(nil, out.Rule, tx, m)
			}
			if out.Rule != nil && out.Rule.Reply != nil && out.Rule.Reply.Kind != ReplyDefault && out.Rule.Reply.Kind != ReplyRaw {
				AppendReply(nil, nil, out.Rule.Reply, tx)
			}
		}
	})
}
