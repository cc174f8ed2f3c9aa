// Package harnesstest makes a Go test a chaos test: Run runs a crossfire Test on the embedded
// cluster from inside `go test`, logs the seed and the run folder, removes the folder when the
// test passes and keeps it when it fails, so the history, the verdicts and the node logs are
// there to read. It is the only crossfire package that imports testing.
//
// The store is $CROSSFIRE_STORE when set (CI uploads it), otherwise a folder under the system's
// temporary directory. CROSSFIRE_KEEP=1 keeps every run folder, passed or not.
package harnesstest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "crossfire/db/builtin" // the databases crossfire ships, in the catalog
	"crossfire/harness"
)

// Store is the store directory tests write their runs to.
func Store() string {
	if s := os.Getenv("CROSSFIRE_STORE"); s != "" {
		return s
	}
	return filepath.Join(os.TempDir(), "crossfire-test-store")
}

// Run runs test and returns its result. A run that could not be made fails the test at once.
func Run(t testing.TB, test harness.Test) harness.Result {
	t.Helper()
	res, err := harness.Run(t.Context(), test, harness.Options{Store: Store()})
	if res.Dir != "" {
		t.Cleanup(func() {
			if t.Failed() || os.Getenv("CROSSFIRE_KEEP") == "1" {
				t.Logf("run folder kept: %s", res.Dir)
				return
			}
			removeRun(res.Dir)
		})
	}
	if err != nil {
		t.Fatalf("crossfire run %s (seed %d): %v", res.Test.Name, res.Test.Seed, err)
	}
	t.Logf("crossfire run %s: seed %d, %s, %d ops (%d ok, %d fail, %d info), %d anomalies, folder %s",
		res.Test.Name, res.Test.Seed, res.Valid, res.Stats.Ops, res.Stats.OK, res.Stats.Fail,
		res.Stats.Info, res.Summary.Anomalies(), res.Dir)
	return res
}

// Matrix runs every row of a validation matrix once, with one seed on one cluster kind, as a
// subtest named after the row, and fails the rows whose verdict is not the expected one.
func Matrix(t *testing.T, rows []harness.MatrixRow, seed uint64, cluster string) {
	t.Helper()
	for _, row := range rows {
		t.Run(strings.ReplaceAll(row.Name, " ", "_"), func(t *testing.T) {
			if err := row.Judge(Run(t, row.Test(seed, cluster))); err != nil {
				t.Fatalf("expected %s: %v", row.Expect, err)
			}
		})
	}
}

// removeRun deletes a run folder, the latest link if it pointed there, and the test's folder if
// nothing else is left in it.
func removeRun(dir string) {
	_ = os.RemoveAll(dir)
	parent := filepath.Dir(dir)
	link := filepath.Join(parent, harness.LatestLink)
	if target, err := os.Readlink(link); err == nil && target == filepath.Base(dir) {
		_ = os.Remove(link)
	}
	_ = os.Remove(parent) // fails, harmlessly, when other runs remain
}
