package haproxy

import (
	"strings"
	"testing"

	"tandem/internal/config"
)

func TestLoggingKeywords(t *testing.T) {
	cfg := mustParse(t, `global
    log 127.0.0.1:514 local0
    log-tag haproxy
    log-send-hostname lb1
defaults
    mode http
    log global
    option httplog
    option dontlog-normal
    option log-separate-errors
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend fe
    bind :8080
    capture request header Host len 32
    capture request header User-Agent len 5
    capture response header Server len 8
    default_backend be
backend be
    server s1 127.0.0.1:80
`, nil)
	g := cfg.Global
	if g.LogTag != "haproxy" || !g.LogSendHostname || g.LogHostname != "lb1" {
		t.Errorf("global: tag %q, send-hostname %v %q", g.LogTag, g.LogSendHostname, g.LogHostname)
	}
	fe := cfg.Frontend("fe")
	if !fe.DontLogNormal || !fe.LogSeparateErrors {
		t.Errorf("dontlog-normal %v, log-separate-errors %v", fe.DontLogNormal, fe.LogSeparateErrors)
	}
	want := []config.HeaderCapture{{Pos: config.Pos{File: "t.cfg", Line: 16}, Name: "Host", Len: 32},
		{Pos: config.Pos{File: "t.cfg", Line: 17}, Name: "User-Agent", Len: 5}}
	if len(fe.ResCaptures) != 1 || fe.ResCaptures[0].Name != "Server" || fe.ResCaptures[0].Len != 8 {
		t.Errorf("response captures: %+v", fe.ResCaptures)
	}
	if len(fe.Captures) != 2 || fe.Captures[0] != want[0] || fe.Captures[1] != want[1] || !fe.HTTPLog || len(fe.Logs) != 1 || !fe.Logs[0].Global {
		t.Errorf("frontend: captures %+v, httplog %v, logs %+v", fe.Captures, fe.HTTPLog, fe.Logs)
	}
}

func TestCaptureErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{"capture request header Host", "expected capture request header NAME len LENGTH"},
		{"capture request header Host len 0", "len"},
		{"capture request header Ho:st len 5", "invalid header name"},
		{"capture response header Server", "expected capture response header NAME len LENGTH"},
		{"capture cookie SRV len 5", `keyword "capture cookie" is not supported by tandem`},
	}
	for _, tt := range tests {
		_, err := Parse("t.cfg", []byte("frontend fe\n    bind :80\n    "+tt.line+"\n"), testOptions(nil))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error containing %q", tt.line, err, tt.want)
		}
	}
	// in a backend: ignored with a warning, as other frontend-only keywords
	cfg, err := Parse("t.cfg", []byte("backend be\n    server s1 127.0.0.1:80\n    capture request header Host len 5\n"), testOptions(nil))
	if err != nil || !strings.Contains(strings.Join(warnings(cfg), "\n"), `keyword "capture request header" is ignored in a backend section`) {
		t.Errorf("in a backend: %v %q", err, warnings(cfg))
	}
}
