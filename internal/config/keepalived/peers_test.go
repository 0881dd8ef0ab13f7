package keepalived

import (
	"strconv"
	"strings"
	"testing"
)

func pairConf(prio int, trackWeight string) string {
	return `vrrp_script chk {
    script "/bin/true"
    interval 1
    weight ` + trackWeight + `
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority ` + strconv.Itoa(prio) + `
    advert_int 1
    virtual_ipaddress {
        198.18.0.100
    }
    track_script {
        chk
    }
}
`
}

// TestCrossCheckPeersWeights: the seeds' numbers. With priorities 100/99 and weight +10
// (seed 003) the VIP moves when the master's check fails (100 < 99+10); with weight -1 on
// 101/100 it does not (100 is not below 100), and the warning says what would.
func TestCrossCheckPeersWeights(t *testing.T) {
	for _, tt := range []struct {
		name           string
		master, backup string
		wantWarn       string
	}{
		{"seed 003: +10 on 100/99 moves", pairConf(100, "10"), pairConf(99, "10"), ""},
		{"-20 on 101/100 moves", pairConf(101, "-20"), pairConf(100, "-20"), ""},
		{"-1 on 101/100 ties: never moves", pairConf(101, "-1"), pairConf(100, "-1"), "priority 100 is still not below the peer's 100"},
		{"+5 on 120/100: master even without it", pairConf(120, "5"), pairConf(100, "5"), "weight -16 or lower would move it"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse("master.conf", []byte(tt.master))
			if err != nil {
				t.Fatal(err)
			}
			b, err := Parse("backup.conf", []byte(tt.backup))
			if err != nil {
				t.Fatal(err)
			}
			warns := CrossCheckPeers(a, b)
			var got []string
			for _, w := range warns {
				got = append(got, w.Error())
			}
			all := strings.Join(got, "\n")
			switch {
			case tt.wantWarn == "" && len(warns) > 0:
				t.Fatalf("unexpected warnings:\n%s", all)
			case tt.wantWarn != "" && !strings.Contains(all, tt.wantWarn):
				t.Fatalf("warnings %q do not contain %q", all, tt.wantWarn)
			case tt.wantWarn != "" && !strings.HasPrefix(all, "master.conf:"):
				t.Fatalf("warning not at the master's file:line: %q", all)
			}
		})
	}
}
