package haproxy

import "testing"

// TestNamedSectionErrors: userlist and http-errors sections take exactly one name,
// and one not used by another section of the same kind.
func TestNamedSectionErrors(t *testing.T) {
	pre := base + "    server s1 127.0.0.1:80\n"
	for _, tt := range []struct {
		name, cfg, want string
	}{
		{"duplicate userlist", pre + "userlist u\n    user a insecure-password x\nuserlist u\n",
			`t.cfg:13: userlist "u": already defined at t.cfg:11`},
		{"userlist with two names", pre + "userlist u v\n",
			`t.cfg:11: userlist: expected exactly one name (userlist NAME)`},
		{"duplicate http-errors", pre + "http-errors e\nhttp-errors e\n",
			`t.cfg:12: http-errors "e": already defined at t.cfg:11`},
		{"http-errors without a name", pre + "http-errors\n",
			`t.cfg:11: http-errors: expected exactly one name (http-errors NAME)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.cfg", []byte(tt.cfg), testOptions(nil))
			if err == nil {
				t.Fatalf("no error, want %s", tt.want)
			}
			checkErrors(t, err, []string{tt.want})
		})
	}
}
