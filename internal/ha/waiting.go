package ha

import (
	"time"

	"tandem/internal/config"
)

// An instance whose interface does not exist when it should start waits in FAULT,
// as keepalived's does, instead of failing the node: the link poll starts it once
// the interface appears (a VLAN or bond created after boot, a renamed NIC).

// missingInterface reports whether c's interface does not exist, as LinkUp says.
func (n *Node) missingInterface(c *config.VRRPInstance) bool {
	_, err := n.opt.LinkUp(c.Interface)
	return err != nil
}

// waiter is an instance waiting in FAULT for its interface.
type waiter struct {
	since   time.Time
	lastErr string // the last start failure logged, so a retry every poll logs once
}

// waitLocked records c as waiting in FAULT for its interface. n.mu is held.
func (n *Node) waitLocked(c *config.VRRPInstance, cause error) {
	if n.waiting == nil {
		n.waiting = map[string]*waiter{}
	}
	if _, ok := n.waiting[c.Name]; !ok {
		n.waiting[c.Name] = &waiter{since: n.now()}
		n.log.Warn("interface does not exist: the instance waits in FAULT until it appears",
			"instance", c.Name, "interface", c.Interface, "err", cause)
		n.notifier.enqueue(c.Name, "FAULT", int(c.Priority), c.Notify.Fault, c.Notify.Any)
	}
}

// startWaiting starts the waiting instances whose interface exists now. It runs
// after each link poll.
func (n *Node) startWaiting() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.runCtx == nil {
		return
	}
	for name, w := range n.waiting {
		c := n.cfg.Instance(name)
		if c == nil || n.instances[name] != nil {
			delete(n.waiting, name)
			continue
		}
		if n.missingInterface(c) {
			continue
		}
		// startLocked removes the waiter once the instance runs
		if err := n.startLocked(c); err != nil {
			if err.Error() != w.lastErr {
				w.lastErr = err.Error()
				n.log.Error("cannot start the instance yet; retrying", "instance", name, "err", err)
			}
			continue
		}
		if n.instances[name] != nil {
			n.log.Info("interface appeared: instance started", "instance", name, "interface", c.Interface)
		}
	}
}

// waitingStatus reports a waiting instance. n.mu is held.
func (n *Node) waitingStatus(c *config.VRRPInstance, w *waiter) InstanceStatus {
	st := InstanceStatus{Name: c.Name, Interface: c.Interface, VRID: c.VRID, State: "FAULT", Since: w.since,
		Priority: int(c.Priority), BasePriority: int(c.Priority)}
	for _, va := range c.VIPs {
		st.VIPs = append(st.VIPs, va.Prefix)
	}
	return st
}
