package cli

import (
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"

	"github.com/crossfire-dev/crossfire/report"
	"github.com/crossfire-dev/crossfire/runfolder"
)

func reportCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("report", `usage: crossfire report RUN

Writes RUN/report.html again from the run folder's history, results, conflict logs and node logs:
one self-contained page (no network needed) with the summary, the timeline of every operation
with the faults as bands, the anomalies linked to their operations, latency and throughput per
leader, and the conflict log. RUN is a run folder (or its latest link). A Jepsen run's folder
(history.edn and no history.jsonl), or a Jepsen history.edn itself, is drawn too: the history is
converted into the folder's history.jsonl first (crossfire check --out DIR history.edn writes the
verdicts beside it, for the page to show).`, stderr)
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "crossfire report: want exactly one RUN folder")
		return exitUsage
	}
	dir := runFolder(fs.Arg(0))
	if isJepsen(dir) {
		dir = filepath.Dir(dir)
	}
	if _, err := os.Stat(filepath.Join(dir, runfolder.HistoryFile)); errors.Is(err, iofs.ErrNotExist) {
		src := filepath.Join(dir, JepsenHistoryFile)
		if isJepsen(fs.Arg(0)) {
			src = fs.Arg(0)
		}
		if _, err := os.Stat(src); err == nil {
			n, err := convertJepsen(src, filepath.Join(dir, runfolder.HistoryFile))
			if err != nil {
				fmt.Fprintf(stderr, "crossfire report: %s: %v\n", src, err)
				return exitUsage
			}
			fmt.Fprintf(stderr, "crossfire report: %s read as a Jepsen history (%d ops), written as %s\n", src, n, filepath.Join(dir, runfolder.HistoryFile))
		}
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		fmt.Fprintf(stderr, "crossfire report: %s is not a run folder\n", fs.Arg(0))
		return exitUsage
	}
	path, err := report.Write(dir)
	if err != nil {
		fmt.Fprintf(stderr, "crossfire report: %v\n", err)
		if errors.Is(err, iofs.ErrNotExist) {
			return exitUsage
		}
		return exitEnv
	}
	fmt.Fprintln(stdout, path)
	return exitValid
}
