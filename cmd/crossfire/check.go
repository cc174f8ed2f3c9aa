package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"crossfire/checkers"
	"crossfire/harness"
	"crossfire/history"
	"crossfire/workloads"
)

func checkCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("check", `usage: crossfire check [flags] PATH

Checks a history offline. PATH is a history.jsonl file or a run folder (whose test.json names
the workload). A history cut off by an interrupted run is checked as far as it goes: its pending
operations count as indeterminate. Exits 0 valid, 1 anomalies, 2 unknown, 3 bad input.`, stderr)
	workload := fs.String("workload", "", "workload whose default checkers to use: "+strings.Join(workloads.Names(), ", ")+" (default: the run folder's, else the one whose operations the history holds)")
	names := fs.String("checkers", "", "comma-separated checkers instead of the workload's: "+strings.Join(checkers.Names(), ", "))
	out := fs.String("out", "", "write results.json and the checkers' files (the visualization) into this folder")
	timeout := fs.Duration("timeout", 2*time.Minute, "bound on the checkers; past it the verdict is unknown")
	asJSON := fs.Bool("json", false, "print the results as JSON on stdout")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "crossfire check: want exactly one PATH (a history.jsonl or a run folder)")
		return exitUsage
	}
	path := fs.Arg(0)
	st, err := os.Stat(path)
	if err != nil {
		fmt.Fprintf(stderr, "crossfire check: %v\n", err)
		return exitUsage
	}
	file := path
	if st.IsDir() {
		file = filepath.Join(path, harness.HistoryFile)
		if t, err := harness.LoadTest(path); err == nil && t.Workload != "" {
			if *workload != "" && *workload != t.Workload {
				fmt.Fprintf(stderr, "crossfire check: %s is a run of the %s workload; --workload %s contradicts its test.json\n", path, t.Workload, *workload)
				return exitUsage
			}
			*workload = t.Workload
		}
	}
	if *workload == "" && *names == "" {
		fs, err := clientOps(file)
		if err != nil {
			fmt.Fprintf(stderr, "crossfire check: %v\n", err)
			return exitUsage
		}
		w, err := workloads.Infer(fs)
		if err != nil {
			fmt.Fprintf(stderr, "crossfire check: %s: cannot tell its workload: %v; say it with --workload\n", file, err)
			return exitUsage
		}
		fmt.Fprintf(stderr, "crossfire check: %s: the %s workload, from the names of its operations (%s)\n", file, w, strings.Join(fs, ", "))
		*workload = w
	}
	var cs []checkers.Checker
	if *names != "" {
		cs, err = checkers.Lookup(splitList(*names))
	} else {
		cs, err = harness.DefaultCheckers(*workload)
	}
	if err == nil && st.IsDir() {
		var leftOut []string
		cs, leftOut, err = harness.WithRunFolder(cs, path)
		for _, why := range leftOut {
			fmt.Fprintf(stderr, "crossfire check: not checked: %s\n", why)
		}
	} else if err == nil && *names == "" {
		// A bare history has no conflict logs: leave out, by default, what needs them.
		kept := cs[:0]
		for _, c := range cs {
			if _, needsRun := c.(checkers.Conflicts); needsRun {
				fmt.Fprintf(stderr, "crossfire check: %s needs a run folder (its conflict records); left out for a bare history\n", c.Name())
				continue
			}
			kept = append(kept, c)
		}
		cs = kept
	}
	if err != nil {
		fmt.Fprintf(stderr, "crossfire check: %v\n", err)
		return exitUsage
	}
	ctx, stop := signalContext()
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	summary, truncated, err := harness.CheckFile(ctx, file, cs)
	if err != nil {
		var le *history.LineError
		if errors.As(err, &le) {
			fmt.Fprintf(stderr, "crossfire check: %s: line %d: %v\n", file, le.Line, le.Err)
		} else {
			fmt.Fprintf(stderr, "crossfire check: %v\n", err)
		}
		return exitUsage
	}
	if truncated {
		fmt.Fprintf(stderr, "crossfire check: %s ends in a partly written line (an interrupted run); it was skipped\n", file)
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err == nil {
			err = harness.WriteArtifacts(*out, summary)
		}
		if err == nil {
			b, _ := json.MarshalIndent(summary, "", "  ")
			err = os.WriteFile(filepath.Join(*out, harness.ResultsFile), append(b, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "crossfire check: writing %s: %v\n", *out, err)
			return exitEnv
		}
	}
	if *asJSON {
		b, _ := json.MarshalIndent(summary, "", "  ")
		fmt.Fprintln(stdout, string(b))
	} else {
		printSummary(stdout, summary)
	}
	return exitFor(summary.Valid)
}

// clientOps lists, sorted, the names of a history's client operations. A history that cannot be
// read is an error naming its line.
func clientOps(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := history.NewReader(f)
	seen := map[string]bool{}
	for {
		op, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if !op.IsNemesis() {
			seen[op.F] = true
		}
	}
	return slices.Sorted(maps.Keys(seen)), nil
}
