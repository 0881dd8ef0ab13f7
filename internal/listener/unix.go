package listener

import (
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"

	"tandem/internal/config"
)

// listenUnix listens on a unix stream socket. A path socket is made under a temporary
// name, given its mode and owner, then renamed into place, as HAProxy does: a process
// already serving there (-sf, a master's old worker) keeps its socket until it stops, and
// clients never meet a socket with the wrong permissions. "@NAME" is an abstract socket.
func listenUnix(s config.BindSock) (net.Listener, error) {
	if strings.HasPrefix(s.Path, "@") {
		ln, err := net.Listen("unix", "\x00"+s.Path[1:])
		if err != nil {
			return nil, fmt.Errorf("cannot bind abns@%s: %w", s.Path[1:], err)
		}
		return ln, nil
	}
	uid, gid, err := Owner(s.User, s.Group)
	if err != nil {
		return nil, fmt.Errorf("unix@%s: %w", s.Path, err)
	}
	tmp := fmt.Sprintf("%s.%d.tmp", s.Path, os.Getpid())
	os.Remove(tmp)
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, fmt.Errorf("cannot bind unix@%s: %w", s.Path, err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false) // the name moves; a later process may own it
	fail := func(err error) (net.Listener, error) {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("unix@%s: %w", s.Path, err)
	}
	if s.Mode != 0 {
		if err := os.Chmod(tmp, os.FileMode(s.Mode)); err != nil {
			return fail(err)
		}
	}
	if uid >= 0 || gid >= 0 {
		if err := os.Chown(tmp, uid, gid); err != nil {
			return fail(err)
		}
	}
	if err := os.Rename(tmp, s.Path); err != nil {
		return fail(err)
	}
	return ln, nil
}

// Owner resolves the user and group names or numbers a unix socket is given (-1:
// unchanged, as os.Chown takes it).
func Owner(userName, groupName string) (uid, gid int, err error) {
	uid, gid = -1, -1
	if userName != "" {
		if uid, err = strconv.Atoi(userName); err != nil {
			u, lerr := user.Lookup(userName)
			if lerr != nil {
				return -1, -1, fmt.Errorf("user %q: %w", userName, lerr)
			}
			uid, _ = strconv.Atoi(u.Uid)
		}
	}
	if groupName != "" {
		if gid, err = strconv.Atoi(groupName); err != nil {
			g, lerr := user.LookupGroup(groupName)
			if lerr != nil {
				return -1, -1, fmt.Errorf("group %q: %w", groupName, lerr)
			}
			gid, _ = strconv.Atoi(g.Gid)
		}
	}
	return uid, gid, nil
}
