//go:build unix

package daemon

import "syscall"

// raiseFDLimit raises the soft RLIMIT_NOFILE toward need, as far as the hard limit
// allows, and returns the soft limit in force.
func raiseFDLimit(need uint64) (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	if rl.Cur < need && rl.Cur < rl.Max {
		rl.Cur = min(need, rl.Max)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			return 0, err
		}
	}
	return rl.Cur, nil
}
