// Command crossfire runs fault-injection tests against a three-leader database (the catalog's
// default, the store crossfire ships, or any database in the db catalog with --db) and judges
// their histories. `crossfire run` starts a cluster, drives a workload while nemeses inject
// faults, and checks what happened; `crossfire check` judges a recorded history offline.
//
// This binary links only what judging and drawing a history needs: check, report, export and
// version run here, within a few milliseconds of the process starting. Every other command (run,
// matrix, replay, clean, serve, and help, which lists the databases) is carried out by
// crossfire-engine, which links the databases, the container runtime (whose package
// initialisation alone costs tens of milliseconds) and an HTTP server. crossfire finds it as
// engine.go says.
//
// Exit codes: 0 valid, 1 anomalies found, 2 unknown (a checker could not decide), 3 bad usage or
// bad input, 4 the environment failed.
package main

import (
	"fmt"
	"os"

	"github.com/crossfire-dev/crossfire/internal/cli"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && cli.Light(args[0]) {
		os.Exit(cli.Main(args, os.Stdout, os.Stderr))
	}
	path, err := findEngine(os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "crossfire: %v\n", err)
		os.Exit(cli.ExitEnv)
	}
	os.Exit(handOver(path, args))
}
