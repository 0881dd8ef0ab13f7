// Package vip holds virtual IP addresses on interfaces, declaratively: Set is
// given the addresses this process manages and those it should hold now, and
// makes the interfaces match, adding and removing only what differs. Calling it
// again with the same arguments changes nothing, so a reconcile loop may re-apply
// it at will (and it removes VIPs a crashed earlier run left behind).
package vip

import (
	"fmt"
	"net/netip"
)

// Addr is one virtual address on one interface.
type Addr struct {
	Prefix    netip.Prefix // address and prefix length
	Dev       string       // interface name
	Label     string       // optional IPv4 label (eth0:vip)
	Scope     string       // "", "global", "site", "link", "host", "nowhere"
	Broadcast netip.Addr   // optional
}

func (a Addr) String() string { return fmt.Sprintf("%s dev %s", a.Prefix, a.Dev) }

// key identifies an address on a link as the kernel does: interface, address
// and prefix length.
type key struct {
	dev  string
	addr netip.Addr
	bits int
}

func (a Addr) key() key { return key{a.Dev, a.Prefix.Addr(), a.Prefix.Bits()} }

// plan returns what to add and what to remove so that of managed, exactly
// desired is present, given what is present now. Addresses not in managed are
// never touched; an address in desired is managed.
func plan(managed, desired []Addr, present map[key]bool) (add, del []Addr) {
	want := map[key]bool{}
	for _, a := range desired {
		if !want[a.key()] {
			want[a.key()] = true
			if !present[a.key()] {
				add = append(add, a)
			}
		}
	}
	seen := map[key]bool{}
	for _, a := range managed {
		k := a.key()
		if !want[k] && present[k] && !seen[k] {
			del = append(del, a)
		}
		seen[k] = true
	}
	return add, del
}
