package matrixtest_test

import (
	"testing"

	"crossfire/db/mariadb"
	"crossfire/harness"
	"crossfire/harness/harnesstest"
)

// TestMariaDBMatrix: MariaDB's rows of the validation matrix, one seed, where Docker answers and
// the image is built or can be (crossfire matrix --db mariadb runs more seeds).
func TestMariaDBMatrix(t *testing.T) {
	if err := mariadb.Prerequisites(t.Context()); err != nil {
		t.Skipf("mariadb cannot run here: %v", err)
	}
	harnesstest.Matrix(t, (mariadb.DB{}).Matrix(), 1, harness.ClusterDocker)
}
