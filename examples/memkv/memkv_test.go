package memkv_test

import (
	"testing"
	"time"

	"github.com/crossfire-dev/crossfire/checkers"
	"github.com/crossfire-dev/crossfire/harness"
	"github.com/crossfire-dev/crossfire/harness/harnesstest"

	_ "github.com/crossfire-dev/crossfire/examples/memkv" // memkv, in the catalog
)

// TestMemkvUnderPartitions: a database of this module's own, tested by crossfire through go
// test: linearizable under partitions, since every operation reaches the only copy or nothing.
func TestMemkvUnderPartitions(t *testing.T) {
	res := harnesstest.Run(t, harness.Test{
		DB: "memkv", Workload: "register",
		Nemeses: []string{"partition"}, Seed: 42, Duration: 3 * time.Second,
	})
	if res.Valid != checkers.True || res.Stats.Faults == 0 {
		t.Fatalf("verdict %s after %d faults: see %s", res.Valid, res.Stats.Faults, res.Dir)
	}
}

// TestMyScenario is the README's chaos test, as it stands there: crossfire's own store on its
// embedded cluster, run from a module that only requires crossfire.
func TestMyScenario(t *testing.T) {
	res := harnesstest.Run(t, harness.Test{
		Workload: "register", Options: map[string]string{"strategy": "single-leader"},
		Nemeses: []string{"partition", "kill"}, Seed: 42, Duration: 10 * time.Second,
	})
	if res.Valid != checkers.True {
		t.Fatalf("verdict %s: see %s", res.Valid, res.Dir)
	}
}
