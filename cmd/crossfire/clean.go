package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"crossfire/clusters/docker"
)

func cleanCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("clean", `usage: crossfire clean [flags]

Removes every Docker container, network and volume that crossfire made (they carry the label
"crossfire"), such as those a crashed or killed run left behind. Images are kept: they are
reused by content hash.`, stderr)
	var w docker.Which
	fs.DurationVar(&w.OlderThan, "older-than", 0, "only what was made at least this long ago (0: everything)")
	fs.StringVar(&w.Run, "run", "", "only what one run made: its id (cf-…), as the run prints it (default: every run)")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "crossfire clean: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	ctx, stop := signalContext()
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cli, err := docker.Client(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "crossfire clean: %v (the embedded cluster needs no cleaning: its nodes die with their run)\n", err)
		return exitEnv
	}
	defer cli.Close()
	r, err := docker.Clean(ctx, cli, w)
	fmt.Fprintf(stdout, "removed %d containers, %d networks, %d volumes\n", r.Containers, r.Networks, r.Volumes)
	if err != nil {
		fmt.Fprintf(stderr, "crossfire clean: %v\n", err)
		return exitEnv
	}
	return exitValid
}
