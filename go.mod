module tandem

go 1.26.0

require (
	github.com/vishvananda/netlink v1.3.1
	github.com/vishvananda/netns v0.0.5
	golang.org/x/net v0.63.0
	golang.org/x/sys v0.50.0
)

require golang.org/x/text v0.44.0 // indirect
