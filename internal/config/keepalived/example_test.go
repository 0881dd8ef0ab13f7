package keepalived_test

import (
	"fmt"

	"tandem/internal/config/keepalived"
)

// The in-process tracker of the package documentation, in the seeds' instance.
func ExampleParse() {
	v, err := keepalived.Parse("keepalived.conf", []byte(`
vrrp_script proxy_ok {
    script "tandem:backend web_servers min 1"
    interval 0.2
    fall 2
    rise 2
    weight -20
}
vrrp_instance VI_1 {
    state MASTER
    interface eth1
    virtual_router_id 51
    priority 101
    advert_int 1
    virtual_ipaddress {
        192.168.10.30
    }
    track_script {
        proxy_ok
    }
}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	s := v.Scripts[0]
	fmt.Println(s.Name, s.InProcess.Kind, s.InProcess.Name, s.InProcess.MinUp, s.Interval, s.Weight)
	in := v.Instances[0]
	fmt.Println(in.Name, in.Interface, in.VRID, in.Priority, in.VIPs[0].Prefix, in.TrackScripts[0].Name)
	// Output:
	// proxy_ok backend web_servers 1 200ms -20
	// VI_1 eth1 51 101 192.168.10.30/32 proxy_ok
}
