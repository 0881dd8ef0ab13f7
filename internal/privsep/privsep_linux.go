//go:build linux

package privsep

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

func rights(fd int) []byte { return unix.UnixRights(fd) }

func closeFD(fd int) { unix.Close(fd) }

// msgReader reads newline-terminated answers from a unix stream socket, collecting the
// descriptors that ride along with them.
type msgReader struct {
	conn      *net.UnixConn
	buf       []byte
	fds       []int
	rbuf, oob []byte // read buffers, made on first use and kept
}

func (m *msgReader) readLine() ([]byte, []int, error) {
	for {
		if i := bytes.IndexByte(m.buf, '\n'); i >= 0 {
			line := append([]byte(nil), m.buf[:i]...)
			m.buf = m.buf[i+1:]
			fds := m.fds
			m.fds = nil
			return line, fds, nil
		}
		if m.rbuf == nil {
			m.rbuf, m.oob = make([]byte, 64<<10), make([]byte, unix.CmsgSpace(4*4))
		}
		b, oob := m.rbuf, m.oob
		n, oobn, _, _, err := m.conn.ReadMsgUnix(b, oob)
		if oobn > 0 {
			msgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
			if perr == nil {
				for _, msg := range msgs {
					if fds, err := unix.ParseUnixRights(&msg); err == nil {
						m.fds = append(m.fds, fds...)
					}
				}
			}
		}
		if n > 0 { // n is -1 on some errors (a deadline)
			m.buf = append(m.buf, b[:n]...)
		}
		if err != nil {
			return nil, nil, err
		}
		if n == 0 {
			return nil, nil, fmt.Errorf("connection closed")
		}
	}
}

// ChildEnv marks the re-executed process as the privileged helper.
const ChildEnv = "TANDEM_PRIVSEP_HELPER"

// StartHelper re-executes this program as the privileged helper (with ChildEnv set and
// the socket on descriptor 3) and returns the client side. With upcalls (tandem runs
// VRRP in the helper), a second socket on descriptor 4 carries the helper's upcalls; its
// serving end is returned for ServeUpcalls. The helper exits when the returned client's
// connection closes.
func StartHelper(upcalls bool) (*Client, *net.UnixConn, *os.Process, error) {
	mine, theirs, err := socketPair()
	if err != nil {
		return nil, nil, nil, err
	}
	defer theirs.Close()
	extra := []*os.File{theirs}
	var upMine *os.File
	if upcalls {
		var upTheirs *os.File
		upMine, upTheirs, err = socketPair()
		if err != nil {
			mine.Close()
			return nil, nil, nil, err
		}
		defer upTheirs.Close()
		defer upMine.Close()
		extra = append(extra, upTheirs)
	}
	defer mine.Close()
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, nil, err
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), ChildEnv+"=1")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = extra
	// The helper must not outlive the serving process.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, fmt.Errorf("privileged helper: %w", err)
	}
	c, err := net.FileConn(mine)
	if err != nil {
		cmd.Process.Kill()
		return nil, nil, nil, err
	}
	var up *net.UnixConn
	if upMine != nil {
		uc, err := net.FileConn(upMine)
		if err != nil {
			c.Close()
			cmd.Process.Kill()
			return nil, nil, nil, err
		}
		up = uc.(*net.UnixConn)
	}
	return NewClient(c.(*net.UnixConn)), up, cmd.Process, nil
}

func socketPair() (mine, theirs *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("privileged helper: socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "privsep"), os.NewFile(uintptr(fds[1]), "privsep-helper"), nil
}

// HelperConn returns the helper's end of the socket (descriptor 3) in the child.
func HelperConn() (*net.UnixConn, error) { return inheritedConn(3) }

// HelperUpcallConn returns the helper's end of the upcall socket (descriptor 4) in the
// child, when StartHelper was asked for upcalls.
func HelperUpcallConn() (*net.UnixConn, error) { return inheritedConn(4) }

func inheritedConn(fd uintptr) (*net.UnixConn, error) {
	f := os.NewFile(fd, "privsep")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("privileged helper: descriptor %d: %w", fd, err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("privileged helper: descriptor %d is not a unix socket", fd)
	}
	return uc, nil
}

// Drop confines the process: chroot into dir (when not empty), then switch to group and
// user (names or numeric ids; empty: keep). Names are looked up before the chroot.
func Drop(dir, userName, groupName string) error {
	uid, gid := -1, -1
	if groupName != "" {
		g, err := lookupGroup(groupName)
		if err != nil {
			return err
		}
		gid = g
	}
	if userName != "" {
		u, err := user.Lookup(userName)
		if err != nil {
			if n, nerr := strconv.Atoi(userName); nerr == nil {
				uid = n
			} else {
				return fmt.Errorf("global user %q: %w", userName, err)
			}
		} else {
			uid, _ = strconv.Atoi(u.Uid)
			if gid < 0 {
				gid, _ = strconv.Atoi(u.Gid)
			}
		}
	}
	if dir != "" {
		if err := syscall.Chroot(dir); err != nil {
			return fmt.Errorf("global chroot %q: %w", dir, err)
		}
		if err := syscall.Chdir("/"); err != nil {
			return fmt.Errorf("global chroot %q: chdir: %w", dir, err)
		}
	}
	if gid >= 0 {
		if err := syscall.Setgroups([]int{gid}); err != nil {
			return fmt.Errorf("global group: setgroups: %w", err)
		}
		if err := syscall.Setgid(gid); err != nil {
			return fmt.Errorf("global group: setgid %d: %w", gid, err)
		}
	}
	if uid >= 0 {
		if err := syscall.Setuid(uid); err != nil {
			return fmt.Errorf("global user: setuid %d: %w", uid, err)
		}
	}
	return nil
}

func lookupGroup(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		if n, nerr := strconv.Atoi(name); nerr == nil {
			return n, nil
		}
		return 0, fmt.Errorf("global group %q: %w", name, err)
	}
	return strconv.Atoi(g.Gid)
}
