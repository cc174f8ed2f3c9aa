package matrixtest_test

import (
	"testing"

	"github.com/crossfire-dev/crossfire/db/mariadb"
	"github.com/crossfire-dev/crossfire/harness"
	"github.com/crossfire-dev/crossfire/harness/harnesstest"
	"github.com/crossfire-dev/crossfire/matrix"
)

// TestMariaDBMatrix: MariaDB 11.8's Galera rows of the validation matrix, one seed, where Docker
// answers and the image is built or can be (crossfire matrix --db mariadb runs more seeds;
// db/mariadb/matrix1011 runs 10.11's, db/mariadb/asyncmatrix the asynchronous rows of both,
// db/mariadb/txnmatrix the transactional rows of both).
func TestMariaDBMatrix(t *testing.T) {
	if err := mariadb.Prerequisites(t.Context()); err != nil {
		t.Skipf("mariadb cannot run here: %v", err)
	}
	galera, _ := mariadb.SplitAsync(matrix.OfVersion((mariadb.DB{}).Matrix(), mariadb.V118))
	_, rows := matrix.Split(galera)
	harnesstest.Matrix(t, rows, 1, harness.ClusterDocker)
}

// BenchmarkDetectionPower: for each of MariaDB's rows that must find an anomaly, the share of
// seeds whose run finds it at the row's own duration, and the median time to the first definite
// anomaly.
//
//	go test ./db/mariadb/matrixtest/ -run '^$' -bench DetectionPower -benchtime 1x -power-seeds 20
func BenchmarkDetectionPower(b *testing.B) {
	if err := mariadb.Prerequisites(b.Context()); err != nil {
		b.Skipf("mariadb cannot run here: %v", err)
	}
	harnesstest.DetectionPower(b, (mariadb.DB{}).Matrix(), harness.ClusterDocker)
}
