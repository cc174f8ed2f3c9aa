// Package matrix is crossfire's validation matrix: a harness is only as good as its verdicts, so
// crossfire proves both directions. Designs that are known to break must be caught, and designs
// that are known to be safe must pass. Each database offers its rows beside its own code, as data
// (Validated), and imports neither the harness nor the matrix's runs (package matrix/plan);
// `go test ./...` runs each row with short durations and fixed seeds, and `crossfire matrix`
// (the nightly chaos job) runs them longer, with more seeds, planned, sharded across machines and
// merged by matrix/plan.
package matrix

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/checkers/txn"
	"github.com/crossfire-dev/crossfire/db"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/runfolder"
	"github.com/crossfire-dev/crossfire/workloads"
)

// Row is one row of the validation matrix: a configuration, the faults it runs under and
// the verdict it must get.
type Row struct {
	Name   string // e.g. "register single-leader"
	Expect string // the expected verdict, for people
	// Test builds the row's test for a seed and a cluster kind, with the durations of a short
	// run; the caller may lengthen them. On the docker cluster, rows that must stay valid also
	// take leaders off the network.
	Test func(seed uint64, cluster string) runfolder.Test
	// Judge returns nil when res is what the row expects, and otherwise why not.
	Judge func(res runfolder.Result) error
	// Version, for a database that runs in several versions, is the one the row runs; its Name
	// then begins with it ("11.8 galera register single-leader"), so that every row's name is
	// its own, and the matrix's tables give it a column.
	Version string
}

// OfVersion keeps the rows of one version.
func OfVersion(rows []Row, version string) []Row {
	var out []Row
	for _, r := range rows {
		if r.Version == version {
			out = append(out, r)
		}
	}
	return out
}

// Versioned makes a row per version of each of rows, as Row.Version says.
func Versioned(versions []string, rows func(version string) []Row) []Row {
	var out []Row
	for _, v := range versions {
		for _, r := range rows(v) {
			r.Name, r.Version = v+" "+r.Name, v
			out = append(out, r)
		}
	}
	return out
}

// EveryNemesis is the list of nemeses a row that must stay valid runs under: the given ones, and
// on the docker cluster network disconnection too.
func EveryNemesis(cluster string, names ...string) []string {
	if cluster == runfolder.ClusterDocker {
		names = append(names, "disconnect")
	}
	return names
}

// Name names a row's test: matrix-<what>-seed<n>, with docker- in front in containers.
func Name(what string, seed uint64, cluster string) string {
	name := fmt.Sprintf("matrix-%s-seed%d", what, seed)
	if cluster == runfolder.ClusterDocker {
		name = "docker-" + name
	}
	return name
}

// JudgeLinearizableControl holds a single-leader register row: valid, busy enough, and caught up
// after healing.
func JudgeLinearizableControl(res runfolder.Result) error {
	if err := ExpectValid(res, 100, 1); err != nil {
		return err
	}
	if !res.Stats.Converged {
		return errors.New("replication did not catch up after healing")
	}
	return nil
}

// ExpectValid holds a row that must pass: valid, and enough work and faults to prove something.
func ExpectValid(res runfolder.Result, minOK int64, minFaults int) error {
	if res.Valid != checkers.True {
		var bad []string
		for _, r := range res.Summary.Results {
			if r.Valid != checkers.True {
				s := fmt.Sprintf("%s %s", r.Checker, r.Valid)
				if r.Error != "" {
					s += ": " + r.Error
				} else if len(r.Anomalies) > 0 {
					s += ": " + r.Anomalies[0].Kind + " " + r.Anomalies[0].Description
				}
				bad = append(bad, s)
			}
		}
		return fmt.Errorf("judged %s (%s)", res.Valid, strings.Join(bad, "; "))
	}
	if res.Stats.OK < minOK || res.Stats.Faults < minFaults {
		return fmt.Errorf("the run proves little: %d ok ops, %d faults", res.Stats.OK, res.Stats.Faults)
	}
	return nil
}

// ResultOf is the named checker's result in res, or the zero Result.
func ResultOf(res runfolder.Result, checker string) checkers.Result {
	for _, r := range res.Summary.Results {
		if r.Checker == checker {
			return r
		}
	}
	return checkers.Result{}
}

// HasAnomaly reports whether r holds a definite anomaly of the kind (and the cause, if given).
func HasAnomaly(r checkers.Result, kind, cause string) bool {
	for _, a := range r.Anomalies {
		if a.Kind == kind && a.Definite && (cause == "" || a.Cause == cause) {
			return true
		}
	}
	return false
}

// Caught says why the named checker did not catch what a row expects of it: it must judge false
// with a definite anomaly of the kind (and the cause, if given). Nil when it did.
func Caught(res runfolder.Result, checker, kind, cause string) error {
	r := ResultOf(res, checker)
	if r.Valid == checkers.False && HasAnomaly(r, kind, cause) {
		return nil
	}
	what := "definite " + kind
	if cause != "" {
		what += " put down to " + cause
	}
	return fmt.Errorf("%s flagged no %s (%s, %d anomalies)", checker, what, r.Valid, len(r.Anomalies))
}

