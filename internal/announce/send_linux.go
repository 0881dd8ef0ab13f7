package announce

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Sender sends announcements on one interface.
type Sender struct {
	fd  int
	ifi *net.Interface
}

// Open opens a packet socket on ifi (needs CAP_NET_RAW).
func Open(ifi *net.Interface) (*Sender, error) {
	if len(ifi.HardwareAddr) != 6 {
		return nil, fmt.Errorf("announce on %s: not an Ethernet interface", ifi.Name)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("announce on %s: packet socket: %w", ifi.Name, err)
	}
	return &Sender{fd: fd, ifi: ifi}, nil
}

// Announce sends one gratuitous ARP per IPv4 address and one unsolicited NA per
// IPv6 address. It tries them all and returns the errors joined.
func (s *Sender) Announce(addrs []netip.Addr) error {
	var errs []error
	for _, a := range addrs {
		var frame []byte
		var proto uint16
		if a.Is4() {
			frame, proto = GratuitousARP(s.ifi.HardwareAddr, a), etherTypeARP
		} else {
			frame, proto = UnsolicitedNA(s.ifi.HardwareAddr, a), etherTypeIPv6
		}
		to := &unix.SockaddrLinklayer{Protocol: htons(proto), Ifindex: s.ifi.Index, Halen: 6}
		copy(to.Addr[:], frame[:6])
		if err := unix.Sendto(s.fd, frame, 0, to); err != nil {
			errs = append(errs, fmt.Errorf("announce %s on %s: %w", a, s.ifi.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Close closes the socket.
func (s *Sender) Close() error { return unix.Close(s.fd) }

func htons(v uint16) uint16 { return v<<8 | v>>8 }
