package regionkv_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/db/regionkv"
	"github.com/crossfire-dev/crossfire/harness"
	"github.com/crossfire-dev/crossfire/harness/harnesstest"
	"github.com/crossfire-dev/crossfire/history"
	"github.com/crossfire-dev/crossfire/matrix"
	"github.com/crossfire-dev/crossfire/nemesis"
	"github.com/crossfire-dev/crossfire/runfolder"
)

// matrixSeeds are the seeds every row of the validation matrix runs with in go test.
var matrixSeeds = []uint64{1, 2, 3}

// TestMatrix runs regionkv's validation matrix on the embedded cluster: each known-broken design must be
// caught and each safe one must pass, in every seed tried, or crossfire's verdicts prove nothing.
func TestMatrix(t *testing.T) {
	_, rows := matrix.Split((regionkv.DB{}).Matrix()) // db/regionkv/txnmatrix runs the transactional rows
	for _, row := range rows {
		t.Run(strings.ReplaceAll(row.Name, " ", "_"), func(t *testing.T) {
			for _, seed := range matrixSeeds {
				test := row.Test(seed, harness.ClusterLocal)
				t.Run(test.Name, func(t *testing.T) {
					res := harnesstest.Run(t, test)
					if err := row.Judge(res); err != nil {
						t.Fatalf("expected %s: %v", row.Expect, err)
					}
					if row.Name == "register lww" {
						runFolderIsComplete(t, res)
					}
					if row.Name == "cart orset" {
						lostRecordsAreFound(t, res)
					}
					if seed == matrixSeeds[0] {
						harnesstest.ReportOpens(t, res) // every row's report, once
					}
				})
			}
		})
	}
}

// runFolderIsComplete checks that a failing run leaves everything an engineer opens first.
func runFolderIsComplete(t *testing.T, res harness.Result) {
	t.Helper()
	for _, f := range []string{runfolder.TestFile, runfolder.HistoryFile, runfolder.ResultsFile, checkers.VisualizationFile, "nodes/n1/node.log"} {
		if _, err := os.Stat(filepath.Join(res.Dir, f)); err != nil {
			t.Errorf("run folder lacks %s", f)
		}
	}
}

// withConflicts is a history crossfire recorded, with its conflict records.
func withConflicts(ops []history.Op, recs []history.ConflictRecord) checkers.Input {
	return checkers.Input{History: ops, Faults: nemesis.Faults(), Records: checkers.Records{Conflicts: recs, ConflictsKept: true}}
}

// lostRecordsAreFound: a leader that drops one conflict record in twenty is caught. The run's
// records are checked again twenty times, each time without the records numbered k mod 20; the
// complete log passes, and some of the twenty losses must be found (which ones the history
// shows depends on what each leader was read holding).
func lostRecordsAreFound(t *testing.T, res harness.Result) {
	t.Helper()
	recs, _, err := runfolder.LoadConflicts(res.Dir)
	if err != nil || len(recs) < 40 {
		t.Fatalf("too few conflict records to drop one in twenty (%d, %v)", len(recs), err)
	}
	ops, _, err := history.ReadFile(filepath.Join(res.Dir, runfolder.HistoryFile))
	if err != nil {
		t.Fatal(err)
	}
	if r := checkers.Run(context.Background(), checkers.Conflicts{}, withConflicts(ops, recs)); r.Valid != checkers.True {
		t.Fatalf("the complete log: %s", r)
	}
	found := 0
	for k := range 20 {
		var kept []history.ConflictRecord
		for i, rec := range recs {
			if i%20 != k {
				kept = append(kept, rec)
			}
		}
		if r := checkers.Run(context.Background(), checkers.Conflicts{}, withConflicts(ops, kept)); r.Valid == checkers.False {
			found++
		}
	}
	t.Logf("one record in twenty dropped: found in %d of 20 ways of dropping them (%d records)", found, len(recs))
	if found == 0 {
		t.Fatal("no lost conflict record was found")
	}
}

// BenchmarkDetectionPower: for each row of regionkv's matrix that must find an anomaly, the
// share of seeds whose run finds it at the row's own duration, on the embedded cluster, and the
// median time to the first definite anomaly.
//
//	go test ./db/regionkv/ -run '^$' -bench DetectionPower -benchtime 1x -power-seeds 20
func BenchmarkDetectionPower(b *testing.B) {
	harnesstest.DetectionPower(b, (regionkv.DB{}).Matrix(), harness.ClusterLocal)
}
