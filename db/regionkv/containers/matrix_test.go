package containers_test

import (
	"testing"

	"github.com/crossfire-dev/crossfire/clusters/docker"
	"github.com/crossfire-dev/crossfire/db/regionkv"
	"github.com/crossfire-dev/crossfire/harness"
	"github.com/crossfire-dev/crossfire/harness/harnesstest"
)

// regionkv's validation matrix against containers: every row, one seed, skipped where no Docker engine
// answers. It lives here, apart from the embedded cluster's matrix in package regionkv, so that
// each package's tests stay well inside go test's limit. The rows that must stay valid also take leaders off the network, which only the
// container cluster can do. The nightly chaos job (crossfire matrix) runs it longer and with
// more seeds.
func TestMatrixInContainers(t *testing.T) {
	cli, err := docker.Client(t.Context())
	if err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	cli.Close()
	harnesstest.Matrix(t, (regionkv.DB{}).Matrix(), 1, harness.ClusterDocker)
}
