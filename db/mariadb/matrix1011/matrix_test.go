// Package matrix1011_test runs MariaDB 10.11's Galera rows of the validation matrix, apart from 11.8's
// (db/mariadb/matrixtest), so that each package's tests stay well inside their time limit.
package matrix1011_test

import (
	"testing"

	"github.com/crossfire-dev/crossfire/db/mariadb"
	"github.com/crossfire-dev/crossfire/harness"
	"github.com/crossfire-dev/crossfire/harness/harnesstest"
	"github.com/crossfire-dev/crossfire/matrix"
)

// TestMariaDB1011Matrix: MariaDB 10.11's Galera rows of the validation matrix but the
// transactional ones, one seed, where Docker answers and the image is built or can be.
func TestMariaDB1011Matrix(t *testing.T) {
	if err := mariadb.Prerequisites(t.Context()); err != nil {
		t.Skipf("mariadb cannot run here: %v", err)
	}
	galera, _ := mariadb.SplitAsync(matrix.OfVersion((mariadb.DB{}).Matrix(), mariadb.V1011))
	_, rows := matrix.Split(galera)
	if len(rows) == 0 {
		t.Fatal("MariaDB 10.11 has no row")
	}
	harnesstest.Matrix(t, rows, 1, harness.ClusterDocker)
}
