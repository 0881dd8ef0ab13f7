package master

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"tandem/internal/config"
	"tandem/internal/listener"
	"tandem/internal/runtimeapi"
)

// ListenCLI opens the master CLI socket of -S <addr>[,<option>,<value>...]: a unix path
// (or unix@PATH) with options mode, user and group, or ipv4@/ipv6@ADDR:PORT. A stale
// socket file is replaced; a live one (another master's) is an error.
func ListenCLI(spec string) (net.Listener, error) {
	parts := strings.Split(spec, ",")
	addr := parts[0]
	var mode uint64
	var userName, groupName string
	for i := 1; i < len(parts); i += 2 {
		if i+1 >= len(parts) {
			return nil, fmt.Errorf("-S %s: option %q needs a value", spec, parts[i])
		}
		v := parts[i+1]
		switch parts[i] {
		case "mode":
			var err error
			if mode, err = strconv.ParseUint(v, 8, 32); err != nil {
				return nil, fmt.Errorf("-S %s: mode %q: %v", spec, v, err)
			}
		case "user":
			userName = v
		case "group":
			groupName = v
		default:
			return nil, fmt.Errorf("-S %s: unknown option %q (tandem takes mode, user and group)", spec, parts[i])
		}
	}
	uid, gid, err := listener.Owner(userName, groupName)
	if err != nil {
		return nil, fmt.Errorf("-S %s: %w", spec, err)
	}
	for _, p := range []struct{ prefix, network string }{{"ipv4@", "tcp4"}, {"ipv6@", "tcp6"}} {
		if a, ok := strings.CutPrefix(addr, p.prefix); ok {
			return net.Listen(p.network, a)
		}
	}
	path := strings.TrimPrefix(addr, "unix@")
	ln, err := runtimeapi.Listen(config.StatsSocket{Address: path})
	if err != nil {
		return nil, fmt.Errorf("-S %s: %w", spec, err)
	}
	if mode != 0 {
		if err := os.Chmod(path, os.FileMode(mode)); err != nil {
			ln.Close()
			return nil, err
		}
	}
	if uid >= 0 || gid >= 0 {
		if err := os.Chown(path, uid, gid); err != nil {
			ln.Close()
			return nil, err
		}
	}
	return ln, nil
}
