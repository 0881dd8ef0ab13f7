//go:build !unix

package ha

import (
	"errors"
	"os/exec"
)

type credential struct{}

func lookupCredential(name, group string) (*credential, error) {
	return nil, errors.New("running scripts as another user is implemented on Unix only")
}

func runAs(*exec.Cmd, string, string) error {
	return errors.New("running scripts as another user is implemented on Unix only")
}

func ownedByRootOnly(string) error { return nil }
