//go:build unix

package ha

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

func lookupCredential(name, group string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("script user: %w", err)
	}
	gid := u.Gid
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return nil, fmt.Errorf("script group: %w", err)
		}
		gid = g.Gid
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	g, err2 := strconv.ParseUint(gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("script user %s: non-numeric uid %q or gid %q", name, u.Uid, gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(g)}, nil
}

func runAs(cmd *exec.Cmd, name, group string) error {
	cred, err := lookupCredential(name, group)
	if err != nil {
		return err
	}
	if int(cred.Uid) == os.Geteuid() && int(cred.Gid) == os.Getegid() {
		return nil
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	return nil
}

func ownedByRootOnly(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if st.Uid != 0 {
		return fmt.Errorf("%s is not owned by root", path)
	}
	if fi.Mode().Perm()&0o022 != 0 && fi.Mode()&os.ModeSticky == 0 {
		return fmt.Errorf("%s is writable by group or others", path)
	}
	return nil
}
