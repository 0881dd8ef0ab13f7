//go:build !linux

package ha

import "errors"

func openAnnouncer(string) (Announcer, error) {
	return nil, errors.New("announcing addresses is implemented on Linux only")
}
