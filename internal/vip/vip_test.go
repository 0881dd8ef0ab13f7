package vip

import (
	"net/netip"
	"reflect"
	"testing"
)

func addr(s string) Addr { return Addr{Prefix: netip.MustParsePrefix(s), Dev: "eth0"} }

func TestPlan(t *testing.T) {
	a, b, c := addr("198.18.0.100/32"), addr("198.18.0.101/24"), addr("2001:db8::1/64")
	present := func(as ...Addr) map[key]bool {
		m := map[key]bool{}
		for _, x := range as {
			m[x.key()] = true
		}
		return m
	}
	tests := []struct {
		name             string
		managed, desired []Addr
		present          map[key]bool
		wantAdd, wantDel []Addr
	}{
		{"become master", []Addr{a, b}, []Addr{a, b}, present(), []Addr{a, b}, nil},
		{"already held: nothing to do", []Addr{a, b}, []Addr{a, b}, present(a, b), nil, nil},
		{"become backup", []Addr{a, b}, nil, present(a, b), nil, []Addr{a, b}},
		{"leftover of a crash removed at start", []Addr{a, b, c}, nil, present(c), nil, []Addr{c}},
		{"unmanaged addresses untouched", []Addr{a}, nil, present(a, b), nil, []Addr{a}},
		{"prefix length matters", []Addr{b}, []Addr{b}, present(addr("198.18.0.101/32")), []Addr{b}, nil},
		{"duplicates collapse", []Addr{a, a}, []Addr{a, a}, present(), []Addr{a}, nil},
		{"interface matters", []Addr{a}, []Addr{a}, present(Addr{Prefix: a.Prefix, Dev: "eth1"}), []Addr{a}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			add, del := plan(tt.managed, tt.desired, tt.present)
			if !reflect.DeepEqual(add, tt.wantAdd) || !reflect.DeepEqual(del, tt.wantDel) {
				t.Errorf("add %v del %v, want add %v del %v", add, del, tt.wantAdd, tt.wantDel)
			}
		})
	}
}
