package haproxy

import (
	"reflect"
	"testing"

	"tandem/internal/config"
)

func TestLexLine(t *testing.T) {
	env := map[string]string{"HOST": "127.0.0.1", "PORT": "8080", "EMPTY": "", "LIST": "a b  c"}
	tests := []struct {
		in   string
		want []string
	}{
		{"  bind   127.0.0.1:80\t ssl", []string{"bind", "127.0.0.1:80", "ssl"}},
		{"mode http # comment", []string{"mode", "http"}},
		{"mode http#comment", []string{"mode", "http"}},
		{"# only a comment", nil},
		{"", nil},
		{`log-format %{+Q}o\ %t\ %s`, []string{"log-format", "%{+Q}o %t %s"}},
		{`log-format "%{+Q}o %t %s"`, []string{"log-format", "%{+Q}o %t %s"}},
		{`log-format '%{+Q}o %t %s'`, []string{"log-format", "%{+Q}o %t %s"}},
		{`log-format "%{+Q}o %t"' %s'\ %{-Q}r`, []string{"log-format", "%{+Q}o %t %s %{-Q}r"}},
		{`a \# \\ \' \" \$`, []string{"a", "#", `\`, "'", `"`, "$"}},
		{`a \x41\x62 "\x43"`, []string{"a", "Ab", "C"}},
		{`a \n\r\t`, []string{"a", "\n\r\t"}},
		{`a "#not a comment" '# nor this'`, []string{"a", "#not a comment", "# nor this"}},
		{`a "" ''`, []string{"a", "", ""}},
		{`a pre"mid dle"post`, []string{"a", "premid dlepost"}},
		{`a '$HOST' $HOST`, []string{"a", "$HOST", "$HOST"}}, // $ is literal outside double quotes (HAProxy 2.6)
		{`bind "$HOST:${PORT}"`, []string{"bind", "127.0.0.1:8080"}},
		{`a "${UNSET}x" "$EMPTY"`, []string{"a", "x", ""}},
		{`a "${UNSET-dflt}" "${EMPTY-dflt}"`, []string{"a", "dflt", ""}},
		{`a "${LIST[*]}" z`, []string{"a", "a", "b", "c", "z"}},
		{`a "\$HOST"`, []string{"a", "$HOST"}},
		{`a "${.LINE}" "${.FILE}"`, []string{"a", "1", "f.cfg"}},
		{`group abc\`, []string{"group", `abc\`}},
		{`a \q`, []string{"a", `\q`}},
		{"a b\r", []string{"a", "b"}},
	}
	for _, tt := range tests {
		var errs config.ErrorList
		got := lex("f.cfg", []byte(tt.in), func(k string) (string, bool) { v, ok := env[k]; return v, ok }, &errs)
		if len(errs) > 0 {
			t.Errorf("lex(%q): %v", tt.in, errs)
			continue
		}
		var words []string
		if len(got) > 0 {
			words = got[0].words
		}
		if !reflect.DeepEqual(words, tt.want) {
			t.Errorf("lex(%q) = %q, want %q", tt.in, words, tt.want)
		}
	}
}

func TestLexErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`user "abc`, "f.cfg:1: unmatched quote at column 6"},
		{`user 'abc`, "f.cfg:1: unmatched quote at column 6"},
		{`a "${1X}"`, "f.cfg:1: forbidden first char in environment variable name at column 6"},
		{`a "$ b"`, "f.cfg:1: forbidden first char in environment variable name at column 5"},
		{`a "${A B}"`, "f.cfg:1: unmatched brace in environment variable name at column 5"},
		{`a "${A-x"`, "f.cfg:1: unmatched brace in environment variable name at column 5"},
		{`a \x4g`, "f.cfg:1: truncated or invalid hexadecimal sequence at column 3"},
		{`a \x4`, "f.cfg:1: truncated or invalid hexadecimal sequence at column 3"},
	}
	for _, tt := range tests {
		var errs config.ErrorList
		got := lex("f.cfg", []byte(tt.in), func(string) (string, bool) { return "", false }, &errs)
		if len(errs) != 1 || errs[0].Error() != tt.want {
			t.Errorf("lex(%q): errors %v, want %q", tt.in, errs, tt.want)
		}
		if len(got) != 0 {
			t.Errorf("lex(%q): a line with an error must yield no statement, got %v", tt.in, got)
		}
	}
}

func TestLexLineNumbers(t *testing.T) {
	var errs config.ErrorList
	got := lex("f.cfg", []byte("global\n\n  # c\n  maxconn 1\r\n\nfrontend x"), nil, &errs)
	var lines []int
	for _, s := range got {
		lines = append(lines, s.pos.Line)
	}
	if !reflect.DeepEqual(lines, []int{1, 4, 6}) {
		t.Errorf("lines = %v", lines)
	}
}
