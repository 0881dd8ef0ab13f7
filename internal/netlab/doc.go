// Package netlab builds throwaway network topologies in Linux network namespaces:
// one Ethernet segment (a bridge in a hub namespace) with hosts joined to it by veth
// pairs. It drives the `ip` command and needs root. tandem demo --ha, the failover
// benchmark and the root tests build their labs with it.
package netlab
