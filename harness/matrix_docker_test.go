package harness_test

import (
	"testing"

	"crossfire/checkers"
	"crossfire/clusters/docker"
	"crossfire/harness"
	"crossfire/harness/harnesstest"
)

// The validation matrix against containers: every row, one seed, skipped where no Docker engine
// answers. The rows that must stay valid also take leaders off the network, which only the
// container cluster can do. The nightly chaos job runs it longer and with more seeds.
func TestMatrixInContainers(t *testing.T) {
	cli, err := docker.Client(t.Context())
	if err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	cli.Close()
	inContainers := func(test harness.Test) harness.Test {
		test.Cluster = harness.ClusterDocker
		test.Name = "docker-" + test.Name
		return test
	}
	rows := []struct {
		name  string
		test  harness.Test
		check func(t *testing.T, res harness.Result)
	}{
		{"register single-leader is linearizable", registerTest("single-leader", []string{"partition", "kill"}, 1), func(t *testing.T, res harness.Result) {
			if res.Valid != checkers.True {
				t.Fatalf("judged %s: %s", res.Valid, res.Summary.Results)
			}
		}},
		{"register lww is not", registerTest("lww", []string{"partition"}, 1), func(t *testing.T, res harness.Result) {
			if r := resultOf(res, checkers.LinearizableName); r.Valid != checkers.False {
				t.Fatalf("linearizable judged %s", r.Valid)
			}
		}},
		{"inventory pncounter+naive is caught", inventoryTest("pncounter", "naive", []string{"partition", "retry"}, 1), func(t *testing.T, res harness.Result) {
			if !hasKind(resultOf(res, checkers.DedupName), "duplicate-order", true) || !hasKind(resultOf(res, checkers.OversellName), "oversell", true) {
				t.Fatalf("not caught: %s", res.Summary.Results)
			}
		}},
		{"inventory escrow+dedup is valid", inventoryTest("escrow", "dedup", []string{"partition", "retry", "kill", "pause", "disconnect"}, 1), func(t *testing.T, res harness.Result) {
			if res.Valid != checkers.True {
				t.Fatalf("judged %s: %s", res.Valid, res.Summary.Results)
			}
		}},
		{"cart lww loses adds to skew", cartTest("lww", []string{"partition", "clock"}, 1), func(t *testing.T, res harness.Result) {
			if !hasCause(resultOf(res, checkers.CartName), "lost-add", checkers.CauseClockSkew) {
				t.Fatalf("no lost add put down to skew: %s", resultOf(res, checkers.CartName))
			}
		}},
		{"cart merge resurrects", cartTest("merge", []string{"partition"}, 1), func(t *testing.T, res harness.Result) {
			if !hasCause(resultOf(res, checkers.CartName), "resurrected", checkers.CauseMergeRule) {
				t.Fatalf("no resurrection put down to the merge rule: %s", resultOf(res, checkers.CartName))
			}
		}},
		{"cart orset is valid", cartTest("orset", []string{"partition", "clock", "retry", "kill", "pause", "disconnect"}, 1), func(t *testing.T, res harness.Result) {
			if res.Valid != checkers.True {
				t.Fatalf("judged %s: %s", res.Valid, res.Summary.Results)
			}
		}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			row.check(t, harnesstest.Run(t, inContainers(row.test)))
		})
	}
}
