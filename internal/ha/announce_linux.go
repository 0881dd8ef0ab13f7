package ha

import (
	"net"

	"tandem/internal/announce"
)

func openAnnouncer(ifname string) (Announcer, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, err
	}
	return announce.Open(ifi)
}
