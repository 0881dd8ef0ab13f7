//go:build !unix

package daemon

import "errors"

func raiseFDLimit(uint64) (uint64, error) { return 0, errors.New("not supported on this system") }
