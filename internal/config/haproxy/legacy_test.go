package haproxy

import (
	"strings"
	"testing"

	"tandem/internal/config"
)

// TestLegacyRewrite checks each mechanical rewrite of a keyword HAProxy removed; every
// rewritten line was checked with Debian's haproxy -c (HAProxy 2.6 accepts them).
func TestLegacyRewrite(t *testing.T) {
	tests := []struct{ line, want string }{
		{`clitimeout 5000`, `timeout client 5000`},
		{`contimeout 5s`, `timeout connect 5s`},
		{`srvtimeout 100s`, `timeout server 100s`},
		{`redispatch`, `option redispatch`},
		{`block if TRUE`, `http-request deny if TRUE`},
		{`block unless { src 10.0.0.0/8 }`, `http-request deny unless { src 10.0.0.0/8 }`},
		{`reqadd X-Foo:\ bar`, `http-request add-header X-Foo bar`},
		{`reqadd X-Forwarded-Proto:\ https`, `http-request add-header X-Forwarded-Proto https`},
		{`reqadd X-Scheme:\ https if needs_scheme { ssl_fc }`, `http-request add-header X-Scheme https if needs_scheme { ssl_fc }`},
		{`reqadd X-Percent:\ 50%\ off`, `http-request add-header X-Percent "50%% off"`},
		{`rspadd Strict-Transport-Security:\ max-age=31536000`, `http-response add-header Strict-Transport-Security max-age=31536000`},
		{`rspadd X-Forwarded-Host:\ https:\\\\vpn.example.com`, `http-response add-header X-Forwarded-Host "https:\\\\vpn.example.com"`},
		{`reqdel ^X-Foo:.*`, `http-request del-header X-Foo`},
		{`reqidel ^x-foo:`, `http-request del-header x-foo`},
		{`rspdel ^Server:.*$`, `http-response del-header Server`},
		{`rspidel ^server:.*`, `http-response del-header server`},
		{`reqrep ^Host:\ (.*) Host:\ x`, `http-request replace-header Host ^(.*)(.*) x\2`},
		{`reqirep ^host:\ (.*) Host:\ x`, `http-request replace-header host (?i)^(.*)(.*) x\2`},
		{`rsprep ^Server:\ .* Server:\ hidden`, `http-response replace-header Server ^.*(.*) hidden\1`},
		{`reqrep ^([^\ :]*)\ /webcam/(.*) \1\ /\2`, `http-request replace-uri ^/webcam/(.*)(.*) /\1\2`},
		{`reqrep ^([^\ :]*)\ /v1.23/(.*) \1\ /\2 if p_api`, `http-request replace-uri ^/v1.23/(.*)(.*) /\1\2 if p_api`},
		{`reqdeny ^X-Bad:.*`, `http-request deny if { req.hdr_cnt(X-Bad) gt 0 }`},
		{`reqideny ^User-Agent:.*curl`, `http-request deny if { req.fhdr(User-Agent) -m reg -i ^.*curl }`},
		{`reqtarpit ^X-Scan:\ yes`, `http-request tarpit if { req.fhdr(X-Scan) -m reg ^yes }`},
		{`rspdeny ^Server:.*`, `http-response deny if { res.hdr_cnt(Server) gt 0 }`},
		// No mechanical rewrite: the error still says what to use.
		{`reqirep ^Host: Host:\ example.com`, ``},
		{`reqdeny ^GET\ /admin`, ``},
		{`reqsetbe ^GET\ /x b`, ``},
		{`reqrep ^(a)\1 b`, ``},
		// Lines to delete.
		{`reqpass ^GET`, `(delete)`},
		{`nbproc 2`, `(delete)`},
		{`option http-use-htx`, `(delete)`},
	}
	for _, tt := range tests {
		sug := Suggest("t.cfg", []byte("listen l\n    "+tt.line+"\n"))
		got := ""
		if len(sug) == 1 {
			got = strings.Join(sug[0].New, "\n")
			if len(sug[0].New) == 0 {
				got = "(delete)"
			}
			if sug[0].Old != tt.line || sug[0].Pos.Line != 2 {
				t.Errorf("%s: suggestion for %s %q", tt.line, sug[0].Pos, sug[0].Old)
			}
		} else if len(sug) > 1 {
			t.Errorf("%s: %d suggestions", tt.line, len(sug))
		}
		if got != tt.want {
			t.Errorf("%s\n got: %s\nwant: %s", tt.line, got, tt.want)
		}
		// The parser refuses the line, says what to use, and quotes the same rewrite.
		_, err := Parse("t.cfg", []byte("global\n    "+tt.line+"\n"+"listen l\n    "+tt.line+"\n"), testOptions(nil))
		if err == nil || !strings.Contains(err.Error(), "HAProxy 2.6 refuses it too") {
			t.Errorf("%s: error %v, want \"HAProxy 2.6 refuses it too\"", tt.line, err)
		} else if tt.want == "(delete)" && !strings.Contains(err.Error(), "delete the line") {
			t.Errorf("%s: error %v does not say to delete the line", tt.line, err)
		} else if tt.want != "" && tt.want != "(delete)" && !strings.Contains(err.Error(), "write instead: "+tt.want) {
			t.Errorf("%s: error %v does not quote the rewrite", tt.line, err)
		}
	}
}

