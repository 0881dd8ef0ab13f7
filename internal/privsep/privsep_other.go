//go:build !linux

package privsep

import (
	"errors"
	"net"
	"os"
)

// ChildEnv marks the re-executed process as the privileged helper.
const ChildEnv = "TANDEM_PRIVSEP_HELPER"

var errUnsupported = errors.New("privilege separation (global chroot/user/group) is only available on Linux")

func rights(int) []byte { return nil }

func closeFD(int) {}

type msgReader struct{ conn *net.UnixConn }

func (m *msgReader) readLine() ([]byte, []int, error) { return nil, nil, errUnsupported }

// StartHelper is Linux-only.
func StartHelper(upcalls bool) (*Client, *net.UnixConn, *os.Process, error) {
	return nil, nil, nil, errUnsupported
}

// HelperConn is Linux-only.
func HelperConn() (*net.UnixConn, error) { return nil, errUnsupported }

// HelperUpcallConn is Linux-only.
func HelperUpcallConn() (*net.UnixConn, error) { return nil, errUnsupported }

// Drop is Linux-only.
func Drop(dir, userName, groupName string) error { return errUnsupported }
