package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/checkers/txn"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/runfolder"
	"github.com/crossfire-dev/crossfire/workloads"
)

func checkCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("check", `usage: crossfire check [flags] PATH...

Checks histories offline. A PATH is a history.jsonl file, a run folder (whose test.json names
the workload) or any folder above run folders, such as the store (every run folder under it is
checked). A Jepsen history (history.edn, or any .edn file; registers, sets, and transactions of
Elle's list-append and rw-register) is read as Jepsen writes it; with --out its converted history.jsonl is written there too, for crossfire
report. A history cut off by an interrupted run is checked as far as it goes: its pending
operations count as indeterminate. With one history, its verdict and anomalies are printed; with
several, they are checked in parallel and each gets one line, so stored runs can be judged again
after a checker changes. Exits with the worst of them: 0 valid, 1 anomalies, 2 unknown, 3 bad
input.`, stderr)
	workload := fs.String("workload", "", "workload whose default checkers to use: "+strings.Join(workloads.Names(), ", ")+" (default: the run folder's, else the one whose operations the history holds)")
	names := fs.String("checkers", "", "comma-separated checkers instead of the workload's: "+strings.Join(checkers.Names(), ", "))
	out := fs.String("out", "", "write results.json and the checkers' files (the visualization) into this folder (one history only)")
	timeout := fs.Duration("timeout", 2*time.Minute, "bound on the checkers of each history, end to end; past it the verdict is unknown")
	asJSON := fs.Bool("json", false, "print the results as JSON on stdout (one object per line with several histories)")
	inference := fs.String("rw-register-inference", "", "comma-separated version orders the isolation checker may infer for rw-register keys: wfr (a write follows its transaction's read of the key), sequential (each key's versions in every process's order), linearizable (each key's versions in real-time order) (default: none, the initial version alone before every write)")
	model := fs.String("consistency-model", "", "the model transactions are held to (isolation checker): "+strings.Join(txn.ModelNames(), ", ")+" (default: the run's test.json, else "+txn.DefaultModel+")")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if *model != "" {
		if _, err := txn.LookupModel(*model); err != nil {
			fmt.Fprintf(stderr, "crossfire check: --consistency-model: %v\n", err)
			return exitUsage
		}
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "crossfire check: want a PATH (a history.jsonl, a run folder, or a folder of run folders)")
		return exitUsage
	}
	var targets []string
	for _, path := range fs.Args() {
		found, err := checkTargets(path)
		if err != nil {
			fmt.Fprintf(stderr, "crossfire check: %v\n", err)
			return exitUsage
		}
		targets = append(targets, found...)
	}
	if len(targets) > 1 && *out != "" {
		fmt.Fprintf(stderr, "crossfire check: --out takes one history; %d were given\n", len(targets))
		return exitUsage
	}
	ctx, stop := signalContext()
	defer stop()
	opts, err := parseInference(*inference)
	if err != nil {
		fmt.Fprintf(stderr, "crossfire check: --rw-register-inference: %v\n", err)
		return exitUsage
	}
	o := checkOptions{workload: *workload, names: *names, timeout: *timeout, model: *model, inference: opts}
	if len(targets) == 1 && targets[0] == fs.Arg(0) {
		if *out != "" {
			if err := os.MkdirAll(*out, 0o755); err != nil {
				fmt.Fprintf(stderr, "crossfire check: %v\n", err)
				return exitEnv
			}
			o.converted = filepath.Join(*out, runfolder.HistoryFile) // a Jepsen history, converted: crossfire report draws it
		}
		c := checkPath(ctx, targets[0], o)
		for _, n := range c.notes {
			fmt.Fprintf(stderr, "crossfire check: %s\n", n)
		}
		if c.err != "" {
			fmt.Fprintf(stderr, "crossfire check: %s\n", c.err)
			return c.code
		}
		if *out != "" {
			err := runfolder.WriteArtifacts(*out, c.summary)
			if err == nil {
				b, _ := json.MarshalIndent(c.summary, "", "  ")
				err = os.WriteFile(filepath.Join(*out, runfolder.ResultsFile), append(b, '\n'), 0o644)
			}
			if err != nil {
				fmt.Fprintf(stderr, "crossfire check: writing %s: %v\n", *out, err)
				return exitEnv
			}
		}
		if *asJSON {
			b, _ := json.MarshalIndent(c.summary, "", "  ")
			fmt.Fprintln(stdout, string(b))
		} else {
			printSummary(stdout, c.summary, *out)
		}
		return c.code
	}
	if len(targets) == 0 {
		fmt.Fprintf(stderr, "crossfire check: no history under %s\n", strings.Join(fs.Args(), " "))
		return exitUsage
	}
	// Several: in parallel, one line each, in the order given.
	results := make([]checkOutcome, len(targets))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(targets)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results[i] = checkPath(ctx, targets[i], o)
			}
		}()
	}
	for i := range targets {
		work <- i
	}
	close(work)
	wg.Wait()
	worst := exitValid
	for i, c := range results {
		if *asJSON {
			line := map[string]any{"path": targets[i]}
			if c.err != "" {
				line["error"] = c.err
			} else {
				line["summary"] = c.summary
			}
			b, _ := json.Marshal(line)
			fmt.Fprintln(stdout, string(b))
		} else {
			fmt.Fprintf(stdout, "%s: %s\n", targets[i], c.line())
		}
		worst = worseExit(worst, c.code)
	}
	return worst
}

