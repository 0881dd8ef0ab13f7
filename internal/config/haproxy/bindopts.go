package haproxy

import (
	"strconv"

	"tandem/internal/config"
)

// bindSocketOptions takes the bind options that say how the listening socket is made
// (backlog, v4v6, v6only, interface, defer-accept, tfo, mss, transparent), the name
// label, and process/thread where they describe what tandem does (one process, every
// thread). It returns the other words in order, for the caller to parse or refuse.
func (p *parser) bindSocketOptions(st *stmt, args []string) (s config.BindSock, name string, rest []string) {
	for i := 0; i < len(args); i++ {
		opt := args[i]
		arg := func() (string, bool) {
			if i+1 >= len(args) || args[i+1] == "" {
				p.errorf(st.pos, "bind option %q needs an argument", opt)
				return "", false
			}
			i++
			return args[i], true
		}
		number := func(min, max int) (int, bool) {
			v, ok := arg()
			if !ok {
				return 0, false
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < min || n > max {
				p.errorf(st.pos, "bind option %q: %q is not a number from %d to %d", opt, v, min, max)
				return 0, false
			}
			return n, true
		}
		switch opt {
		case "backlog":
			if n, ok := number(1, maxInt32); ok {
				s.Backlog = n
			}
		case "mss":
			// HAProxy also takes a negative mss (relative to the interface's); tandem
			// sets positive values only.
			if n, ok := number(1, 65535); ok {
				s.MSS = n
			}
		case "interface":
			if v, ok := arg(); ok {
				if len(v) >= 16 {
					p.errorf(st.pos, "bind option interface: %q is longer than an interface name can be", v)
				}
				s.Interface = v
			}
		case "name":
			if v, ok := arg(); ok {
				name = v
			}
		case "mode":
			if v, ok := arg(); ok {
				m, err := strconv.ParseUint(v, 8, 32)
				if err != nil || m > 0o7777 {
					p.errorf(st.pos, "bind option mode: %q is not an octal file mode", v)
				}
				s.Mode = uint32(m)
			}
		case "user", "uid":
			if v, ok := arg(); ok {
				s.User = v
			}
		case "group", "gid":
			if v, ok := arg(); ok {
				s.Group = v
			}
		case "v4v6":
			s.V4V6 = true
		case "v6only":
			s.V6Only = true
		case "defer-accept":
			s.DeferAccept = true
		case "tfo":
			s.TFO = true
		case "transparent":
			s.Transparent = true
		case "process":
			// One process, as HAProxy 2.6 without nbproc: 1, all and odd name it.
			if v, ok := arg(); ok {
				switch v {
				case "1", "all", "odd":
					p.warnf(st.pos, "'process %s' on 'bind' lines is deprecated and will be removed in 2.7", v)
				default:
					p.errorf(st.pos, "bind option 'process': %q is not a valid number/range: it supports numbers from 1 to 1 (tandem runs one process)", v)
				}
			}
		case "thread":
			// Every thread accepts on every bind in tandem; "all" says so.
			if v, ok := arg(); ok && v != "all" {
				p.errorf(st.pos, "bind option 'thread %s' is not supported by tandem: every thread accepts on every bind (write 'thread all' or remove it)", v)
			}
		default:
			rest = append(rest, opt)
		}
	}
	if s.V4V6 && s.V6Only {
		p.errorf(st.pos, "bind options v4v6 and v6only contradict each other: keep one")
	}
	return s, name, rest
}
