package haproxy

import "testing"

// TestAcceptInvalidOptions: option accept-invalid-http-request (defaults, frontend,
// listen) reaches the frontends, option accept-invalid-http-response (defaults, listen,
// backend) the backends; "no option" in a proxy turns an inherited one off.
func TestAcceptInvalidOptions(t *testing.T) {
	cfg := mustParse(t, `
defaults
    mode http
    timeout client 1s
    timeout connect 1s
    timeout server 1s
    option accept-invalid-http-request
    option accept-invalid-http-response
frontend lax
    bind :1
    default_backend lax
frontend strict
    bind :2
    no option accept-invalid-http-request
    default_backend strict
backend lax
    server a 127.0.0.1:80
backend strict
    no option accept-invalid-http-response
    server a 127.0.0.1:80
listen both
    bind :3
    server a 127.0.0.1:80
`, nil)
	fe := map[string]bool{}
	for _, f := range cfg.Frontends {
		fe[f.Name] = f.AcceptInvalidRequest
	}
	be := map[string]bool{}
	for _, b := range cfg.Backends {
		be[b.Name] = b.AcceptInvalidResponse
	}
	if !fe["lax"] || fe["strict"] || !fe["both"] {
		t.Errorf("frontends' accept-invalid-http-request: %v, want lax and both", fe)
	}
	if !be["lax"] || be["strict"] || !be["both"] {
		t.Errorf("backends' accept-invalid-http-response: %v, want lax and both", be)
	}
	if _, err := Parse("t.cfg", []byte("frontend f\n    bind :1\n    option accept-invalid-http-request x\n"), testOptions(nil)); err == nil {
		t.Error("an argument to option accept-invalid-http-request was accepted")
	}
}
