// Package sdnotify tells systemd how a Type=notify service is doing: READY=1 once it
// serves, RELOADING=1 while it reloads, STOPPING=1 when it stops (sd_notify(3)), through
// the datagram socket systemd names in NOTIFY_SOCKET.
package sdnotify

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Notifier sends states to one NOTIFY_SOCKET. The zero value and nil send nothing.
type Notifier struct {
	addr string
}

// FromEnv returns the notifier of $NOTIFY_SOCKET, or nil when systemd set none. It
// unsets the variable, so that processes started later do not notify in our place.
func FromEnv() *Notifier {
	addr := os.Getenv("NOTIFY_SOCKET")
	os.Unsetenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil
	}
	return &Notifier{addr: addr}
}

// New returns a notifier for the socket at addr ("@name": abstract namespace).
func New(addr string) *Notifier { return &Notifier{addr: addr} }

// Send sends one notification, lines such as "READY=1" joined by newlines.
func (n *Notifier) Send(lines ...string) error {
	if n == nil || n.addr == "" {
		return nil
	}
	name := n.addr
	if strings.HasPrefix(name, "@") {
		name = "\x00" + name[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify %s: %w", n.addr, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(strings.Join(lines, "\n"))); err != nil {
		return fmt.Errorf("sd_notify %s: %w", n.addr, err)
	}
	return nil
}

// Ready says the service serves.
func (n *Notifier) Ready() error { return n.Send("READY=1") }

// Reloading says a reload began, with the CLOCK_MONOTONIC time systemd asks for.
func (n *Notifier) Reloading() error {
	return n.Send("RELOADING=1", "MONOTONIC_USEC="+strconv.FormatInt(int64(Monotonic()/time.Microsecond), 10))
}

// Stopping says the service is stopping.
func (n *Notifier) Stopping() error { return n.Send("STOPPING=1") }

// Monotonic reads CLOCK_MONOTONIC, the clock of MONOTONIC_USEC.
func Monotonic() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
