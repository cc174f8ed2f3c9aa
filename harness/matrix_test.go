package harness_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crossfire/checkers"
	"crossfire/harness"
	"crossfire/harness/harnesstest"
)

// matrixSeeds are the seeds every row of the validation matrix runs with in go test.
var matrixSeeds = []uint64{1, 2, 3}

// TestMatrix runs the validation matrix on the embedded cluster: each known-broken design must be
// caught and each safe one must pass, in every seed tried, or crossfire's verdicts prove nothing.
func TestMatrix(t *testing.T) {
	for _, row := range harness.Matrix() {
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
				})
			}
		})
	}
}

// runFolderIsComplete checks that a failing run leaves everything an engineer opens first.
func runFolderIsComplete(t *testing.T, res harness.Result) {
	t.Helper()
	for _, f := range []string{harness.TestFile, harness.HistoryFile, harness.ResultsFile, checkers.VisualizationFile, "nodes/n1/node.log"} {
		if _, err := os.Stat(filepath.Join(res.Dir, f)); err != nil {
			t.Errorf("run folder lacks %s", f)
		}
	}
}

// Each row's judge is itself checked: it must refuse the opposite verdict, or a row could pass
// whatever happened.
func TestMatrixJudgesRefuseTheOppositeVerdict(t *testing.T) {
	valid := harness.Result{Valid: checkers.True, Stats: harness.Stats{OK: 1000, Faults: 10, Converged: true},
		Summary: checkers.Summary{Valid: checkers.True, Results: []checkers.Result{
			{Checker: checkers.LinearizableName, Valid: checkers.True},
			{Checker: checkers.DedupName, Valid: checkers.True, Stats: map[string]any{"order_rows": 500}},
			{Checker: checkers.OversellName, Valid: checkers.True},
			{Checker: checkers.ConvergenceName, Valid: checkers.True},
			{Checker: checkers.CartName, Valid: checkers.True},
		}}}
	invalid := harness.Result{Valid: checkers.False, Stats: valid.Stats,
		Summary: checkers.Summary{Valid: checkers.False, Results: []checkers.Result{
			{Checker: checkers.LinearizableName, Valid: checkers.False, Anomalies: []checkers.Anomaly{{Kind: "nonlinearizable", Definite: true, Ops: []int64{1}, Nodes: []string{"n1"}}}},
			{Checker: checkers.DedupName, Valid: checkers.False, Anomalies: []checkers.Anomaly{{Kind: "duplicate-order", Definite: true}}},
			{Checker: checkers.OversellName, Valid: checkers.False, Anomalies: []checkers.Anomaly{{Kind: "oversell", Definite: true}}},
			{Checker: checkers.ConvergenceName, Valid: checkers.True},
			{Checker: checkers.CartName, Valid: checkers.False, Anomalies: []checkers.Anomaly{
				{Kind: "lost-add", Definite: true, Cause: checkers.CauseClockSkew},
				{Kind: "resurrected", Definite: true, Cause: checkers.CauseMergeRule}}},
		}}}
	idle := valid
	idle.Stats = harness.Stats{OK: 3, Converged: true}
	for _, row := range harness.Matrix() {
		want, other := invalid, valid
		if row.Expect == "valid" || strings.HasPrefix(row.Expect, "valid ") {
			want, other = valid, invalid
			if row.Judge(idle) == nil {
				t.Errorf("%s: an idle run passed", row.Name)
			}
		}
		if err := row.Judge(want); err != nil {
			t.Errorf("%s: the expected verdict was refused: %v", row.Name, err)
		}
		if row.Judge(other) == nil {
			t.Errorf("%s: the opposite verdict passed", row.Name)
		}
		if row.Judge(harness.Result{Valid: checkers.Unknown}) == nil {
			t.Errorf("%s: an unknown verdict passed", row.Name)
		}
	}
}
