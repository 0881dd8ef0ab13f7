package config

import "testing"

// TestDynamicMaxConn checks the dynamic maxconn rule against numbers worked out from
// configuration.txt ("fullconn", server "minconn") and measured on HAProxy 2.6.12.
func TestDynamicMaxConn(t *testing.T) {
	tests := []struct {
		name                      string
		minc, maxc, sess, full, w int64
	}{
		// configuration.txt's fullconn example: between 100 and 1000, 1000 at 10000 sessions.
		{"doc example idle", 100, 1000, 0, 10000, 100},
		{"doc example below minconn's share", 100, 1000, 999, 10000, 100},
		{"doc example at minconn's share", 100, 1000, 1000, 10000, 100},
		{"doc example on the ramp", 100, 1000, 1500, 10000, 150},
		{"doc example half way", 100, 1000, 5000, 10000, 500},
		{"doc example just below fullconn", 100, 1000, 9999, 10000, 999},
		{"doc example at fullconn", 100, 1000, 10000, 10000, 1000},
		{"doc example above fullconn", 100, 1000, 25000, 10000, 1000},
		// minconn 2 maxconn 10 fullconn 20: a ramp of one slot per two sessions.
		{"2/10/20 one session", 2, 10, 1, 20, 2},
		{"2/10/20 five sessions rounds 2.5 down", 2, 10, 5, 20, 2},
		{"2/10/20 six sessions", 2, 10, 6, 20, 3},
		{"2/10/20 seven sessions rounds 3.5 down", 2, 10, 7, 20, 3},
		{"2/10/20 nineteen sessions", 2, 10, 19, 20, 9},
		{"2/10/20 at fullconn", 2, 10, 20, 20, 10},
		{"2/10/20 above fullconn", 2, 10, 30, 20, 10},
		// Measured: HAProxy 2.6 queues the second of two sessions (3*2/4 = 1.5 -> 1).
		{"rounding measured on haproxy", 1, 3, 2, 4, 1},
		{"3 sessions: 2.25 rounds down", 1, 3, 3, 4, 2},
		// Not dynamic: the limit is maxconn.
		{"no minconn", 0, 10, 1, 20, 10},
		{"minconn equal to maxconn", 10, 10, 1, 20, 10},
		{"maxconn set at run time below minconn: never above maxconn", 5, 3, 1, 20, 3},
		{"no fullconn", 2, 10, 1, 0, 10},
		{"negative sessions count as none", 2, 10, -3, 20, 2},
		{"int32 extremes", 1, 1<<31 - 1, 1<<31 - 2, 1<<31 - 1, 1<<31 - 2},
	}
	for _, tt := range tests {
		if got := DynamicMaxConn(tt.minc, tt.maxc, tt.sess, tt.full); got != tt.w {
			t.Errorf("%s: DynamicMaxConn(min %d, max %d, sess %d, full %d) = %d, want %d",
				tt.name, tt.minc, tt.maxc, tt.sess, tt.full, got, tt.w)
		}
	}
}

// TestDefaultFullConn checks the default fullconn against what HAProxy 2.6.12 shows in
// its stats (slim of the BACKEND row).
func TestDefaultFullConn(t *testing.T) {
	tests := []struct{ sum, want int }{
		{5000 + 300, 530}, // two frontends reach the backend
		{55, 6},           // a listen section with maxconn 55
		{0, 1},            // no frontend reaches the backend
		{2000, 200},
		{1, 1},
		{10, 1},
		{11, 2},
	}
	for _, tt := range tests {
		if got := DefaultFullConn(tt.sum); got != tt.want {
			t.Errorf("DefaultFullConn(%d) = %d, want %d", tt.sum, got, tt.want)
		}
	}
}
