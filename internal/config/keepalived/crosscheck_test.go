package keepalived

import (
	"net/netip"
	"strings"
	"testing"

	"tandem/internal/config"
)

func TestCrossCheck(t *testing.T) {
	k, err := parse("k.conf", []byte(`vrrp_script fe {
 script "tandem:frontend web"
}
vrrp_script be {
 script "tandem:backend app min 3"
}
vrrp_script gone {
 script "tandem:backend nope"
}
vrrp_instance VI_1 {
 interface eth0
 virtual_router_id 51
 virtual_ipaddress {
  198.18.0.100
 }
 track_script {
  fe
  be
  gone
 }
}
`), memSource{})
	if err != nil {
		t.Fatal(err)
	}
	bind := func(s string, line int) config.Bind {
		return config.Bind{Pos: config.Pos{File: "h.cfg", Line: line}, Addr: netip.MustParseAddrPort(s), Text: s}
	}
	h := &config.Config{
		Frontends: []*config.Frontend{{Name: "web", Binds: []config.Bind{
			bind("198.18.0.100:80", 3), bind("198.18.0.7:80", 4), bind("127.0.0.1:8404", 5),
			{Pos: config.Pos{File: "h.cfg", Line: 6}, Addr: netip.MustParseAddrPort("0.0.0.0:81"), Any: true, Text: "*:81"},
		}}},
		Backends: []*config.Backend{{Name: "app", Servers: []*config.Server{{}, {}}}},
	}
	errs, warns := CrossCheck(h, k)
	want := []string{
		`k.conf:4: vrrp_script "be": needs 3 servers UP in backend "app", which has 2`,
		`k.conf:7: vrrp_script "gone": tracks backend "nope", which haproxy.cfg does not define`,
	}
	if len(errs) != len(want) {
		t.Fatalf("errors:\n%v", errs)
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d = %q, want prefix %q", i, errs[i], w)
		}
	}
	if len(warns) != 1 || !strings.HasPrefix(warns[0].Error(), `h.cfg:4: frontend "web": bind 198.18.0.7:80: 198.18.0.7 is not a virtual_ipaddress`) {
		t.Errorf("warnings: %v", warns)
	}
}
