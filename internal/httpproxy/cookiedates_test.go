package httpproxy

import (
	"testing"
	"time"

	"tandem/internal/config"
)

// TestCookieDates follows configuration.txt on maxidle and maxlife: a cookie without a
// date is accepted and refreshed; one idle past maxidle, older than maxlife, or dated
// more than 24h ahead is ignored.
func TestCookieDates(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	idle := &config.Cookie{Mode: config.CookieInsert, MaxIdle: time.Hour}
	life := &config.Cookie{Mode: config.CookieInsert, MaxLife: time.Hour}
	both := &config.Cookie{Mode: config.CookieInsert, MaxIdle: time.Hour, MaxLife: 24 * time.Hour}
	for _, tt := range []struct {
		name        string
		ck          *config.Cookie
		dates       string
		ok, refresh bool
		first       int64
	}{
		{"no date: accepted, dates set in the response", idle, "", true, true, 0},
		{"another proxy's date format: as undated", idle, "|AbCdE", true, true, 0},
		{"fresh: accepted, no refresh", idle, "|1800000000|1799999000", true, false, 1799999000},
		{"idle a quarter of maxidle: refreshed", idle, "|1799999100|1799990000", true, true, 1799990000},
		{"idle past maxidle: ignored", idle, "|1799996000|1799996000", false, false, 0},
		{"dated 2 days ahead: ignored", idle, "|1800172800|1800172800", false, false, 0},
		{"dated 1h ahead (clock skew): accepted", idle, "|1800003600|1800003600", true, false, 1800003600},
		{"first seen past maxlife: ignored although active", life, "|1800000000|1799990000", false, false, 0},
		{"within maxlife: accepted, maxlife alone never refreshes", life, "|1799999000|1799999000", true, false, 1799999000},
		{"both limits, within both", both, "|1799999900|1799950000", true, false, 1799950000},
		{"only a last date: first is taken as last", both, "|1799999900", true, false, 1799999900},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ok, first, refresh := cookieDates([]byte(tt.dates), tt.ck, now)
			if ok != tt.ok || (ok && (refresh != tt.refresh || first != tt.first)) {
				t.Fatalf("cookieDates(%q) = ok %v first %d refresh %v; want ok %v first %d refresh %v",
					tt.dates, ok, first, refresh, tt.ok, tt.first, tt.refresh)
			}
		})
	}
}
