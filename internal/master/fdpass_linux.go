package master

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// socketPair returns a connected pair of unix stream sockets, close-on-exec.
func socketPair() (mine *net.UnixConn, theirs *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	f := os.NewFile(uintptr(fds[0]), "master-control")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, err
	}
	return c.(*net.UnixConn), os.NewFile(uintptr(fds[1]), "worker-control"), nil
}

// errBadMessage: a control message without exactly one descriptor (skipped).
var errBadMessage = errors.New("control message without one descriptor")

// sendConn passes a new connection to the other end of ctl and returns our end.
func sendConn(ctl *net.UnixConn) (net.Conn, error) {
	mine, theirs, err := socketPair()
	if err != nil {
		return nil, err
	}
	defer theirs.Close()
	if _, _, err := ctl.WriteMsgUnix([]byte{0}, unix.UnixRights(int(theirs.Fd())), nil); err != nil {
		mine.Close()
		return nil, fmt.Errorf("pass a connection to the worker: %w", err)
	}
	return mine, nil
}

// recvConn receives one connection passed by sendConn.
func recvConn(ctl *net.UnixConn) (net.Conn, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := ctl.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, err
	}
	if n == 0 && oobn == 0 {
		return nil, net.ErrClosed
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, errBadMessage
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, errBadMessage
	}
	unix.CloseOnExec(fds[0])
	f := os.NewFile(uintptr(fds[0]), "master-cli")
	defer f.Close()
	return net.FileConn(f)
}
