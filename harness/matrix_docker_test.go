package harness_test

import (
	"strings"
	"testing"

	"crossfire/clusters/docker"
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