func TestListenAddressRewrite(t *testing.T) {
	sug := Suggest("t.cfg", []byte("listen stats *:22002 # the stats\n    mode http\nfrontend f from d\n"))
	if len(sug) != 1 || sug[0].Old != "listen stats *:22002 # the stats" || strings.Join(sug[0].New, "|") != "listen stats|    bind *:22002" {
		t.Fatalf("suggestions %+v", sug)
	}
	_, err := Parse("t.cfg", []byte("listen stats *:22002\n    mode http\n"), testOptions(nil))
	want := `t.cfg:1: listen "stats": unexpected argument "*:22002": addresses go on a "bind" line (HAProxy 2.6 refuses them here too); write instead: listen stats / bind *:22002`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v\nwant %s", err, want)
	}
}

func TestCfgWordRoundTrip(t *testing.T) {
	for _, s := range []string{"plain", "two words", `back\slash`, `a"quote`, "$HOME", "#hash", "", `\\`, `it's "both"`, "cr\rlf\n", "tab\there", "\x01"} {
		w := cfgWord(s)
		if !lexesAs(w, s) {
			t.Errorf("cfgWord(%q) = %s does not read back", s, w)
		}
	}
}

// FuzzSuggest feeds arbitrary files to Suggest: it must not panic, and every rewritten
// line must read back as words.
func FuzzSuggest(f *testing.F) {
	f.Add([]byte("listen l 1.2.3.4:80\n reqadd X-A:\\ b\n reqrep ^([^\\ :]*)\\ /a/(.*) \\1\\ /\\2\n"))
	f.Add([]byte("defaults\n clitimeout 5\n block if TRUE\n rspideny ^Server:.*x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, s := range Suggest("f.cfg", data) {
			for _, l := range s.New {
				if strings.ContainsAny(l, "\n\r") {
					t.Fatalf("rewrite %q spans lines", l)
				}
				var errs config.ErrorList
				lx := &lexer{env: func(string) (string, bool) { return "", false }, errs: &errs}
				if words, ok := lx.line(config.Pos{}, l); !ok || len(errs) > 0 || len(words) == 0 {
					t.Fatalf("rewrite %q of %q does not read back: %v", l, s.Old, errs)
				}
			}
		}
	})
}

// TestLegacyNegated: "no" before a removed keyword is refused as the removed keyword
// (HAProxy 2.6 refuses both), without a rewrite.
func TestLegacyNegated(t *testing.T) {
	for _, tt := range []struct{ line, want string }{
		{"no option http-use-htx", `keyword "option http-use-htx" is gone from HAProxy (HAProxy 2.6 refuses it too): delete the line (HTX is always on)`},
		{"no reqadd X-A:\\ 1", `keyword "reqadd" was removed in HAProxy 2.1 (HAProxy 2.6 refuses it too): use "http-request add-header NAME VALUE"`},
	} {
		_, err := Parse("t.cfg", []byte("defaults\n    mode http\n    "+tt.line+"\n"), testOptions(nil))
		checkErrors(t, err, []string{"t.cfg:3: defaults: " + tt.want})
	}
}
