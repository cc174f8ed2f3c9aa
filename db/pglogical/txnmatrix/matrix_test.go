package txnmatrix_test

import (
	"testing"

	"github.com/crossfire-dev/crossfire/db/pglogical"
	"github.com/crossfire-dev/crossfire/harness"
	"github.com/crossfire-dev/crossfire/harness/harnesstest"
	"github.com/crossfire-dev/crossfire/matrix"
)

// TestPglogicalTxnMatrix: pglogical's transactional rows, one seed, where Docker answers and
// the image is built or can be (crossfire matrix --db pglogical --rows list-append runs more
// seeds).
func TestPglogicalTxnMatrix(t *testing.T) {
	if err := pglogical.Prerequisites(t.Context()); err != nil {
		t.Skipf("pglogical cannot run here: %v", err)
	}
	rows, _ := matrix.Split((pglogical.DB{}).Matrix())
	if len(rows) == 0 {
		t.Fatal("pglogical offers no transactional row")
	}
	harnesstest.Matrix(t, rows, 1, harness.ClusterDocker)
}
