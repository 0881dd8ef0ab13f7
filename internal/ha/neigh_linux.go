package ha

import (
	"net/netip"

	"github.com/vishvananda/netlink"
)

// neighborResolved reports whether the kernel resolved addr's link-layer address on
// ifname: false while its neighbour entry is INCOMPLETE or FAILED (the peer does not
// answer ARP / neighbour solicitations), true otherwise, also when there is no entry.
func neighborResolved(ifname string, addr netip.Addr) (bool, error) {
	link, err := netlink.LinkByName(ifname)
	if err != nil {
		return true, err
	}
	family := netlink.FAMILY_V4
	if addr.Is6() {
		family = netlink.FAMILY_V6
	}
	neighs, err := netlink.NeighList(link.Attrs().Index, family)
	if err != nil {
		return true, err
	}
	for _, n := range neighs {
		if a, ok := netip.AddrFromSlice(n.IP); ok && a.Unmap() == addr {
			return n.State&(netlink.NUD_INCOMPLETE|netlink.NUD_FAILED) == 0, nil
		}
	}
	return true, nil
}
