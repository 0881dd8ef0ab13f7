package ha

import (
	"net/netip"
	"testing"

	"tandem/internal/config/keepalived"
	"tandem/internal/vrrp"
	"tandem/internal/vrrpnet"
)

// FuzzCheck: whatever arrives on the socket, the receive checks never panic,
// and what they accept decodes to an advert for this instance's VRID.
func FuzzCheck(f *testing.F) {
	v, err := keepalived.Parse("k.conf", []byte("vrrp_instance V {\n interface eth0\n virtual_router_id 51\n"+
		" authentication {\n auth_type PASS\n auth_pass 1111\n }\n virtual_ipaddress {\n 198.18.0.100\n }\n}\n"))
	if err != nil {
		f.Fatal(err)
	}
	in := v.Instances[0]
	peer, self := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2")
	good := advertFor(in, 101, peer, vrrp.GroupV4)
	b, _ := good.MarshalBinary()
	f.Add(b, uint8(255))
	f.Add([]byte{0x21, 51}, uint8(255))
	f.Fuzz(func(t *testing.T, data []byte, ttl uint8) {
		adv, other, reason := check(in, self, vrrpnet.Packet{Src: peer, Dst: vrrp.GroupV4, TTL: int(ttl), Data: data})
		if !other && reason == "" && (adv.VRID != 51 || ttl != 255 || !vrrp.ChecksumOK(data, adv.Version, peer, vrrp.GroupV4)) {
			t.Errorf("accepted %+v (ttl %d)", adv, ttl)
		}
	})
}
