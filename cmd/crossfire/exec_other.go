//go:build !unix

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/crossfire-dev/crossfire/internal/cli"
)

// handOver runs crossfire-engine with args, as a child with this process's standard streams,
// and returns its exit code.
func handOver(path string, args []string) int {
	cmd := exec.Command(path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "crossfire: starting %s: %v\n", path, err)
		return cli.ExitEnv
	}
	return cli.ExitValid
}
