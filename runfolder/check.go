package runfolder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/checkers/txn"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/nemesis"
	"github.com/crossfire-dev/crossfire/workloads"
)

// ErrNoWorkload marks a history whose workload was not named and cannot be told from its
// operations: whoever checks it must name the workload or the checkers.
var ErrNoWorkload = errors.New("cannot tell its workload")

// CheckOptions say how a history is checked. The zero value checks it with its workload's
// checkers (the run folder's, or the one its operations show), with no bound.
type CheckOptions struct {
	// Workload names the workload whose checkers judge the history; "" is the run folder's, or
	// else the one whose operations the history holds. A run folder of another workload is an
	// error.
	Workload string
	// Checkers names the checkers instead of the workload's.
	Checkers []string
	// Timeout bounds the checkers, end to end; past it a verdict is unknown. Zero is no bound
	// beyond ctx's.
	Timeout time.Duration
	// Observe, when set, is shown every op in the pass that checks the history.
	Observe func(history.Op)
	// NoConflicts, when the run folder holds no conflict records, says why better than the
	// folder can (the database gives none, or collecting them failed).
	NoConflicts string
	// ConsistencyModel is the model the isolation checker holds transactions to; "" is the
	// test's, else its default.
	ConsistencyModel string
	// Inference are the version orders the isolation checker may infer for rw-register keys.
	Inference txn.Options
}

// Checked is what checking a history came to.
type Checked struct {
	Summary checkers.Summary
	// Truncated says that the history's last line was cut off (an interrupted run); it was
	// skipped.
	Truncated bool
	// Notes say what was inferred (the workload, from the operations).
	Notes []string
}

// DefaultCheckers are the named workload's checkers and the well-formedness check.
func DefaultCheckers(workload string) ([]checkers.Checker, error) {
	wl, err := workloads.New(workload, workloads.Options{})
	if err != nil {
		return nil, err
	}
	return append(wl.Checkers(), checkers.WellFormed{}), nil
}

// Check judges a history: file, or the history.jsonl of the run folder dir when file is "" (a
// history alone when dir is ""). It chooses the checkers, reads what the run folder kept beside
// the history (its test, its conflict records) and hands every checker the same Input, with the
// faults named as crossfire's nemeses name them. A history that cannot be read, or a choice of
// checkers that cannot be made, is an error (a *history.LineError names the line), never a
// verdict.
func Check(ctx context.Context, dir, file string, o CheckOptions) (Checked, error) {
	var c Checked
	in := checkers.Input{Faults: nemesis.Faults()}
	if dir != "" {
		if file == "" {
			file = filepath.Join(dir, HistoryFile)
		}
		if b, err := os.ReadFile(filepath.Join(dir, TestFile)); err == nil {
			in.Test = b
			t, err := parseTest(b, filepath.Join(dir, TestFile))
			if err != nil {
				return c, err
			}
			if o.Workload != "" && t.Workload != "" && o.Workload != t.Workload {
				return c, fmt.Errorf("%s is a run of the %s workload; the workload %s contradicts its test.json", dir, t.Workload, o.Workload)
			}
			if o.Workload == "" {
				o.Workload = t.Workload
			}
		}
		recs, found, err := LoadConflicts(dir)
		switch {
		case err != nil:
			return c, err
		case found:
			in.Records.Conflicts, in.Records.ConflictsKept = recs, true
		case o.NoConflicts != "":
			in.Records.NoConflicts = o.NoConflicts
		default:
			in.Records.NoConflicts = "the run folder holds no conflict records (" + ConflictsFile + ")"
		}
	} else {
		in.Records.NoConflicts = "a history alone has no conflict records (a run folder's " + ConflictsFile + " holds them)"
	}
	var cs []checkers.Checker
	var err error
	switch {
	case len(o.Checkers) > 0:
		cs, err = checkers.Lookup(o.Checkers)
	case o.Workload != "":
		cs, err = DefaultCheckers(o.Workload)
	default:
		var fs []string
		if fs, err = clientOps(file); err != nil {
			return c, err
		}
		w, err := workloads.Infer(fs)
		if err != nil {
			return c, fmt.Errorf("%s: %w: %v", file, ErrNoWorkload, err)
		}
		if slices.Equal(fs, []string{"txn"}) {
			c.Notes = append(c.Notes, "transactions (list-append or rw-register, told apart by their micro-ops), from the names of its operations (txn)")
		} else {
			c.Notes = append(c.Notes, fmt.Sprintf("the %s workload, from the names of its operations (%s)", w, strings.Join(fs, ", ")))
		}
		cs, _ = DefaultCheckers(w)
	}
	if err != nil {
		return c, err
	}
	for i, ch := range cs {
		if iso, ok := ch.(checkers.Isolation); ok {
			if o.ConsistencyModel != "" {
				iso.Model = o.ConsistencyModel
			}
			iso.Options = o.Inference
			cs[i] = iso
		}
	}
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	f, err := os.Open(file)
	if err != nil {
		return c, err
	}
	defer f.Close()
	r := history.NewReader(f)
	c.Summary, err = checkers.CheckReader(ctx, r, o.Observe, in, cs...)
	c.Truncated = r.Truncated()
	if err != nil {
		return c, fmt.Errorf("%s: %w", file, err)
	}
	if dir != "" {
		if err := ExplainCommits(dir, file, &c.Summary); err != nil {
			c.Notes = append(c.Notes, "the leaders' logs of their transactions could not be read: "+err.Error())
		}
	}
	return c, nil
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

// CostsOf measures the costs of a whole history file (checkers.Costs), its faults named as
// crossfire's nemeses name them.
func CostsOf(path string) (checkers.Costs, error) {
	f, err := os.Open(path)
	if err != nil {
		return checkers.Costs{}, err
	}
	defer f.Close()
	r := history.NewReader(f)
	m := checkers.NewCostMeter(nemesis.Faults())
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
