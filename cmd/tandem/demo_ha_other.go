//go:build !linux

package main

import (
	"fmt"
	"io"
)

// runDemoHA needs Linux network namespaces.
func runDemoHA(_ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, `tandem demo --ha needs Linux (network namespaces) and root; "tandem demo" runs the load balancer demo on 127.0.0.1`)
	return 1
}
