package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/workloads"
)

// CheckDir checks dir's history with cs, as the file stands on disk, and writes each checker's
// artifacts into dir. truncated reports a last line cut off by an interrupted run.
func CheckDir(ctx context.Context, dir string, cs []checkers.Checker) (checkers.Summary, bool, error) {
	return checkDir(ctx, dir, cs, nil)
}

// checkDir is CheckDir, with observe (when not nil) shown every op as it is read.
func checkDir(ctx context.Context, dir string, cs []checkers.Checker, observe func(history.Op)) (checkers.Summary, bool, error) {
	s, truncated, err := checkFile(ctx, filepath.Join(dir, HistoryFile), cs, observe)
	if err != nil {
		return s, truncated, err
	}
	return s, truncated, WriteArtifacts(dir, s)
}

// CheckFile reads a history file and checks it with cs, streaming it when every checker can
// judge op by op (memory then follows the history's keys and requests, not its length). A
// history that cannot be read is an error (a *history.LineError names the line), never a verdict.
func CheckFile(ctx context.Context, path string, cs []checkers.Checker) (checkers.Summary, bool, error) {
	return checkFile(ctx, path, cs, nil)
}

// checkFile is CheckFile, with observe (when not nil) shown every op as it is read, in the one
// pass that reads the file.
func checkFile(ctx context.Context, path string, cs []checkers.Checker, observe func(history.Op)) (checkers.Summary, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return checkers.Summary{}, false, err
	}
	defer f.Close()
	r := history.NewReader(f)
	s, err := checkers.CheckReader(ctx, r, observe, cs...)
	if err != nil {
		return s, r.Truncated(), fmt.Errorf("%s: %w", path, err)
	}
	return s, r.Truncated(), nil
}

// costsOf measures the costs of a whole history file (checkers.Costs).
func costsOf(path string) (checkers.Costs, error) {
	f, err := os.Open(path)
	if err != nil {
		return checkers.Costs{}, err
	}
	defer f.Close()
	r := history.NewReader(f)
	var m checkers.CostMeter
	for {
		op, err := r.Next()
		if err == io.EOF {
			return m.Costs(), nil
		}
		if err != nil {
			return checkers.Costs{}, err
		}
		m.Observe(op)
	}
}

// WriteArtifacts writes every result's artifacts into dir.
func WriteArtifacts(dir string, s checkers.Summary) error {
	var errs []error
	for _, r := range s.Results {
		for name, b := range r.Artifacts {
			errs = append(errs, os.WriteFile(filepath.Join(dir, filepath.Base(name)), b, 0o644))
		}
	}
	return errors.Join(errs...)
}

// LoadTest reads a run folder's test.json.
func LoadTest(dir string) (Test, error) {
	var t Test
	b, err := os.ReadFile(filepath.Join(dir, TestFile))
	if err != nil {
		return t, err
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("%s: %w", filepath.Join(dir, TestFile), err)
	}
	var legacy legacyOptions
	if json.Unmarshal(b, &legacy) == nil {
		legacy.into(&t)
	}
	// Fault values as the nemeses write them, in one line: test.json holds them indented (and,
	// written by older versions, with > escaped).
	for i, f := range t.Schedule {
		t.Schedule[i].Value = plainJSON(f.Value)
	}
	return t, nil
}

// plainJSON is raw in one line, without HTML escapes; raw itself when it is not JSON.
func plainJSON(raw json.RawMessage) json.RawMessage {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers as written
	if len(raw) == 0 || dec.Decode(&v) != nil {
		return raw
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return raw
	}
	return json.RawMessage(bytes.TrimSpace(buf.Bytes()))
}

// DefaultCheckers are the named workload's checkers and the well-formedness check.
func DefaultCheckers(workload string) ([]checkers.Checker, error) {
	wl, err := workloads.New(workload, workloads.Options{})
	if err != nil {
		return nil, err
	}
	return append(wl.Checkers(), checkers.WellFormed{}), nil
}

// WithRunFolder gives checkers that need more than the history what the run folder holds: the
// conflicts checker gets the conflict records the database gave (conflicts.jsonl). Where the
// folder has none (its database gives none, or the run could not collect them), that checker is
// left out, and leftOut says so.
func WithRunFolder(cs []checkers.Checker, dir string) (out []checkers.Checker, leftOut []string, err error) {
	for _, c := range cs {
		if _, ok := c.(checkers.Conflicts); ok {
			recs, found, err := history.LoadConflicts(dir)
			if err != nil {
				return nil, nil, err
			}
			if !found {
				leftOut = append(leftOut, fmt.Sprintf("%s: the run folder holds no conflict records (%s)", c.Name(), history.ConflictsFile))
				continue
			}
			c = checkers.Conflicts{Logs: recs, Loaded: true}
		}
		out = append(out, c)
	}
	return out, leftOut, nil
}
