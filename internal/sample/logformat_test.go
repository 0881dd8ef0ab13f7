package sample

import (
	"strings"
	"testing"
)

func TestLogFormat(t *testing.T) {
	for _, tc := range []struct{ format, want string }{
		{"plain text", "plain text"},
		{"", ""},
		{"100%%", "100%"},
		{"%[req.hdr(host),lower]", "www.example.com"},
		{"https://%[req.hdr(host)]%[path]", "https://Www.Example.com/p/a.php"},
		{"[%[req.hdr(nope)]]", "[]"}, // a sample not found writes nothing (as HAProxy's lf-string)
		{"%{+Q}[path]", `"/p/a.php"`},
		{"%[src]:%[src_port] %[method]", "192.0.2.10:40000 POST"},
		{"a%[str(x)]b%%c%[int(3)]", "axb%c3"},
	} {
		f, err := ParseLogFormat(tc.format, nil)
		if err != nil {
			t.Errorf("%q: %v", tc.format, err)
			continue
		}
		if got := string(f.Append(nil, newTxn(t, testReq))); got != tc.want {
			t.Errorf("%q = %q, want %q", tc.format, got, tc.want)
		}
		wantConst := !strings.Contains(tc.format, "[")
		if s, ok := f.Const(); ok != wantConst || ok && s != tc.want {
			t.Errorf("%q: Const() = %q, %v; want constant %v", tc.format, s, ok, wantConst)
		}
	}
}

func TestLogFormatErrors(t *testing.T) {
	for _, tc := range []struct{ format, want string }{
		{"%ci:%cp", `the log variable %ci is not supported here`},
		{"50%", "'%' at the end"},
		{"%[path", "missing ']'"},
		{"%[nope]", `unknown fetch method "nope"`},
		{"%{+X}[path]", `flag "+X" is not supported`},
		{"%{+Q}ci", "only before a sample"},
		{"%{+Q", "missing '}'"},
		{"%[path_beg]", "only an ACL keyword"},
	} {
		_, err := ParseLogFormat(tc.format, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error with %q", tc.format, err, tc.want)
		}
	}
}
