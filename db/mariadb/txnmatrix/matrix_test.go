package txnmatrix_test

import (
	"testing"

	"github.com/crossfire-dev/crossfire/db/mariadb"
	"github.com/crossfire-dev/crossfire/harness"
	"github.com/crossfire-dev/crossfire/harness/harnesstest"
	"github.com/crossfire-dev/crossfire/matrix"
)

// TestMariaDBTxnMatrix: MariaDB's transactional rows, one seed, where Docker answers and the
// image is built or can be (crossfire matrix --db mariadb --rows list-append,rw-register runs
// more seeds).
func TestMariaDBTxnMatrix(t *testing.T) {
	if err := mariadb.Prerequisites(t.Context()); err != nil {
		t.Skipf("mariadb cannot run here: %v", err)
	}
	rows, _ := matrix.Split((mariadb.DB{}).Matrix())
	if len(rows) == 0 {
		t.Fatal("MariaDB offers no transactional row")
	}
	harnesstest.Matrix(t, rows, 1, harness.ClusterDocker)
}
