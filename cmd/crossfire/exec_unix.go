//go:build unix

package main

import (
	"fmt"
	"os"
	"syscall"

	"github.com/crossfire-dev/crossfire/internal/cli"
)

// handOver replaces this process with crossfire-engine, args and environment as they are: its
// signals, output and exit code are the command's.
func handOver(path string, args []string) int {
	err := syscall.Exec(path, append([]string{path}, args...), os.Environ())
	fmt.Fprintf(os.Stderr, "crossfire: starting %s: %v\n", path, err)
	return cli.ExitEnv
}
