package http1

import "testing"

// TestParseRewritten: a head the proxy rebuilt may lack Host, repeat it or disagree with
// an absolute-form authority (HTTP actions may make it so, as in HAProxy); Parse still
// refuses such heads from a client.
func TestParseRewritten(t *testing.T) {
	for _, raw := range []string{
		"GET / HTTP/1.1\r\nX: 1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET http://a.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n",
	} {
		var r Request
		if err := r.Parse([]byte(raw)); err == nil {
			t.Errorf("Parse(%q) accepted it", raw)
		}
		if err := r.ParseRewritten([]byte(raw)); err != nil || r.Len != len(raw) {
			t.Errorf("ParseRewritten(%q): %v, Len %d", raw, err, r.Len)
		}
	}
	var r Request
	if err := r.ParseRewritten([]byte("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")); err == nil {
		t.Error("ParseRewritten accepted conflicting Content-Length")
	}
}
