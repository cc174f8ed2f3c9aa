package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"crossfire/harness"
	"crossfire/history"
	"crossfire/jepsen"
)

// JepsenHistoryFile is the history Jepsen writes into each run's folder.
const JepsenHistoryFile = "history.edn"

// isJepsen reports whether a history file is Jepsen's: an .edn file.
func isJepsen(path string) bool { return strings.EqualFold(filepath.Ext(path), ".edn") }

// convertJepsen reads a Jepsen history and writes it as crossfire's history.jsonl at dst,
// returning how many ops it holds.
func convertJepsen(src, dst string) (int, error) {
	f, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	ops, err := jepsen.ReadEDN(f)
	if err != nil {
		return 0, err
	}
	return len(ops), history.WriteFile(dst, ops)
}

func exportCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("export", `usage: crossfire export [flags] RUN

Writes a run's history (RUN is a run folder, its latest link, or a history.jsonl) as Jepsen
would have recorded it, for Jepsen's own checkers: one map per operation with :index, :time
(nanoseconds from the start), :type, :process (:nemesis for faults, both of whose records are
:info), :f and :value, and crossfire's :node, :req, :error and :meta beside them. The register
is written in the shape of Knossos's cas-register (jepsen.independent tuples [key value] when
there are keys), or with --model rw-register as Elle's transactions ([[:r k v]], [[:w k v]], a
cas as [[:r k old] [:w k new]]);
other workloads' ops keep their key in :key. crossfire check reads the EDN back.`, stderr)
	format := fs.String("format", "edn", "edn (history.edn, as Jepsen writes it) or json (the same maps, one JSON object per line)")
	model := fs.String("model", jepsen.ModelCASRegister, "the register's shape: "+strings.Join(jepsen.Models, ", "))
	out := fs.String("out", "", "write to this file (default: standard output)")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "crossfire export: want exactly one RUN folder or history.jsonl")
		return exitUsage
	}
	path := runFolder(fs.Arg(0))
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, harness.HistoryFile)
	}
	ops, truncated, err := history.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "crossfire export: %v\n", err)
		return exitUsage
	}
	if truncated {
		fmt.Fprintf(stderr, "crossfire export: %s ends in a partly written line (an interrupted run); it was skipped\n", path)
	}
	w := stdout
	var f *os.File
	if *out != "" {
		if f, err = os.Create(*out); err != nil {
			fmt.Fprintf(stderr, "crossfire export: %v\n", err)
			return exitEnv
		}
		w = f
	}
	err = jepsen.Write(w, ops, jepsen.Format(*format), *model)
	if f != nil {
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		fmt.Fprintf(stderr, "crossfire export: %v\n", err)
		return exitUsage
	}
	return exitValid
}
