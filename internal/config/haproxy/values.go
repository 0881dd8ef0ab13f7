package haproxy

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"tandem/internal/config"
)

// maxTimer is the largest time HAProxy accepts (2^31-1 ms, about 24.8 days).
const maxTimer = (1<<31 - 1) * time.Millisecond

// parseTime reads a time as configuration.txt §2.5: a number with an optional unit
// us, ms, s, m, h or d; a bare number is milliseconds. As HAProxy 2.6, characters after
// a valid unit are ignored (parser.warnTimeJunk warns about them, as HAProxy does) and
// the value is rounded up to a whole millisecond.
func parseTime(s string) (time.Duration, error) {
	d, _, err := parseTimeRest(s)
	return d, err
}

// parseTimeRest is parseTime that also returns what followed the unit ("" normally).
func parseTimeRest(s string) (time.Duration, string, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, "", fmt.Errorf("invalid time %q (expected a number with an optional unit us, ms, s, m, h or d)", s)
	}
	n, err := strconv.ParseUint(s[:i], 10, 63)
	if err != nil {
		return 0, "", fmt.Errorf("time %q is too large", s)
	}
	rest := s[i:]
	var u time.Duration
	switch {
	case rest == "":
		u = time.Millisecond
	case strings.HasPrefix(rest, "us"):
		u, rest = time.Microsecond, rest[2:]
	case strings.HasPrefix(rest, "ms"):
		u, rest = time.Millisecond, rest[2:]
	case rest[0] == 's':
		u, rest = time.Second, rest[1:]
	case rest[0] == 'm':
		u, rest = time.Minute, rest[1:]
	case rest[0] == 'h':
		u, rest = time.Hour, rest[1:]
	case rest[0] == 'd':
		u, rest = 24*time.Hour, rest[1:]
	default:
		return 0, "", fmt.Errorf("invalid unit %q in time %q (expected us, ms, s, m, h or d)", s[i:], s)
	}
	if n > uint64(maxTimer/u) {
		return 0, "", fmt.Errorf("time %q is too large (at most 24d)", s)
	}
	d := time.Duration(n) * u
	if r := d % time.Millisecond; r != 0 {
		d += time.Millisecond - r // HAProxy's timers count milliseconds, rounded up
	}
	if d > maxTimer {
		return 0, "", fmt.Errorf("time %q is too large (at most 24d)", s)
	}
	return d, rest, nil
}

// warnTimeJunk warns, as HAProxy 2.6 does, about characters after the unit of a time
// that parseTime read: "15min" is 15 minutes, "1s[" one second.
func (p *parser) warnTimeJunk(st *stmt, what, s string) {
	d, rest, err := parseTimeRest(s)
	if err != nil || rest == "" {
		return
	}
	p.warnf(st.pos, "%s: unexpected %q after the time value in %q, read as %s (as HAProxy 2.6, which will refuse it in later versions): write %q",
		what, rest, s, d, strings.TrimSuffix(s, rest))
}

// parseInt reads a decimal integer within [lo, hi].
func parseInt(s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", s)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d is out of range [%d..%d]", n, lo, hi)
	}
	return n, nil
}

const maxInt32 = 1<<31 - 1

// errNoPort is returned by splitHostPort for an address without a port.
var errNoPort = errors.New("missing port")

// splitHostPort splits "HOST:PORT", "[V6]:PORT" and bare IPv6 "V6:PORT" (the last
// colon separates the port, as HAProxy does).
func splitHostPort(s string) (host, port string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", fmt.Errorf("missing ']' in %q", s)
		}
		host, rest := s[1:end], s[end+1:]
		if rest == "" {
			return host, "", errNoPort
		}
		if rest[0] != ':' {
			return "", "", fmt.Errorf("unexpected %q after ']' in %q", rest, s)
		}
		return host, rest[1:], nil
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, "", errNoPort
	}
	return s[:i], s[i+1:], nil
}

func parsePort(s string, zeroOK bool) (uint16, error) {
	if strings.Contains(s, "-") {
		return 0, fmt.Errorf("port ranges (%q) are not supported by tandem", s)
	}
	lo := 1
	if zeroOK {
		lo = 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > 65535 {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return uint16(n), nil
}

// hostAddr turns a host (address literal or name) into an address, resolving names
// with the injected resolver and preferring the first IPv4 address as HAProxy does.
func (p *parser) hostAddr(host string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return netip.Addr{}, fmt.Errorf("zoned address %q is not supported", host)
		}
		return a.Unmap(), nil
	}
	if host == "" || strings.ContainsAny(host, " /@[]") {
		return netip.Addr{}, fmt.Errorf("invalid address %q", host)
	}
	addrs, err := p.opt.Resolve(host)
	if err != nil || len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("could not resolve address %q", host)
	}
	for _, a := range addrs {
		if a.Unmap().Is4() {
			return a.Unmap(), nil
		}
	}
	return addrs[0], nil
}

// parseBindAddr reads one bind address: "A:P", "[V6]:P", "V6:P" (":::80"), "*:P",
// ":P", with an optional "ipv4@" or "ipv6@" prefix.
func (p *parser) parseBindAddr(text string, pos config.Pos) (config.Bind, error) {
	b := config.Bind{Pos: pos, Text: text}
	s := text
	family := ""
	for _, pre := range []string{"unix@", "abns@", "/"} {
		rest, ok := strings.CutPrefix(s, pre)
		if !ok {
			continue
		}
		if rest == "" {
			return b, fmt.Errorf("%q: missing socket path", text)
		}
		switch pre {
		case "unix@":
			b.Sock.Path = rest
		case "abns@":
			b.Sock.Path = "@" + rest
		default:
			b.Sock.Path = s
		}
		if len(b.Sock.Path) > 107 {
			return b, fmt.Errorf("unix socket path %q is longer than 107 bytes", b.Sock.Path)
		}
		return b, nil
	}
	if n, ok := strings.CutPrefix(s, "fd@"); ok {
		fd, err := strconv.Atoi(n)
		if err != nil || fd < 0 || fd > maxInt32-1 {
			return b, fmt.Errorf("fd@: %q is not a file descriptor number", n)
		}
		b.Sock.FD = fd + 1
		return b, nil
	}
	if i := strings.IndexByte(s, '@'); i >= 0 {
		family, s = s[:i], s[i+1:]
		if family != "ipv4" && family != "ipv6" {
			return b, fmt.Errorf("address family %q in %q is not supported by tandem", family+"@", text)
		}
	}
	host, port, err := splitHostPort(s)
	if err != nil {
		return b, fmt.Errorf("%q: %w", text, err)
	}
	pn, err := parsePort(port, false)
	if err != nil {
		return b, err
	}
	var addr netip.Addr
	switch host {
	case "", "*":
		b.Any = true
		addr = netip.IPv4Unspecified()
		if family == "ipv6" {
			addr, b.Any = netip.IPv6Unspecified(), false
		}
	default:
		addr, err = p.hostAddr(host)
		if err != nil {
			return b, err
		}
	}
	if family == "ipv4" && !addr.Is4() || family == "ipv6" && !addr.Is6() {
		return b, fmt.Errorf("address %q is not %s", text, family)
	}
	b.Addr = netip.AddrPortFrom(addr, pn)
	return b, nil
}
