package main

import (
	"io"

	"tandem/internal/halog"
)

// runHalog is `tandem halog [FLAGS] < LOGFILE`: halog's reports over HAProxy-format logs.
func runHalog(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return halog.Main(args, stdin, stdout, stderr)
}
