package haproxy

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"tandem/internal/config"
)

func TestCheckKeywords(t *testing.T) {
	cfg := mustParse(t, base+`    option redispatch 2
    retry-on conn-failure 503 empty-response
    option tcp-check
    tcp-check connect port 6379
    tcp-check send PING\r\n
    tcp-check send-binary 0a0b
    tcp-check expect ! rstring ^-ERR
    tcp-check expect binary 0a
    default-server fastinter 500ms downinter 5s slowstart 30s
    server s1 127.0.0.1:80 check addr 127.0.0.2 observe layer7 error-limit 5 on-error mark-down on-marked-down shutdown-sessions agent-check agent-port 9999 agent-inter 3s agent-send hello init-addr last,libc,none
    server s2 127.0.0.1:81 check
`, nil)
	b := cfg.Backend("app")
	if !b.Redispatch || b.RedispatchEvery != 2 {
		t.Errorf("redispatch = %v every %d", b.Redispatch, b.RedispatchEvery)
	}
	if want := config.RetryConnFailure | config.Retry503 | config.RetryEmptyResponse; b.RetryOn != want {
		t.Errorf("retry-on = %b, want %b", b.RetryOn, want)
	}
	if !b.RetryOn.RetryStatus(503) || b.RetryOn.RetryStatus(502) {
		t.Errorf("RetryStatus wrong for %b", b.RetryOn)
	}
	rules := b.Check.TCPRules
	if len(rules) != 5 || rules[0].Port != 6379 || rules[1].Data != "PING\r\n" || rules[2].Data != "\x0a\x0b" ||
		!rules[3].Negate || rules[3].Match != "rstring" || rules[4].Pattern != "\x0a" {
		t.Errorf("tcp-check rules = %+v", rules)
	}
	c := b.Server("s1").Check
	want := config.ServerCheck{Enabled: true, Inter: config.DefaultInter, Rise: config.DefaultRise, Fall: config.DefaultFall,
		FastInter: 500 * time.Millisecond, DownInter: 5 * time.Second, Addr: netip.MustParseAddr("127.0.0.2"),
		SlowStart: 30 * time.Second, Observe: "layer7", ErrorLimit: 5, OnError: "mark-down", OnMarkedDown: "shutdown-sessions",
		InitAddr: "last,libc,none", Agent: true, AgentPort: 9999, AgentInter: 3 * time.Second, AgentSend: "hello"}
	if c != want {
		t.Errorf("s1 check =\n%+v, want\n%+v", c, want)
	}
	if c2 := b.Server("s2").Check; c2.FastInter != 500*time.Millisecond || c2.SlowStart != 30*time.Second || c2.OnError != "fastinter" || c2.ErrorLimit != 10 {
		t.Errorf("s2 check (default-server) = %+v", c2)
	}
}

func TestCheckKeywordErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{"server s1 127.0.0.1:80 observe layer5", `observe: expected layer4 or layer7`},
		{"server s1 127.0.0.1:80 on-error explode", `on-error: unknown mode "explode"`},
		{"server s1 127.0.0.1:80 agent-check", `agent-check needs agent-port`},
		{"server s1 127.0.0.1:80 fastinter 0", `fastinter: must be greater than 0`},
		{"server s1 127.0.0.1:80 addr web1", `addr: "web1" is not an IP address`},
		{"retry-on conn-failur", `retry-on: unknown condition "conn-failur" (did you mean "conn-failure"?)`},
		{"retry-on none 503", `"none" must be alone`},
		{"tcp-check expect rstring (", `tcp-check expect rstring`},
		{"tcp-check send-binary zz", `not hex`},
		{"option redispatch x", `option redispatch: interval`},
	}
	for _, tt := range tests {
		_, err := Parse("t.cfg", []byte(base+"    "+tt.line+"\n"), testOptions(nil))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tt.line, err, tt.want)
		}
	}
}

// FuzzCheckKeywords: the health-check and fault-handling keywords never crash the parser.
func FuzzCheckKeywords(f *testing.F) {
	for _, s := range []string{
		"server s1 127.0.0.1:80 check fastinter 1s downinter 5s slowstart 10s observe layer7 error-limit 3 on-error mark-down",
		"server s1 127.0.0.1:80 agent-check agent-port 1 agent-send x agent-inter 1s agent-addr 127.0.0.2",
		"retry-on all-retryable-errors 404",
		"option redispatch -2",
		"tcp-check expect ! rstring ^x",
		"tcp-check send-binary 00ff",
		"server s1 127.0.0.1:80 init-addr last,libc,none addr ::1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\n\r") {
			return
		}
		cfg, err := Parse("t.cfg", []byte(base+"    "+line+"\n"), testOptions(nil))
		if err == nil && cfg.Backend("app") == nil {
			t.Fatal("parsed without the backend")
		}
	})
}

func TestInitAddr(t *testing.T) {
	cfg := mustParse(t, base+`    server s1 gone.example:80 init-addr last,libc,none
    server s2 gone.example:81 init-addr libc,10.0.0.7
    server s3 web1.example:82 init-addr none
`, nil)
	b := cfg.Backend("app")
	if s := b.Server("s1"); !s.Disabled {
		t.Errorf("init-addr none: %+v, want disabled (maintenance)", s)
	}
	if s := b.Server("s2"); s.Addr != netip.MustParseAddrPort("10.0.0.7:81") || s.Disabled {
		t.Errorf("init-addr IP: %+v", s)
	}
	if s := b.Server("s3"); s.Addr != netip.MustParseAddrPort("127.0.0.11:82") || s.Disabled {
		t.Errorf("resolvable name: %+v", s)
	}
	if w := strings.Join(warnings(cfg), "\n"); !strings.Contains(w, `init-addr none: the server starts in maintenance`) || !strings.Contains(w, "init-addr: using 10.0.0.7") {
		t.Errorf("warnings:\n%s", w)
	}
	if _, err := Parse("t.cfg", []byte(base+"    server s1 gone.example:80 init-addr last,libc\n"), testOptions(nil)); err == nil {
		t.Error("an unresolvable name without none or an IP must be an error")
	}
}
