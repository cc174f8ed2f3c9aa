// Package asyncmatrix_test runs MariaDB's asynchronous multi-master rows of the validation
// matrix, on both versions, apart from the Galera rows, so that each package's tests stay well
// inside their time limit.
package asyncmatrix_test

import (
	"testing"

	"github.com/crossfire-dev/crossfire/db/mariadb"
	"github.com/crossfire-dev/crossfire/harness"
	"github.com/crossfire-dev/crossfire/harness/harnesstest"
)

// TestMariaDBAsyncMatrix: the asynchronous rows of both versions, one seed, where Docker answers
// and the images are built or can be.
func TestMariaDBAsyncMatrix(t *testing.T) {
	if err := mariadb.Prerequisites(t.Context()); err != nil {
		t.Skipf("mariadb cannot run here: %v", err)
	}
	_, rows := mariadb.SplitAsync((mariadb.DB{}).Matrix())
	if len(rows) == 0 {
		t.Fatal("MariaDB has no asynchronous row")
	}
	harnesstest.Matrix(t, rows, 1, harness.ClusterDocker)
}
