package pglogical_test

import (
	"strings"
	"testing"

	"crossfire/db/pglogical"
	"crossfire/harness"
	"crossfire/harness/harnesstest"
)

// TestPglogicalMatrix: PostgreSQL with pglogical's rows of the validation matrix, one seed,
// where Docker answers and the image is built or can be (crossfire matrix --db pglogical runs
// more seeds). It lives here rather than beside regionkv's rows in package harness, so that the
// two run side by side.
func TestPglogicalMatrix(t *testing.T) {
	if err := pglogical.Prerequisites(t.Context()); err != nil {
		t.Skipf("pglogical cannot run here: %v", err)
	}
	rows, err := harness.MatrixFor(pglogical.Name)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		t.Run(strings.ReplaceAll(row.Name, " ", "_"), func(t *testing.T) {
			if err := row.Judge(harnesstest.Run(t, row.Test(1, harness.ClusterDocker))); err != nil {
				t.Fatalf("expected %s: %v", row.Expect, err)
			}
		})
	}
}
