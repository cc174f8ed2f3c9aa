package matrixtest_test

import (
	"testing"

	"github.com/crossfire-dev/crossfire/db/pglogical"
	"github.com/crossfire-dev/crossfire/harness"
	"github.com/crossfire-dev/crossfire/harness/harnesstest"
	"github.com/crossfire-dev/crossfire/matrix"
)

// TestPglogicalMatrix: PostgreSQL with pglogical's rows of the validation matrix, one seed,
// where Docker answers and the image is built or can be (crossfire matrix --db pglogical runs
// more seeds). It lives in a package of its own, apart from the cluster tests and from the other
// databases' matrices, so that they run side by side.
func TestPglogicalMatrix(t *testing.T) {
	if err := pglogical.Prerequisites(t.Context()); err != nil {
		t.Skipf("pglogical cannot run here: %v", err)
	}
	rows, err := matrix.For(pglogical.Name)
	if err != nil {
		t.Fatal(err)
	}
	_, rows = matrix.Split(rows) // db/pglogical/txnmatrix runs the transactional rows
	harnesstest.Matrix(t, rows, 1, harness.ClusterDocker)
}

// BenchmarkDetectionPower: for each of pglogical's rows that must find an anomaly, the share of
// seeds whose run finds it at the row's own duration, and the median time to the first definite
// anomaly.
//
//	go test ./db/pglogical/matrixtest/ -run '^$' -bench DetectionPower -benchtime 1x -power-seeds 20
func BenchmarkDetectionPower(b *testing.B) {
	if err := pglogical.Prerequisites(b.Context()); err != nil {
		b.Skipf("pglogical cannot run here: %v", err)
	}
	harnesstest.DetectionPower(b, (pglogical.DB{}).Matrix(), harness.ClusterDocker)
}
