package ha

import (
	"tandem/internal/config"
	"tandem/internal/vrrp"
)

// groupsOf maps each grouped instance to its vrrp_sync_group.
func groupsOf(cfg *config.VRRP) map[string]*config.VRRPSyncGroup {
	m := map[string]*config.VRRPSyncGroup{}
	for _, sg := range cfg.SyncGroups {
		for _, name := range sg.Instances {
			m[name] = sg
		}
	}
	return m
}

func groupName(cfg *config.VRRP, instance string) string {
	for _, sg := range cfg.SyncGroups {
		for _, name := range sg.Instances {
			if name == instance {
				return sg.Name
			}
		}
	}
	return ""
}

// synced is called by an instance loop after it changed state: the other
// members of its sync group follow into MASTER or BACKUP, and when the whole
// group agrees on a new state the group's notify scripts run with keepalived's
// arguments (GROUP NAME STATE PRIORITY).
func (n *Node) synced(from *instance, to vrrp.State) {
	n.mu.Lock()
	sg := n.groups[from.cfg.Name]
	if sg == nil {
		n.mu.Unlock()
		return
	}
	var members []*instance
	agree := true
	for _, name := range sg.Instances {
		in := n.instances[name]
		if in == nil {
			agree = false
			continue
		}
		if in != from {
			members = append(members, in)
			if in.snapshot().State != to.String() {
				agree = false
			}
		}
	}
	notify := false
	if to != vrrp.Init && (agree || to == vrrp.Fault) && n.groupSt[sg.Name] != to.String() {
		n.groupSt[sg.Name] = to.String()
		notify = true
	}
	n.mu.Unlock()
	if to == vrrp.Master || to == vrrp.Backup {
		for _, in := range members {
			in.follow(to)
		}
	}
	if notify {
		var script string
		switch to {
		case vrrp.Master:
			script = sg.Notify.Master
		case vrrp.Backup:
			script = sg.Notify.Backup
		case vrrp.Fault:
			script = sg.Notify.Fault
		}
		n.notifier.enqueueGroup(sg.Name, to.String(), int(from.m.Priority()), script, sg.Notify.Any)
	}
}
