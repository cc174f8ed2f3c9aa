package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/history/jepsen"
	"github.com/crossfire-dev/crossfire/runfolder"
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
		path = filepath.Join(path, runfolder.HistoryFile)
	}
	// Two passes over the file, so that no more than the ops in flight is held: the first
	// checks every line and learns whether the register is keyed, which the first op written
	// must already know; the second writes.
	if err := jepsen.CheckShape(jepsen.Format(*format), *model); err != nil {
		fmt.Fprintf(stderr, "crossfire export: %v\n", err)
		return exitUsage
	}
	independent, truncated, err := scanForExport(path)
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
	enc, err := jepsen.NewEncoder(w, jepsen.Format(*format), *model, independent)
	if err == nil {
		err = exportOps(path, enc)
	}
	if f != nil {
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		fmt.Fprintf(stderr, "crossfire export: %v\n", err)
		return exitUsage
	}
	return exitValid
}

// scanForExport reads the history at path through once: whether any op is a keyed client op
// (jepsen.Independent), and whether the last line was cut off; an error for any bad line.
func scanForExport(path string) (independent, truncated bool, err error) {
	truncated, err = eachOp(path, func(op history.Op) error {
		independent = independent || jepsen.Independent(op)
		return nil
	})
	return independent, truncated, err
}

// exportOps reads the history at path again and hands each op to enc.
func exportOps(path string, enc *jepsen.Encoder) error {
	if _, err := eachOp(path, enc.Encode); err != nil {
		return err
	}
	return enc.Flush()
}

// eachOp streams the history at path through do; truncated reports a cut-off last line.
func eachOp(path string, do func(history.Op) error) (truncated bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	r := history.NewReader(f)
	for {
		op, err := r.Next()
		if err == io.EOF {
			return r.Truncated(), nil
		}
		if err != nil {
			return false, fmt.Errorf("%s: %w", path, err)
		}
		if err := do(op); err != nil {
			return false, err
		}
	}
}
