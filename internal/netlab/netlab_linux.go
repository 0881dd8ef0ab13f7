package netlab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Lab is a set of namespaces named PREFIX-NAME around one segment. Close deletes them.
type Lab struct {
	Prefix string
	hub    string

	mu     sync.Mutex
	spaces []string
	hosts  map[string]*Host
}

// Host is one namespace on the lab's segment, with interface Dev holding Addr.
type Host struct {
	Name string // as given to AddHost
	NS   string // the namespace's name
	Dev  string // its interface on the segment
	Addr string // its address with prefix length, e.g. 198.18.0.11/24
	MAC  string
}

// New creates the hub namespace PREFIX-hub with bridge br0 (multicast snooping off,
// so VRRP multicast reaches every port at once). On error nothing is left behind.
func New(prefix string) (*Lab, error) {
	l := &Lab{Prefix: prefix, hub: prefix + "-hub", hosts: map[string]*Host{}}
	err := l.addNS(l.hub)
	if err == nil {
		err = ip("-n", l.hub, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
	}
	if err == nil {
		err = ip("-n", l.hub, "link", "set", "br0", "up")
	}
	if err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// Hub is the namespace holding the bridge.
func (l *Lab) Hub() string { return l.hub }

// Host returns the host added under name, or nil.
func (l *Lab) Host(name string) *Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hosts[name]
}

func (l *Lab) addNS(ns string) error {
	if err := ip("netns", "add", ns); err != nil {
		return err
	}
	l.mu.Lock()
	l.spaces = append(l.spaces, ns)
	l.mu.Unlock()
	return ip("-n", ns, "link", "set", "lo", "up")
}

// AddHost creates namespace PREFIX-NAME with interface eth0 holding addr (CIDR form),
// joined to the segment. name is at most 13 bytes (the hub-side port is "p-NAME").
func (l *Lab) AddHost(name, addr string) (*Host, error) {
	if len(name) > 13 {
		return nil, fmt.Errorf("netlab: host name %q is longer than 13 bytes", name)
	}
	h := &Host{Name: name, NS: l.Prefix + "-" + name, Dev: "eth0", Addr: addr}
	port := "p-" + name
	steps := [][]string{
		{"link", "add", h.Dev, "netns", h.NS, "type", "veth", "peer", "name", port, "netns", l.hub},
		{"-n", l.hub, "link", "set", port, "master", "br0"},
		{"-n", l.hub, "link", "set", port, "up"},
		{"-n", h.NS, "addr", "add", addr, "dev", h.Dev},
		{"-n", h.NS, "link", "set", h.Dev, "up"},
	}
	if err := l.addNS(h.NS); err != nil {
		return nil, err
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			return nil, err
		}
	}
	mac, err := h.mac()
	if err != nil {
		return nil, err
	}
	h.MAC = mac
	l.mu.Lock()
	l.hosts[name] = h
	l.mu.Unlock()
	return h, nil
}

// Close deletes every namespace of the lab (their interfaces go with them) and
// reports the first failure.
func (l *Lab) Close() error {
	l.mu.Lock()
	spaces := l.spaces
	l.spaces = nil
	l.mu.Unlock()
	var first error
	for i := len(spaces) - 1; i >= 0; i-- {
		if err := ip("netns", "del", spaces[i]); err != nil && first == nil {
			first = err
		}
	}
	return first
}

var etherRE = regexp.MustCompile(`link/ether ([0-9a-f:]{17})`)

func (h *Host) mac() (string, error) {
	out, err := exec.Command("ip", "-n", h.NS, "-o", "link", "show", "dev", h.Dev).CombinedOutput()
	m := etherRE.FindStringSubmatch(string(out))
	if err != nil || m == nil {
		return "", fmt.Errorf("netlab: mac of %s in %s: %v %s", h.Dev, h.NS, err, out)
	}
	return m[1], nil
}

// IP is the host's own address without the prefix length.
func (h *Host) IP() string { return strings.SplitN(h.Addr, "/", 2)[0] }

// Command returns argv run inside the host's namespace (through `ip netns exec`, which
// execs argv: the command's PID is argv's).
func (h *Host) Command(argv ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", h.NS}, argv...)...)
}

// HasAddr reports whether the host's interface holds ip (without prefix length).
func (h *Host) HasAddr(ip string) (bool, error) {
	out, err := exec.Command("ip", "-n", h.NS, "-o", "addr", "show", "dev", h.Dev).CombinedOutput()
	if err != nil {
		return false, fmt.Errorf("netlab: addresses of %s: %v %s", h.NS, err, out)
	}
	return strings.Contains(string(out), " "+ip+"/"), nil
}

// Do runs fn on an OS thread switched into the host's namespace. Sockets fn opens
// stay in that namespace afterwards.
func (h *Host) Do(fn func() error) error { return Do(h.NS, fn) }

// Listen opens a listener inside the host's namespace.
func (h *Host) Listen(network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := h.Do(func() error {
		var err error
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// DialContext connects from inside the host's namespace; it fits http.Transport.
func (h *Host) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := h.Do(func() error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Do runs fn on an OS thread switched into namespace ns (a name under /run/netns).
// fn runs on a goroutine of its own: if the thread cannot be switched back, the
// goroutine ends with the thread locked and Go discards the thread. If fn ends that
// goroutine (runtime.Goexit, as t.FailNow does), Do returns ErrGoexit.
func Do(ns string, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		err := ErrGoexit
		defer func() { done <- err }()
		err = do(ns, fn)
	}()
	return <-done
}

// ErrGoexit is Do's error when fn ended its goroutine instead of returning.
var ErrGoexit = errors.New("netlab: the function run in the namespace ended its goroutine")

func do(ns string, fn func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netlab: own namespace: %w", err)
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netlab: namespace %s: %w", ns, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netlab: enter namespace %s: %w", ns, err)
	}
	ferr := fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		return errors.Join(ferr, fmt.Errorf("netlab: restore namespace: %w", err)) // thread stays locked: discarded
	}
	runtime.UnlockOSThread()
	return ferr
}

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("netlab: ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
