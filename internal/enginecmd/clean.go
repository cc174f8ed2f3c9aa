package enginecmd

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/crossfire-dev/crossfire/clusters/docker"
	"github.com/crossfire-dev/crossfire/internal/cli"
)

func cleanCmd(args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("clean", `usage: crossfire clean [flags]

Removes the Docker containers, networks and volumes that crossfire made (they carry the label
"crossfire") and that runs no longer need: those of runs whose process has ended, such as a
crashed or killed run's. A run still in progress on this machine keeps its own unless --all is
given. Images are kept: they are reused by content hash. --dry-run lists what would go.`, stderr)
	var w docker.Which
	fs.DurationVar(&w.OlderThan, "older-than", 0, "only what was made at least this long ago (0: whenever)")
	fs.StringVar(&w.Run, "run", "", "only what one run made: its id (cf-…), as the run prints it (default: every run)")
	fs.BoolVar(&w.Running, "all", false, "also what runs still in progress on this machine are using")
	fs.BoolVar(&w.DryRun, "dry-run", false, "list what would be removed, and remove nothing")
	if code := cli.Parse(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "crossfire clean: unexpected argument %q\n", fs.Arg(0))
		return cli.ExitUsage
	}
	if w.OlderThan < 0 {
		fmt.Fprintf(stderr, "crossfire clean: --older-than %v: must not be negative\n", w.OlderThan)
		return cli.ExitUsage
	}
	ctx, stop := cli.SignalContext()
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	dc, err := docker.Client(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "crossfire clean: %v (the embedded cluster needs no cleaning: its nodes die with their run)\n", err)
		return cli.ExitEnv
	}
	defer dc.Close()
	r, err := docker.Clean(ctx, dc, w)
	verb := "removed"
	if w.DryRun {
		verb = "would remove"
		for _, n := range r.Names {
			fmt.Fprintln(stdout, n)
		}
	}
	fmt.Fprintf(stdout, "%s %d containers, %d networks, %d volumes", verb, r.Containers, r.Networks, r.Volumes)
	if r.Kept > 0 {
		fmt.Fprintf(stdout, "; kept %d of runs still in progress (--all takes them too)", r.Kept)
	}
	fmt.Fprintln(stdout)
	if err != nil {
		fmt.Fprintf(stderr, "crossfire clean: %v\n", err)
		return cli.ExitEnv
	}
	return cli.ExitValid
}
