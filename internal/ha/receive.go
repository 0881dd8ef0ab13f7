package ha

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"tandem/internal/config"
	"tandem/internal/vrrp"
	"tandem/internal/vrrpnet"
)

// check decides whether a received packet is an advert this instance accepts,
// with keepalived's rules: a packet keepalived would drop, tandem drops too, and
// says why. other is true for packets of another VRID (ignored, not counted);
// reason is non-empty for adverts of this VRID that are rejected.
func check(in *config.VRRPInstance, self netip.Addr, p vrrpnet.Packet) (adv vrrp.Advert, other bool, reason string) {
	if p.Src == self {
		return adv, true, ""
	}
	adv.IPv6 = in.IPv6()
	if err := adv.UnmarshalBinary(p.Data); err != nil {
		if len(p.Data) > 1 && p.Data[1] != in.VRID {
			return adv, true, ""
		}
		return adv, false, fmt.Sprintf("malformed: %v", err)
	}
	if adv.VRID != in.VRID {
		return adv, true, ""
	}
	if int(adv.Version) != in.Version {
		return adv, false, fmt.Sprintf("version %d, configured %d", adv.Version, in.Version)
	}
	multicast := p.Dst == vrrp.GroupV4 || p.Dst == vrrp.GroupV6
	if multicast && p.TTL != vrrp.TTL {
		return adv, false, fmt.Sprintf("TTL %d, must be 255", p.TTL)
	}
	if !multicast {
		for _, up := range in.UnicastPeers {
			if up.Addr == p.Src && ((up.MinTTL > 0 && p.TTL < up.MinTTL) || (up.MaxTTL > 0 && p.TTL > up.MaxTTL)) {
				return adv, false, fmt.Sprintf("TTL %d outside %d..%d", p.TTL, up.MinTTL, up.MaxTTL)
			}
		}
	}
	if !vrrp.ChecksumOK(p.Data, adv.Version, p.Src, p.Dst) {
		return adv, false, "bad checksum"
	}
	if adv.Version == 2 {
		want := uint8(vrrp.AuthNone)
		if in.AuthType == "PASS" {
			want = vrrp.AuthPass
		}
		if adv.AuthType != want {
			return adv, false, fmt.Sprintf("auth type %d, configured %d", adv.AuthType, want)
		}
		var pw [8]byte
		copy(pw[:], in.AuthPass)
		if want == vrrp.AuthPass && !bytes.Equal(adv.AuthData[:], pw[:]) {
			return adv, false, "wrong auth_pass"
		}
		if adv.Interval != in.AdvertInterval {
			return adv, false, fmt.Sprintf("advert interval %v, configured %v", adv.Interval, in.AdvertInterval)
		}
	}
	if !in.SkipCheckAdvAddr {
		if len(adv.Addrs) != len(in.VIPs) {
			return adv, false, fmt.Sprintf("%d virtual addresses, configured %d", len(adv.Addrs), len(in.VIPs))
		}
		for _, va := range in.VIPs {
			if !slices.Contains(adv.Addrs, va.Prefix.Addr()) {
				return adv, false, fmt.Sprintf("virtual address %s missing from the advert", va.Prefix.Addr())
			}
		}
	}
	return adv, false, ""
}

// advertFor builds the advert an instance sends with priority prio.
func advertFor(in *config.VRRPInstance, prio uint8, src, dst netip.Addr) vrrp.Advert {
	a := vrrp.Advert{
		Version: uint8(in.Version), VRID: in.VRID, Priority: prio, Interval: in.AdvertInterval,
		IPv6: in.IPv6(), Src: src, Dst: dst,
	}
	for _, va := range in.VIPs {
		a.Addrs = append(a.Addrs, va.Prefix.Addr())
	}
	if in.Version == 2 && in.AuthType == "PASS" {
		a.AuthType = vrrp.AuthPass
		copy(a.AuthData[:], in.AuthPass)
	}
	return a
}

// RejectClass is the class of a rejection reason given by check, for a metric label:
// malformed, version, ttl, checksum, auth, interval or addresses.
func RejectClass(reason string) string {
	switch {
	case strings.HasPrefix(reason, "malformed"):
		return "malformed"
	case strings.HasPrefix(reason, "version"):
		return "version"
	case strings.HasPrefix(reason, "TTL"):
		return "ttl"
	case strings.HasPrefix(reason, "bad checksum"):
		return "checksum"
	case strings.HasPrefix(reason, "auth type"), strings.HasPrefix(reason, "wrong auth_pass"):
		return "auth"
	case strings.HasPrefix(reason, "advert interval"):
		return "interval"
	case strings.Contains(reason, "virtual address"):
		return "addresses"
	}
	return "other"
}
