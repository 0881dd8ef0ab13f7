package vip

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Manager applies address sets over netlink.
type Manager struct {
	h *netlink.Handle
}

// New returns a Manager working in the calling thread's network namespace.
func New() (*Manager, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink: %w", err)
	}
	return &Manager{h: h}, nil
}

// NewWithHandle returns a Manager using h (for example one made with
// netlink.NewHandleAt for another namespace).
func NewWithHandle(h *netlink.Handle) *Manager { return &Manager{h: h} }

// Close releases the netlink handle.
func (m *Manager) Close() { m.h.Close() }

// Set makes exactly desired, among managed, present on the interfaces. It tries
// every change and returns all the errors joined.
func (m *Manager) Set(managed, desired []Addr) error {
	present := map[key]bool{}
	links := map[string]netlink.Link{}
	var errs []error
	for _, a := range append(append([]Addr(nil), managed...), desired...) {
		if _, ok := links[a.Dev]; ok {
			continue
		}
		l, err := m.h.LinkByName(a.Dev)
		if err != nil {
			errs = append(errs, fmt.Errorf("interface %s: %w", a.Dev, err))
			links[a.Dev] = nil
			continue
		}
		links[a.Dev] = l
		addrs, err := m.h.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			errs = append(errs, fmt.Errorf("addresses of %s: %w", a.Dev, err))
			continue
		}
		for _, na := range addrs {
			ip, ok := netip.AddrFromSlice(na.IP)
			if !ok {
				continue
			}
			bits, _ := na.Mask.Size()
			present[key{a.Dev, ip.Unmap(), bits}] = true
		}
	}
	add, del := plan(managed, desired, present)
	for _, a := range del {
		l := links[a.Dev]
		if l == nil {
			continue
		}
		if err := m.h.AddrDel(l, toNetlink(a)); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			errs = append(errs, fmt.Errorf("remove %s: %w", a, err))
		}
	}
	for _, a := range add {
		l := links[a.Dev]
		if l == nil {
			continue
		}
		if err := m.h.AddrAdd(l, toNetlink(a)); err != nil && !errors.Is(err, unix.EEXIST) {
			if errors.Is(err, unix.EPERM) {
				err = fmt.Errorf("%w (adding addresses needs CAP_NET_ADMIN)", err)
			}
			errs = append(errs, fmt.Errorf("add %s: %w", a, err))
		}
	}
	return errors.Join(errs...)
}

// Present reports which of addrs are on their interfaces now.
func (m *Manager) Present(addrs []Addr) ([]Addr, error) {
	var out []Addr
	for _, a := range addrs {
		l, err := m.h.LinkByName(a.Dev)
		if err != nil {
			return nil, fmt.Errorf("interface %s: %w", a.Dev, err)
		}
		list, err := m.h.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			return nil, fmt.Errorf("addresses of %s: %w", a.Dev, err)
		}
		for _, na := range list {
			ip, _ := netip.AddrFromSlice(na.IP)
			bits, _ := na.Mask.Size()
			if ip.Unmap() == a.Prefix.Addr() && bits == a.Prefix.Bits() {
				out = append(out, a)
				break
			}
		}
	}
	return out, nil
}

func toNetlink(a Addr) *netlink.Addr {
	ip := a.Prefix.Addr()
	na := &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(a.Prefix.Bits(), ip.BitLen())}}
	if ip.Is4() {
		na.Label = a.Label
		if a.Broadcast.IsValid() {
			na.Broadcast = a.Broadcast.AsSlice()
		}
	} else {
		// A VIP must answer at once after failover: no duplicate address detection.
		na.Flags = unix.IFA_F_NODAD
		if a.Prefix.Bits() == 128 {
			na.PreferedLft = 0 // as keepalived: a /128 VIP is deprecated, never a source
			na.ValidLft = math.MaxUint32
		}
	}
	switch a.Scope {
	case "host":
		na.Scope = int(netlink.SCOPE_HOST)
	case "link":
		na.Scope = int(netlink.SCOPE_LINK)
	case "site":
		na.Scope = int(netlink.SCOPE_SITE)
	case "nowhere":
		na.Scope = int(netlink.SCOPE_NOWHERE)
	}
	return na
}
