package harness_test

import (
	"strings"
	"testing"

	"crossfire/clusters/docker"
	"crossfire/db/pglogical"
	"crossfire/harness"
	"crossfire/harness/harnesstest"
)

// The validation matrix against containers: every row, one seed, skipped where no Docker engine
// answers. The rows that must stay valid also take leaders off the network, which only the
// container cluster can do. The nightly chaos job (crossfire matrix) runs it longer and with
// more seeds.
func TestMatrixInContainers(t *testing.T) {
	cli, err := docker.Client(t.Context())
	if err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	cli.Close()
	for _, row := range harness.Matrix() {
		t.Run(strings.ReplaceAll(row.Name, " ", "_"), func(t *testing.T) {
			if err := row.Judge(harnesstest.Run(t, row.Test(1, harness.ClusterDocker))); err != nil {
				t.Fatalf("expected %s: %v", row.Expect, err)
			}
		})
	}
}

// TestPglogicalMatrix: PostgreSQL with pglogical's rows, one seed, where Docker answers and the
// image is built or can be (crossfire matrix --db pglogical runs more seeds).
func TestPglogicalMatrix(t *testing.T) {
	if err := pglogical.Prerequisites(t.Context()); err != nil {
		t.Skipf("pglogical cannot run here: %v", err)
	}
	rows, err := harness.MatrixFor("pglogical")
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
