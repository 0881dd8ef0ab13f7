//go:build linux

package main

import (
	"strings"
	"testing"
	"time"
)

func TestSummary(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		in   []time.Duration
		want string
	}{
		{nil, "-"},
		{[]time.Duration{620 * ms}, "0.620"},
		{[]time.Duration{3500 * ms, 2700 * ms, 3100 * ms}, "3.100 (2.700–3.500)"},
		{[]time.Duration{4 * ms, 2 * ms}, "0.003 (0.002–0.004)"},
	} {
		if got := summary(c.in); got != c.want {
			t.Errorf("summary(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParsePairs(t *testing.T) {
	ps, err := parsePairs("tandem-keepalived, keepalived-keepalived")
	if err != nil || len(ps) != 2 || ps[0] != (pair{"tandem", "keepalived"}) || ps[1] != (pair{"keepalived", "keepalived"}) {
		t.Errorf("got %v, %v", ps, err)
	}
	for _, bad := range []string{"tandem", "haproxy-tandem", "tandem-"} {
		if _, err := parsePairs(bad); err == nil {
			t.Errorf("parsePairs(%q) accepted", bad)
		}
	}
}

func TestConfIsTheSeeds(t *testing.T) {
	b := &bench{version: 2, advert: time.Second}
	c := b.conf("MASTER", 101)
	for _, want := range []string{"state MASTER", "priority 101", "advert_int 1\n", "auth_pass 1111", vip} {
		if !strings.Contains(c, want) {
			t.Errorf("conf lacks %q:\n%s", want, c)
		}
	}
	if b.masterDown() != 3*time.Second+156*time.Second/256 {
		t.Errorf("Master_Down_Interval %v", b.masterDown())
	}
}
