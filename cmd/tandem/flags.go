package main

import (
	"fmt"
	"strconv"
	"strings"
)

// cmdLine is tandem's command line: tandem's own flags and HAProxy's.
type cmdLine struct {
	files, kfiles  []string
	check, suggest bool
	pidfile        string
	quiet          bool
	verbose        bool
	debug          bool // -d: foreground, debug output
	daemon         bool // -D
	foreground     bool // -db: never detach, whatever -D says
	master         bool // -W or -Ws
	systemd        bool // -Ws: sd_notify
	masterCLI      []string
	softStop       []int // -sf
	hardStop       []int // -st
	expose         string
	localPeer      string
	defaultMaxConn int
	dir            string
	version        bool
	positional     []string
}

// valueFlags take one argument: "-f FILE" or "-f=FILE".
var valueFlags = map[string]bool{"f": true, "k": true, "p": true, "S": true, "x": true, "L": true, "N": true, "C": true}

// parseArgs reads the command line as HAProxy 2.6 does for the flags both have: -sf and
// -st take every process id that follows them.
func parseArgs(args []string) (cmdLine, error) {
	var c cmdLine
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			c.positional = append(c.positional, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			c.positional = append(c.positional, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		value, hasValue := "", false
		if n, v, ok := strings.Cut(name, "="); ok {
			name, value, hasValue = n, v, true
		}
		if valueFlags[name] {
			if !hasValue {
				if i+1 >= len(args) {
					return c, fmt.Errorf("flag needs an argument: -%s", name)
				}
				i++
				value = args[i]
			}
			if err := c.setValue(name, value); err != nil {
				return c, err
			}
			continue
		}
		if hasValue {
			return c, fmt.Errorf("flag -%s takes no value", name)
		}
		switch name {
		case "c":
			c.check = true
		case "suggest":
			c.suggest = true
		case "q":
			c.quiet = true
		case "v", "vv", "V":
			c.verbose = true
		case "d":
			c.debug = true
		case "D":
			c.daemon = true
		case "db":
			c.foreground = true
		case "W":
			c.master = true
		case "Ws":
			c.master, c.systemd = true, true
		case "version":
			c.version = true
		case "sf", "st":
			var pids []int
			for i+1 < len(args) {
				p, err := strconv.Atoi(args[i+1])
				if err != nil || p <= 0 {
					break
				}
				pids = append(pids, p)
				i++
			}
			if name == "sf" {
				c.softStop = append(c.softStop, pids...)
			} else {
				c.hardStop = append(c.hardStop, pids...)
			}
		default:
			return c, fmt.Errorf("unknown flag %q", a)
		}
	}
	return c, nil
}

func (c *cmdLine) setValue(name, v string) error {
	switch name {
	case "f":
		c.files = append(c.files, v)
	case "k":
		c.kfiles = append(c.kfiles, v)
	case "p":
		c.pidfile = v
	case "S":
		c.masterCLI = append(c.masterCLI, v)
	case "x":
		c.expose = v
	case "L":
		c.localPeer = v
	case "N":
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("-N takes a positive number of connections, not %q", v)
		}
		c.defaultMaxConn = n
	case "C":
		c.dir = v
	}
	return nil
}