// ExpectCaught is the judge of a row whose anomaly one checker must catch (Caught).
func ExpectCaught(checker, kind, cause string) func(runfolder.Result) error {
	return func(res runfolder.Result) error { return Caught(res, checker, kind, cause) }
}

// StatInt reads a numeric stat, as it is in memory or after a trip through JSON; -1 if absent.
func StatInt(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	case float64:
		return int64(n)
	}
	return -1
}

// Validated is a database (a db.DB of the catalog) that offers its validation matrix: the
// configurations it is known to break in, which must be caught, and those it is known to be
// safe in, which must pass.
type Validated interface {
	Matrix() []Row
}

// For returns the validation matrix the named database offers ("" is the default
// database).
func For(database string) ([]Row, error) {
	d, err := db.Lookup(database)
	if err != nil {
		return nil, err
	}
	v, ok := d.(Validated)
	if !ok {
		return nil, fmt.Errorf("database %s offers no validation matrix (matrices: %s)", d.Name(), strings.Join(Databases(), ", "))
	}
	return v.Matrix(), nil
}

// Databases lists the databases of the catalog that offer a validation matrix.
func Databases() []string {
	var out []string
	for _, name := range db.Names() {
		if d, err := db.Lookup(name); err == nil {
			if _, ok := d.(Validated); ok {
				out = append(out, name)
			}
		}
	}
	return out
}

// ExpectsAnomaly reports whether a row is one that must be caught (its expectation is not a
// valid verdict): the rows whose detection power is measured.
func ExpectsAnomaly(row Row) bool { return !strings.HasPrefix(row.Expect, "valid") }

// FirstAnomaly is when, from the start of the main phase (Stats.MainStartNS: the cluster's start
// and the workload's setup left out), the first definite anomaly of res had all its evidence: the
// latest completion time among its ops, the earliest over anomalies. It reads the run's history;
// false when there is no definite anomaly with ops, or no history to read.
func FirstAnomaly(res runfolder.Result) (time.Duration, bool) {
	want := map[int64]bool{}
	for _, r := range res.Summary.Results {
		for _, a := range r.Anomalies {
			if a.Definite {
				for _, i := range a.Ops {
					want[i] = true
				}
			}
		}
	}
	if len(want) == 0 || res.Dir == "" {
		return 0, false
	}
	f, err := os.Open(filepath.Join(res.Dir, runfolder.HistoryFile))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	at := map[int64]int64{}
	r := history.NewReader(f)
	for {
		op, err := r.Next()
		if err != nil {
			break
		}
		if want[op.Index] {
			at[op.Index] = op.Time
		}
	}
	first, found := int64(0), false
	for _, r := range res.Summary.Results {
		for _, a := range r.Anomalies {
			if !a.Definite || len(a.Ops) == 0 {
				continue
			}
			last, ok := int64(0), true
			for _, i := range a.Ops {
				t, seen := at[i]
				if !seen {
					ok = false
					break
				}
				last = max(last, t)
			}
			if ok && (!found || last < first) {
				first, found = last, true
			}
		}
	}
	return time.Duration(max(0, first-res.Stats.MainStartNS)), found
}

// ExpectIsolationAnomaly is the judge of a row whose transactions must show an anomaly the
// model rules out: the isolation checker invalid, with a definite anomaly that explains itself
// (a cycle with the reason for each edge, or the transactions of one that needs no cycle).
func ExpectIsolationAnomaly(res runfolder.Result) error {
	r := ResultOf(res, checkers.IsolationName)
	if r.Valid != checkers.False || len(r.Anomalies) == 0 {
		return fmt.Errorf("isolation judged %s with %d anomalies", r.Valid, len(r.Anomalies))
	}
	for _, a := range r.Anomalies {
		if a.Definite && len(a.Ops) > 0 && (len(a.Cycle) > 1 || len(a.Cycle) == 0 && a.Description != "") {
			return nil
		}
	}
	return fmt.Errorf("no isolation anomaly carries its evidence: %+v", r.Anomalies[0])
}

// CaughtIsolation: the isolation checker invalid, with a definite anomaly of one of the types
// named (a cycle type with or without its -process or -realtime suffix).
func CaughtIsolation(res runfolder.Result, types ...string) error {
	r := ResultOf(res, checkers.IsolationName)
	for _, a := range r.Anomalies {
		base, _ := txn.Base(a.Kind)
		if a.Definite && r.Valid == checkers.False && slices.Contains(types, base) {
			return nil
		}
	}
	var kinds []string
	for _, a := range r.Anomalies {
		kinds = append(kinds, a.Kind)
	}
	return fmt.Errorf("isolation (%s) flagged none of %s (it flagged %s)", r.Valid, strings.Join(types, ", "), strings.Join(kinds, ", "))
}

// Transactional reports whether a row runs a workload of transactions over many keys
// (list-append, rw-register): those rows run in test packages of their own.
func Transactional(r Row) bool {
	w := r.Test(1, "").Workload
	return w == workloads.ListAppendName || w == workloads.RWRegisterName
}

// Split parts rows into the transactional ones and the rest.
func Split(rows []Row) (txn, others []Row) {
	for _, r := range rows {
		if Transactional(r) {
			txn = append(txn, r)
		} else {
			others = append(others, r)
		}
	}
	return txn, others
}