// checkOptions are the flags every history of one check shares.
type checkOptions struct {
	model           string      // --consistency-model
	inference       txn.Options // --rw-register-inference
	workload, names string
	timeout         time.Duration
	converted       string // where a Jepsen history is written converted (--out), or ""
}

// checkOutcome is what checking one history came to: a summary, or an error (bad input) with
// its exit code; notes say what was inferred or left out.
type checkOutcome struct {
	summary checkers.Summary
	notes   []string
	err     string
	code    int
}

// line is the outcome in one line: the verdict, the anomalies by checker, and why a checker
// could not decide.
func (c checkOutcome) line() string {
	if c.err != "" {
		return "error: " + c.err
	}
	var parts []string
	for _, r := range c.summary.Results {
		switch {
		case r.NotApplicable != "":
		case len(r.Anomalies) > 0:
			parts = append(parts, fmt.Sprintf("%s %d", r.Checker, len(r.Anomalies)))
		case r.Valid == checkers.Unknown:
			parts = append(parts, fmt.Sprintf("%s unknown: %s", r.Checker, firstLine(r.Error)))
		}
	}
	s := fmt.Sprintf("%s, %d anomalies", c.summary.Valid, c.summary.Anomalies())
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, "; ") + ")"
	}
	return s
}

// worseExit ranks exit codes: bad input over unknown over anomalies over valid.
func worseExit(a, b int) int {
	rank := map[int]int{exitValid: 0, exitInvalid: 1, exitUnknown: 2, exitUsage: 3, exitEnv: 4}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// checkTargets lists the histories a PATH names: the file itself, a run folder's history, or
// every run folder's history under a folder (sorted).
func checkTargets(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	if _, err := os.Stat(filepath.Join(path, runfolder.HistoryFile)); err == nil {
		return []string{path}, nil
	}
	if _, err := os.Stat(filepath.Join(path, JepsenHistoryFile)); err == nil {
		return []string{path}, nil
	}
	var found []string
	err = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&os.ModeSymlink != 0 { // latest: the run is found under its own name
			return nil
		}
		if !d.IsDir() && (d.Name() == runfolder.HistoryFile || d.Name() == JepsenHistoryFile) && !slices.Contains(found, filepath.Dir(p)) {
			found = append(found, filepath.Dir(p))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%s holds no %s, nor a run folder with one", path, runfolder.HistoryFile)
	}
	sort.Strings(found)
	return found, nil
}

// checkPath checks one history file or run folder.
func checkPath(ctx context.Context, path string, o checkOptions) (c checkOutcome) {
	fail := func(code int, format string, args ...any) checkOutcome {
		c.err, c.code = fmt.Sprintf(format, args...), code
		return c
	}
	st, err := os.Stat(path)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	dir, file := "", path
	if st.IsDir() {
		dir, file = path, filepath.Join(path, runfolder.HistoryFile)
		if _, err := os.Stat(file); err != nil {
			if _, err := os.Stat(filepath.Join(path, JepsenHistoryFile)); err == nil {
				file = filepath.Join(path, JepsenHistoryFile)
			}
		}
	}
	shown := file // the file as the user named it
	if isJepsen(file) {
		// Read as Jepsen's, then checked as crossfire's: converted into o.converted (--out's
		// history.jsonl), or a temporary file.
		dst := o.converted
		if dst == "" {
			tmp, err := os.CreateTemp("", "crossfire-jepsen-*.jsonl")
			if err != nil {
				return fail(exitEnv, "%v", err)
			}
			tmp.Close()
			dst = tmp.Name()
			defer os.Remove(dst)
		}
		n, err := convertJepsen(file, dst)
		if err != nil {
			return fail(exitUsage, "%s: %v", file, err)
		}
		c.notes = append(c.notes, fmt.Sprintf("%s: read as a Jepsen history (%d ops)", file, n))
		shown, file = file, dst
	}
	checked, err := runfolder.Check(ctx, dir, file, runfolder.CheckOptions{Workload: o.workload, Checkers: splitList(o.names), Timeout: o.timeout, ConsistencyModel: o.model, Inference: o.inference})
	for _, n := range checked.Notes {
		c.notes = append(c.notes, shown+": "+n)
	}
	if err != nil {
		msg := err.Error()
		var le *history.LineError
		if errors.As(err, &le) {
			msg = fmt.Sprintf("%s: line %d: %v", file, le.Line, le.Err)
		}
		if errors.Is(err, runfolder.ErrNoWorkload) {
			msg += "; say it with --workload"
		}
		return fail(exitUsage, "%s", msg)
	}
	if checked.Truncated {
		c.notes = append(c.notes, file+" ends in a partly written line (an interrupted run); it was skipped")
	}
	c.summary, c.code = checked.Summary, exitFor(checked.Summary.Valid)
	return c
}

// parseInference reads --rw-register-inference.
func parseInference(list string) (txn.Options, error) {
	var o txn.Options
	for _, name := range splitList(list) {
		switch name {
		case "wfr":
			o.WFRKeys = true
		case "sequential":
			o.SequentialKeys = true
		case "linearizable":
			o.LinearizableKeys = true
		default:
			return o, fmt.Errorf("unknown inference %q (valid: wfr, sequential, linearizable)", name)
		}
	}
	return o, nil
}
